"""Object storage with a global resourceVersion, event history and watch support."""

from __future__ import annotations

import bisect
import itertools
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from . import errors
from .clock import rfc3339
from .defaults import apply_defaults
from .deletion import DeletionMixin
from .fields import record_update
from .objmeta import (
    GENERATION_KINDS,
    STATUS_KINDS,
    SYSTEM_META,
    clone,
    ordered,
    random_suffix,
    same_content,
    spec_part,
)
from .resources import BY_KEY, ResourceType, resolve
from .validation import validate

DEFAULT_MANAGER = "OpenAPI-Generator"


class AdmissionHook(Protocol):
    """Admission plugins run on every create: ``mutate`` before validation, ``validate`` after it (which may
    return what to do once the object is stored)."""

    def mutate(self, res: ResourceType, obj: dict[str, Any]) -> None: ...

    def validate(self, res: ResourceType, obj: dict[str, Any], dry_run: bool) -> Callable[[], None] | None: ...


@dataclass
class Event:
    """One stored change."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: str
    namespace: str
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


class Store(DeletionMixin):
    """Thread-safe object store: the emulator's etcd plus watch cache."""

    def __init__(self, history_window: int = 1000) -> None:
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._rv = 1
        self._data: dict[str, dict[tuple[str, str], dict[str, Any]]] = {r.key: {} for r in BY_KEY.values()}
        self._history: deque[Event] = deque(maxlen=max(1, history_window))
        self._floor = 1
        self._listeners: list[Callable[[Event], None]] = []
        self.admission: list[AdmissionHook] = []
        self.closed = False

    # -- bookkeeping -----------------------------------------------------
    @property
    def resource_version(self) -> int:
        """Current global resourceVersion."""
        with self.lock:
            return self._rv

    @property
    def floor(self) -> int:
        """Oldest resourceVersion a watch may start from."""
        with self.lock:
            return self._floor

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` (under the store lock) for each change."""
        self._listeners.append(listener)

    def compact(self) -> None:
        """Forget all history, so older watch resourceVersions expire."""
        with self.lock:
            self._history.clear()
            self._floor = self._rv

    def close(self) -> None:
        """Wake and end all watchers."""
        with self.lock:
            self.closed = True
            self._cond.notify_all()

    def _emit(self, kind: str, res: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        ns = obj["metadata"].get("namespace", "")
        if len(self._history) == self._history.maxlen:
            self._floor = self._history[0].rv
        event = Event(int(obj["metadata"]["resourceVersion"]), kind, res.key, ns, clone(obj), old)
        self._history.append(event)
        for listener in self._listeners:
            listener(event)
        self._cond.notify_all()

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store lock across a read-modify-write."""
        with self.lock:
            yield

    # -- reads -----------------------------------------------------------
    def _bucket(self, res: ResourceType) -> dict[tuple[str, str], dict[str, Any]]:
        return self._data[res.key]

    def _ns(self, res: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if res.namespaced else ""

    def peek(self, res: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        """Stored object (not a copy) or None; caller must hold the lock or not mutate."""
        return self._bucket(res).get((self._ns(res, namespace), name))

    def get(self, res: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        """A copy of one object, or 404."""
        with self.lock:
            obj = self.peek(res, namespace, name)
            if obj is None:
                raise errors.not_found(res.plural, res.group, name)
            return clone(obj)

    def list(
        self,
        res: ResourceType,
        namespace: str | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Copies of matching objects sorted by namespace/name, plus the list resourceVersion."""
        with self.lock:
            found = [
                (key, obj)
                for key, obj in self._bucket(res).items()
                if (namespace is None or key[0] == namespace) and (match is None or match(obj))
            ]
            found.sort(key=lambda pair: pair[0])
            return [clone(obj) for _, obj in found], self._rv

    def find(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of all objects of a resource given by plural or kind name."""
        return self.list(resolve(resource), namespace)[0]

    def namespace_phase(self, name: str) -> str | None:
        """``Active``/``Terminating`` or None when the namespace does not exist."""
        with self.lock:
            ns = self._data["namespaces"].get(("", name))
            if ns is None:
                return None
            return (ns.get("status") or {}).get("phase", "Active")

    # -- writes ----------------------------------------------------------
    def _check_namespace(self, res: ResourceType, namespace: str, name: str) -> None:
        """NamespaceLifecycle admission: 404 for a missing namespace, 403 while it terminates."""
        if not res.namespaced:
            return
        phase = self.namespace_phase(namespace)
        if phase is None:
            raise errors.not_found("namespaces", "", namespace)
        if phase == "Terminating":
            raise errors.forbidden_terminating(res.plural, res.group, name, namespace)

    def create(
        self,
        res: ResourceType,
        namespace: str | None,
        obj: dict[str, Any],
        manager: str = DEFAULT_MANAGER,
        dry_run: bool = False,
        managed: bool = True,
    ) -> dict[str, Any]:
        """Store a new object; 409 if it exists, 404/403 for missing/terminating namespace."""
        obj = clone(obj)
        meta = obj.setdefault("metadata", {})
        ns = self._ns(res, namespace)
        with self.lock:
            self._check_namespace(res, ns, meta.get("name") or "Unknown")
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
            name = meta.get("name") or ""
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
            if res.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            apply_defaults(res.kind, obj, None)
            for hook in self.admission:
                hook.mutate(res, obj)
            validate(res, obj)
            after = [hook.validate(res, obj, dry_run) for hook in self.admission]
            if (ns, name) in self._bucket(res):
                raise errors.already_exists(res.plural, res.group, name)
            for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(key, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = rfc3339()
            if res.kind in GENERATION_KINDS:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if managed and "managedFields" not in meta:
                record_update(None, obj, manager, res.api_version, rfc3339())
            if dry_run:
                return obj
            meta["resourceVersion"] = self._next_rv()
            obj = ordered(obj)
            self._bucket(res)[(ns, name)] = obj
            self._emit("ADDED", res, obj, None)
            for done in after:
                if done is not None:
                    done()
            return clone(obj)

    def update(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        obj: dict[str, Any],
        manager: str = DEFAULT_MANAGER,
        subresource: str = "",
        dry_run: bool = False,
        managed: bool = True,
    ) -> dict[str, Any]:
        """Replace an object, honouring ``metadata.resourceVersion`` as a precondition when set."""
        obj = clone(obj)
        ns = self._ns(res, namespace)
        with self.lock:
            current = self.peek(res, ns, name)
            if current is None:
                raise errors.not_found(res.plural, res.group, name)
            meta = obj.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            want_rv = meta.get("resourceVersion")
            if want_rv and str(want_rv) != current["metadata"]["resourceVersion"]:
                raise errors.stale(res.plural, res.group, name)
            cur_meta = current["metadata"]
            if subresource == "status":
                new = clone(current)
                new["status"] = obj.get("status", {})
                if "managedFields" in meta:
                    new["metadata"]["managedFields"] = meta["managedFields"]
                obj = new
                meta = obj["metadata"]
            elif subresource == "finalize":
                new = clone(current)
                new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
                obj = new
                meta = obj["metadata"]
            elif res.kind in STATUS_KINDS:
                if "status" in current:
                    obj["status"] = clone(current["status"])
                else:
                    obj.pop("status", None)
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            for key in SYSTEM_META:
                if key in cur_meta:
                    meta[key] = cur_meta[key]
                else:
                    meta.pop(key, None)
            if "managedFields" not in meta and "managedFields" in cur_meta:
                meta["managedFields"] = clone(cur_meta["managedFields"])
            apply_defaults(res.kind, obj, current)
            validate(res, obj)
            if res.kind in GENERATION_KINDS and spec_part(obj) != spec_part(current):
                meta["generation"] = int(cur_meta.get("generation", 1)) + 1
            if cur_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(cur_meta.get("finalizers") or [])
                if added:
                    raise errors.ApiError(
                        422,
                        f'{errors.qualified(res.kind, res.group)} "{name}" is invalid: metadata.finalizers: '
                        f"Forbidden: no new finalizers can be added if the object is being deleted, found new "
                        f'finalizers []string{{"{sorted(added)[0]}"}}',
                        "Invalid",
                    )
            meta["resourceVersion"] = cur_meta["resourceVersion"]
            if same_content(obj, current):
                return clone(current)
            if managed:
                record_update(current, obj, manager, res.api_version, rfc3339(), subresource)
            if dry_run:
                return obj
            if self.finalized_by(res, current, obj):
                removed = self._remove(res, ns, name)
                meta["resourceVersion"] = removed["metadata"]["resourceVersion"]
                return ordered(obj)
            meta["resourceVersion"] = self._next_rv()
            obj = ordered(obj)
            self._bucket(res)[(ns, name)] = obj
            self._emit("MODIFIED", res, obj, clone(current))
            return clone(obj)

    # -- watch -----------------------------------------------------------
    def events_after(self, rv: int, timeout: float) -> list[Event]:
        """Events with resourceVersion > rv, waiting up to ``timeout`` for one; 410 if rv is too old."""
        with self.lock:
            if rv < self._floor:
                raise errors.expired(f"too old resource version: {rv} ({self._floor})")
            if self._rv <= rv and not self.closed:
                self._cond.wait(timeout)
            if rv < self._floor:
                raise errors.expired(f"too old resource version: {rv} ({self._floor})")
            start = bisect.bisect_right(self._history, rv, key=lambda e: e.rv)
            return list(itertools.islice(self._history, start, None))
