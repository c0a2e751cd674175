"""Simulated garbage collector: ownerReference-based cascading deletion."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .resources import RESOURCES, ResourceType

if TYPE_CHECKING:
    from .controllers import ControllerManager

MANAGER = "kube-controller-manager"


def _dependents(ctx: ControllerManager, namespace: str, uid: str) -> list[tuple[ResourceType, dict[str, Any]]]:
    out = []
    for res in RESOURCES:
        if namespace and not res.namespaced:
            continue
        out.extend((res, obj) for obj in ctx.owned(res, namespace or None, uid))
    return out


def _policy(ctx: ControllerManager, dep: dict[str, Any], owner_waiting: bool) -> str:
    """Propagation the collector uses for a dependent: Foreground only if it has dependents of its own."""
    meta = dep["metadata"]
    if owner_waiting and _dependents(ctx, meta.get("namespace", ""), meta["uid"]):
        return "Foreground"
    finalizers = meta.get("finalizers") or []
    if "orphan" in finalizers:
        return "Orphan"
    return "Foreground" if "foregroundDeletion" in finalizers else "Background"


def _delete(ctx: ControllerManager, res: ResourceType, obj: dict[str, Any], owner_waiting: bool) -> None:
    if obj["metadata"].get("deletionTimestamp"):
        return
    policy = _policy(ctx, obj, owner_waiting)
    try:
        ctx.store.delete(res, obj["metadata"].get("namespace"), obj["metadata"]["name"], propagation=policy)
    except ApiError as exc:
        if exc.code != 404:
            raise


def _blocks(dep: dict[str, Any], owner_uid: str) -> bool:
    refs = dep["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in refs)


def collect_orphans(ctx: ControllerManager, namespace: str, owner_uid: str) -> None:
    """Delete objects whose owner (``owner_uid``) is gone (background propagation)."""
    for res, obj in _dependents(ctx, namespace, owner_uid):
        _delete(ctx, res, obj, False)


def process_deleting_owner(ctx: ControllerManager, res: ResourceType, namespace: str, name: str) -> None:
    """Handle ``foregroundDeletion`` and ``orphan`` finalizers of an owner being deleted.

    Foreground: every dependent is deleted (itself in the foreground when it has dependents), and the owner
    keeps its finalizer until no dependent with ``blockOwnerDeletion`` is left.
    """
    try:
        owner = ctx.store.get(res, namespace, name)
    except ApiError:
        return
    meta = owner["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    dependents = _dependents(ctx, namespace, meta["uid"])
    if "orphan" in finalizers:
        for dep_res, dep in dependents:
            changed = copy.deepcopy(dep)
            changed["metadata"]["ownerReferences"] = [
                r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") != meta["uid"]
            ]
            if not changed["metadata"]["ownerReferences"]:
                del changed["metadata"]["ownerReferences"]
            ctx.store.update(
                dep_res, dep["metadata"].get("namespace"), dep["metadata"]["name"], changed, manager=MANAGER
            )
        finalizers.remove("orphan")
    elif "foregroundDeletion" in finalizers:
        for dep_res, dep in dependents:
            _delete(ctx, dep_res, dep, True)
        if any(_blocks(dep, meta["uid"]) for _, dep in dependents):
            return
        finalizers.remove("foregroundDeletion")
    else:
        return
    owner["metadata"]["finalizers"] = finalizers
    if not finalizers:
        del owner["metadata"]["finalizers"]
    ctx.store.update(res, namespace, name, owner, manager=MANAGER)
