"""Simulated ReplicaSet controller: keeps the number of pods equal to ``spec.replicas``."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .resources import BY_KEY
from .store import random_suffix

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


def sync(ctx: ControllerManager, namespace: str, name: str) -> None:
    """Reconcile one ReplicaSet."""
    try:
        rs = ctx.store.get(RS, namespace, name)
    except ApiError:
        return
    pods = [p for p in ctx.owned(POD, namespace, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")]
    if rs["metadata"].get("deletionTimestamp"):
        return
    want = int((rs.get("spec") or {}).get("replicas", 1))
    if len(pods) < want:
        for _ in range(want - len(pods)):
            for _attempt in range(5):
                try:
                    ctx.store.create(POD, namespace, _new_pod(rs), manager=MANAGER)
                    break
                except ApiError as exc:
                    if exc.code != 409 or exc.body.get("reason") != "AlreadyExists":
                        raise
    elif len(pods) > want:
        victims = sorted(pods, key=_deletion_rank)[: len(pods) - want]
        for pod in victims:
            try:
                ctx.store.delete(POD, namespace, pod["metadata"]["name"])
            except ApiError as exc:
                if exc.code != 404:
                    raise
    pods = [p for p in ctx.owned(POD, namespace, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")]
    labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    ready = sum(1 for p in pods if _is_ready(p))
    status: dict[str, Any] = {"replicas": len(pods)}
    full = sum(1 for p in pods if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items()))
    if full:
        status["fullyLabeledReplicas"] = full
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    status["observedGeneration"] = rs["metadata"].get("generation", 1)
    ctx.write_status(RS, rs, status, MANAGER)
