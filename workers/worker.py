"""``python -m workers.worker``: a Celery worker for previewbot's tasks, with its metrics and health port."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile

from preview import logs
from preview.settings import SettingsError, load

log = logging.getLogger(__name__)

METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_directory() -> str:
    """A new, empty directory where this worker and its pool processes keep their metrics (summed on scrape).

    Set before any metric exists (``integrations.metrics`` reads it on import) and removed when the worker
    exits; never shared with another process, so web's ``PROMETHEUS_MULTIPROC_DIR`` does not matter here.
    """
    if "integrations.metrics" in sys.modules:
        log.error("metrics were created before their directory was chosen: pool processes' values are lost")
    path = tempfile.mkdtemp(prefix="previewbot-worker-metrics-")
    os.environ[METRICS_ENV] = path
    if "prometheus_client.values" in sys.modules:  # imported by a library: follow the directory from now on
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:  # not in a pool process that exits
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    return path


def main(argv: list[str] | None = None) -> None:
    """Load settings, then hand over to Celery's worker (extra arguments are passed on)."""
    try:
        settings = load().require_github()
    except SettingsError as exc:
        print(f"previewbot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level)
    metrics_directory()
    from workers.celery_app import make_celery
    from workers.health_server import start_for

    app = make_celery(settings)
    start_for(settings, "worker")
    args = ["worker", "--loglevel", settings.log_level, "--without-gossip", "--without-mingle"]
    app.worker_main([*args, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
