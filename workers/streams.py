"""One cluster-wide list + watch per kind, fed into a queue: the watcher's only Kubernetes reads.

Each stream lists once, then follows the watch from the list's resourceVersion, resuming
where it left off when the server closes the watch, relisting only after 410 Gone, and
backing off on errors. It never polls and never reads a single preview.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class ClusterSource(Protocol):
    """What the watcher needs from the cluster adapter."""

    def list_objects(self, kind: str, label_selector: str) -> tuple[list[dict], str]: ...

    def watch_objects(
        self, kind: str, label_selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[tuple[str, dict]]: ...


class _NeverRaised(Exception):
    """Placeholder when the source has no expiry exception."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A full list of one kind: the cache of that kind is replaced."""

    kind: str
    items: list[dict]


@dataclass(frozen=True, slots=True)
class Changed:
    """One watch event (ADDED, MODIFIED or DELETED)."""

    kind: str
    type: str
    obj: dict


class Stream:
    """Follows one kind until ``stopping`` is set; puts :class:`Listed` and :class:`Changed` on ``events``."""

    def __init__(
        self,
        source: ClusterSource,
        kind: str,
        selector: str,
        events: queue.Queue,
        stopping: threading.Event,
        *,
        expired: type[Exception] = _NeverRaised,
        watch_seconds: int = 60,
    ) -> None:
        self.source = source
        self.kind = kind
        self.selector = selector
        self.events = events
        self.stopping = stopping
        self.expired = expired
        self.watch_seconds = watch_seconds
        self.resource_version: str | None = None
        self.restarts = 0

    def follow_once(self) -> None:
        """List if needed, then follow the watch until the server ends it or we stop."""
        if self.resource_version is None:
            items, self.resource_version = self.source.list_objects(self.kind, self.selector)
            log.info("listed %d %s", len(items), self.kind)
            self.events.put(Listed(self.kind, items))
        for type_, obj in self.source.watch_objects(
            self.kind, self.selector, self.resource_version, self.watch_seconds
        ):
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                self.resource_version = str(version)
            if type_ in ("ADDED", "MODIFIED", "DELETED"):
                self.events.put(Changed(self.kind, type_, obj))
            if self.stopping.is_set():
                return

    def run(self) -> None:
        """Loop until stopped: watch, relist on expiry, back off on errors."""
        failures = 0
        while not self.stopping.is_set():
            try:
                self.follow_once()
                failures = 0
            except self.expired:
                log.info("%s watch expired (410 Gone); relisting", self.kind)
                self.resource_version = None
                self._restarted()
            except Exception as exc:  # noqa: BLE001 - the stream must survive any transport error
                failures += 1
                self._restarted()
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("%s watch failed (%s); reconnecting in %.1fs", self.kind, type(exc).__name__, delay)
                self.stopping.wait(delay)

    def _restarted(self) -> None:
        from integrations.metrics import watch_restart  # on first use: the process has chosen its metrics mode

        self.restarts += 1
        watch_restart(self.kind)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"watch-{self.kind}", daemon=True)
        thread.start()
        return thread
