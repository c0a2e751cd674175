"""A request audit across emulators: what every emulator created while it listens has served, and to whom."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import registry
from .faults import RecordedRequest
from .store import Event

if TYPE_CHECKING:
    from .emulator import KubeEmulator


@dataclass(frozen=True)
class Audited:
    """One served request and the labels each namespace of its emulator has carried (at any time)."""

    request: RecordedRequest
    namespace_labels: Mapping[str, Mapping[str, str]]


class Audit:
    """Collects the request logs of all emulators created between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[tuple[KubeEmulator, dict[str, dict[str, str]]]] = []

    def start(self) -> Audit:
        """Follow every emulator created from now on."""
        registry.listen(self._attach)
        return self

    def stop(self) -> None:
        """Follow no further emulators (those already followed stay in the audit)."""
        registry.unlisten(self._attach)

    def _attach(self, emulator: KubeEmulator) -> None:
        labels: dict[str, dict[str, str]] = {}
        for ns in emulator.objects("namespaces"):
            labels[ns["metadata"]["name"]] = dict(ns["metadata"].get("labels") or {})

        def seen(event: Event) -> None:
            if event.key == "namespaces":
                meta = event.obj.get("metadata") or {}
                labels.setdefault(meta.get("name", ""), {}).update(meta.get("labels") or {})

        emulator.store.subscribe(seen)
        with self._lock:
            self._seen.append((emulator, labels))

    @property
    def emulators(self) -> int:
        """How many emulators the audit has followed."""
        with self._lock:
            return len(self._seen)

    def requests(self, user: str | None = None) -> list[Audited]:
        """Every request served so far (by ``user`` only, if given), emulator by emulator."""
        with self._lock:
            seen = list(self._seen)
        return [
            Audited(request, labels)
            for emulator, labels in seen
            for request in emulator.requests
            if user is None or request.user == user
        ]
