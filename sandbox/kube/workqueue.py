"""A single-threaded work loop: a de-duplicating queue of keys plus timers."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class WorkLoop:
    """Runs ``handler(key)`` for queued keys in one daemon thread; keys can also be scheduled later."""

    def __init__(self, handler: Callable[[Hashable], None], name: str = "kube-controllers") -> None:
        self._handler = handler
        self._cond = threading.Condition()
        self._pending: dict[Hashable, None] = {}
        self._timers: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker thread (pending work is dropped)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def add(self, key: Hashable) -> None:
        """Queue a key now (no-op when already queued)."""
        with self._cond:
            self._pending[key] = None
            self._cond.notify()

    def add_after(self, delay: float, key: Hashable) -> None:
        """Queue a key after ``delay`` seconds."""
        with self._cond:
            heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay), next(self._seq), key))
            self._cond.notify()

    def _next(self) -> Hashable | None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                while self._timers and self._timers[0][0] <= now:
                    self._pending[heapq.heappop(self._timers)[2]] = None
                if self._pending:
                    key = next(iter(self._pending))
                    del self._pending[key]
                    return key
                timeout = self._timers[0][0] - now if self._timers else None
                self._cond.wait(timeout)
            return None

    def _run(self) -> None:
        while True:
            key = self._next()
            if key is None:
                return
            try:
                self._handler(key)
            except Exception:  # a controller bug must not kill the loop
                log.exception("controller failed on %r", key)
