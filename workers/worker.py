"""``python -m workers.worker``: a Celery worker for previewbot's tasks."""

from __future__ import annotations

import sys

from preview import logs
from preview.settings import SettingsError, load
from workers.celery_app import make_celery


def main(argv: list[str] | None = None) -> None:
    """Load settings, then hand over to Celery's worker (extra arguments are passed on)."""
    try:
        settings = load().require_github()
    except SettingsError as exc:
        print(f"previewbot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level)
    app = make_celery(settings)
    args = ["worker", "--loglevel", settings.log_level, "--without-gossip", "--without-mingle"]
    app.worker_main([*args, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
