"""gunicorn reads this file from its working directory: previewbot's server hooks for ``/metrics``.

With ``PROMETHEUS_MULTIPROC_DIR`` set, every gunicorn worker process keeps its counts in files there and
``/metrics`` sums them, whichever worker answers. Settings (bind, workers, threads) stay on the command
line (see the Procfile); this file only adds the hooks. Without the variable nothing here does anything.
"""

from __future__ import annotations

import glob
import os


def _metrics_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server: object) -> None:
    """Before any worker starts: an empty directory, so counts of an earlier run are not added again."""
    path = _metrics_dir()
    if path is None:
        return
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)


def child_exit(server: object, worker: object) -> None:
    """A worker process ended: its live gauges go; its counts stay in the sums."""
    if _metrics_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
