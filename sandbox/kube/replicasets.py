"""Simulated ReplicaSet controller: keeps the number of pods equal to ``spec.replicas``."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .objmeta import random_suffix
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

RS = BY_KEY["replicasets.apps"]
POD = BY_KEY["pods"]
MANAGER = "kube-controller-manager"


def _is_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _new_pod(rs: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("name", None)
    meta.pop("namespace", None)
    meta["generateName"] = rs["metadata"]["name"] + "-"
    meta["name"] = meta["generateName"] + random_suffix()
    meta["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": rs["metadata"]["name"],
            "uid": rs["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}


def _deletion_rank(pod: dict[str, Any]) -> tuple[int, int, str]:
    phase = (pod.get("status") or {}).get("phase")
    return (
        0 if phase == "Pending" else 1,
        1 if _is_ready(pod) else 0,
        "~" + pod["metadata"].get("creationTimestamp", ""),
    )


def _terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _split(pods: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(active, terminating)`` pods: terminating ones have a deletionTimestamp and are not yet finished."""
    active = [p for p in pods if not p["metadata"].get("deletionTimestamp") and not _terminal(p)]
    terminating = [p for p in pods if p["metadata"].get("deletionTimestamp") and not _terminal(p)]
    return active, terminating


def _namespace_terminating(exc: ApiError) -> bool:
    causes = (exc.body.get("details") or {}).get("causes") or []
    return exc.code == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes)


def _manage(ctx: ControllerManager, rs: dict[str, Any], active: list[dict[str, Any]]) -> None:
    namespace = rs["metadata"]["namespace"]
    want = int((rs.get("spec") or {}).get("replicas", 1))
    for _ in range(want - len(active)):
        for _attempt in range(5):
            try:
                ctx.store.create(POD, namespace, _new_pod(rs), manager=MANAGER)
                break
            except ApiError as exc:
                if _namespace_terminating(exc):
                    return  # every creation would fail; the namespace controller is removing everything
                if exc.code != 409 or exc.body.get("reason") != "AlreadyExists":
                    raise
    if len(active) > want:
        for pod in sorted(active, key=_deletion_rank)[: len(active) - want]:
            try:
                ctx.store.delete(POD, namespace, pod["metadata"]["name"])
            except ApiError as exc:
                if exc.code != 404:
                    raise


def sync(ctx: ControllerManager, namespace: str, name: str) -> None:
    """Reconcile one ReplicaSet; one being deleted only gets its status updated, as on a real cluster."""
    try:
        rs = ctx.store.get(RS, namespace, name)
    except ApiError:
        return
    uid = rs["metadata"]["uid"]
    if not rs["metadata"].get("deletionTimestamp"):
        _manage(ctx, rs, _split(ctx.owned(POD, namespace, uid))[0])
    active, terminating = _split(ctx.owned(POD, namespace, uid))
    labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    ready = sum(1 for p in active if _is_ready(p))
    full = sum(1 for p in active if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items()))
    status: dict[str, Any] = {"replicas": len(active)}
    if full:
        status["fullyLabeledReplicas"] = full
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    status["terminatingReplicas"] = len(terminating)
    status["observedGeneration"] = rs["metadata"].get("generation", 1)
    ctx.write_status(RS, rs, status, MANAGER)
