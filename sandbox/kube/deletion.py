"""DELETE semantics of the store: graceful pod deletion, finalizers and propagation policies.

Mixed into :class:`sandbox.kube.store.Store`, which provides ``lock``, ``peek``, ``_bucket``, ``_ns``,
``_next_rv`` and ``_emit``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from . import errors
from .clock import parse, rfc3339
from .objmeta import GENERATION_KINDS, blockers, clone, ordered
from .resources import ResourceType

PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}


def _precondition_failure(res: ResourceType, name: str, meta: dict[str, Any], pre: dict[str, str]) -> None:
    if pre.get("uid") and pre["uid"] != meta["uid"]:
        raise errors.conflict(
            res.plural,
            res.group,
            name,
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta['uid']}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
        raise errors.conflict(
            res.plural,
            res.group,
            name,
            f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
            f"ResourceVersion in object meta: {meta['resourceVersion']}",
        )


def _pod_grace(obj: dict[str, Any], grace_seconds: int | None) -> int:
    """Grace period of a pod deletion: 0 for unscheduled or finished pods, as the pod strategy decides."""
    spec = obj.get("spec") or {}
    if not spec.get("nodeName") or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    return int(grace_seconds if grace_seconds is not None else spec.get("terminationGracePeriodSeconds", 30))


def _with_propagation(finalizers: list[str], propagation: str | None) -> list[str]:
    wanted = PROPAGATION_FINALIZERS.get(propagation or "")
    if propagation is None:
        return finalizers
    out = [f for f in finalizers if f not in PROPAGATION_FINALIZERS.values() or f == wanted]
    if wanted and wanted not in out:
        out.append(wanted)
    return out


class DeletionMixin:
    """``delete`` plus the removal helpers shared with ``update``."""

    if TYPE_CHECKING:
        lock: threading.RLock

        def peek(self, res: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None: ...
        def _bucket(self, res: ResourceType) -> dict[tuple[str, str], dict[str, Any]]: ...
        def _ns(self, res: ResourceType, namespace: str | None) -> str: ...
        def _next_rv(self) -> str: ...
        def _emit(self, kind: str, res: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None: ...

    def delete(
        self,
        res: ResourceType,
        namespace: str | None,
        name: str,
        propagation: str | None = None,
        grace_seconds: int | None = None,
        preconditions: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """Delete or mark for deletion; returns ``(object, removed_now)``."""
        ns = self._ns(res, namespace)
        with self.lock:
            current = self.peek(res, ns, name)
            if current is None:
                raise errors.not_found(res.plural, res.group, name)
            _precondition_failure(res, name, current["metadata"], preconditions or {})
            if dry_run:
                return clone(current), False
            if current["metadata"].get("deletionTimestamp"):
                return self._delete_again(res, ns, name, current, grace_seconds)
            obj = clone(current)
            meta = obj["metadata"]
            finalizers = _with_propagation(list(meta.get("finalizers") or []), propagation)
            if finalizers:
                meta["finalizers"] = finalizers
            else:
                meta.pop("finalizers", None)
            grace = _pod_grace(obj, grace_seconds) if res.kind == "Pod" else 0
            if res.kind == "Namespace":
                meta["deletionTimestamp"] = rfc3339()
                obj.setdefault("status", {})["phase"] = "Terminating"
            elif grace > 0 or finalizers:
                meta["deletionTimestamp"] = rfc3339(time.time() + grace)
                meta["deletionGracePeriodSeconds"] = grace
                if res.kind in GENERATION_KINDS or meta.get("generation"):
                    meta["generation"] = int(meta.get("generation", 1)) + 1
            if not meta.get("deletionTimestamp") or not (grace > 0 or blockers(res.kind, obj)):
                return self._remove(res, ns, name), True
            return self._store_marked(res, ns, name, obj, current), False

    def _delete_again(
        self, res: ResourceType, ns: str, name: str, current: dict[str, Any], grace_seconds: int | None
    ) -> tuple[dict[str, Any], bool]:
        """A DELETE of an object already being deleted may only shorten a pod's grace period."""
        meta = current["metadata"]
        period = int(meta.get("deletionGracePeriodSeconds") or 0)
        if res.kind != "Pod" or grace_seconds is None or grace_seconds >= period:
            return clone(current), False
        if grace_seconds == 0 and not meta.get("finalizers"):
            return self._remove(res, ns, name), True
        obj = clone(current)
        started = (parse(meta.get("deletionTimestamp")) or time.time()) - period
        obj["metadata"]["deletionTimestamp"] = rfc3339(started + grace_seconds)
        obj["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
        return self._store_marked(res, ns, name, obj, current), False

    def _store_marked(
        self, res: ResourceType, ns: str, name: str, obj: dict[str, Any], current: dict[str, Any]
    ) -> dict[str, Any]:
        obj["metadata"]["resourceVersion"] = self._next_rv()
        obj = ordered(obj)
        self._bucket(res)[(ns, name)] = obj
        self._emit("MODIFIED", res, obj, clone(current))
        return clone(obj)

    def _remove(self, res: ResourceType, ns: str, name: str) -> dict[str, Any]:
        """Drop an object; watchers get its last stored state with the deletion's resourceVersion."""
        stored = self._bucket(res).pop((ns, name))
        obj = clone(stored)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", res, obj, clone(stored))
        return obj

    @staticmethod
    def finalized_by(res: ResourceType, current: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether an update empties the last finalizer of an object being deleted (it is then removed)."""
        meta = current["metadata"]
        if not meta.get("deletionTimestamp") or blockers(res.kind, new):
            return False
        return not meta.get("deletionGracePeriodSeconds")
