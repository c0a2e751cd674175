"""Starts previewbot's real processes (gunicorn, Celery worker, watcher) against the emulators.

The same process stack the benchmarks run (:class:`bench.stack.Processes`).
"""

from __future__ import annotations

from bench.stack import PROCESSES, Processes

Stack = Processes

__all__ = ["PROCESSES", "Stack"]
