# syntax=docker/dockerfile:1
# previewbot's image: the web, worker and watcher processes of the Procfile, run as uid 10001.
#
#   docker build -t REGISTRY/previewbot:0.1.0 .
#   docker build --build-arg INCLUDE_SANDBOX=true -t previewbot:sandbox .   # adds the local emulators
#
# The emulators (sandbox/) serve only tests and sandbox mode (`make run`, `previewbot sandbox`); web, worker
# and watcher never import them, so the image leaves them out unless INCLUDE_SANDBOX=true (exactly "true" or
# "false"). Tests never enter the image.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG INCLUDE_SANDBOX=false

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/previewbot
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY preview ./preview
COPY webhooks ./webhooks
COPY app ./app
COPY workers ./workers
COPY integrations ./integrations
# the `previewbot` command (scripts/cli.py); only its `sandbox` subcommand needs sandbox/
COPY scripts ./scripts
# the preview templates (PREVIEWBOT_TEMPLATES_DIR defaults to k8s/preview next to the sources)
COPY k8s/preview ./k8s/preview

FROM base AS sandbox-false

FROM base AS sandbox-true
COPY sandbox ./sandbox

FROM sandbox-${INCLUDE_SANDBOX}
# The processes import previewbot from /srv/previewbot (their working directory); the install brings the
# dependencies. Bytecode is compiled here because the root filesystem is read-only at run time.
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && python -m compileall -q /srv/previewbot \
    && groupadd --gid 10001 previewbot \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin previewbot

USER 10001:10001
EXPOSE 8000
# one process with threads, as in k8s/deploy/web.yaml (docker-compose.yml sets its own command)
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "1", "--threads", "4", "--access-logfile", "-", "app.wsgi:application()"]
