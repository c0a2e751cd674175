FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/previewbot

COPY pyproject.toml README.md ./
COPY preview ./preview
COPY webhooks ./webhooks
COPY app ./app
COPY workers ./workers
COPY integrations ./integrations
COPY sandbox ./sandbox
COPY k8s ./k8s
RUN pip install . && useradd --uid 10001 --no-create-home previewbot

USER 10001
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "app.wsgi:application()"]
