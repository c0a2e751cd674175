"""Simulated ReplicaSet controller: keeps the number of pods equal to ``spec.replicas``."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .clock import rfc3339
from .errors import ApiError
from .objmeta import random_suffix
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

RS = BY_KEY["replicasets.apps"]
POD = BY_KEY["pods"]
MANAGER = "kube-controller-manager"
BACKOFF_BASE = 0.005
BACKOFF_MAX = 1000.0


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


def _create_one(ctx: ControllerManager, rs: dict[str, Any]) -> ApiError | None:
    """Create one pod (a fresh name after a name collision); the API error refusing it, if any."""
    for _attempt in range(5):
        try:
            ctx.store.create(POD, rs["metadata"]["namespace"], _new_pod(rs), manager=MANAGER)
            return None
        except ApiError as exc:
            if exc.code != 409 or exc.body.get("reason") != "AlreadyExists":
                return exc
    return None


def _manage(ctx: ControllerManager, rs: dict[str, Any], active: list[dict[str, Any]]) -> ApiError | None:
    """Create or delete pods; creations go in slow-start batches (1, 2, 4, ...) that stop after a failed batch."""
    namespace = rs["metadata"]["namespace"]
    want = int((rs.get("spec") or {}).get("replicas", 1))
    remaining = want - len(active)
    batch = min(remaining, 1)
    while batch > 0:
        failures = [e for e in (_create_one(ctx, rs) for _ in range(batch)) if e is not None]
        if failures:
            if _namespace_terminating(failures[0]):
                return None  # every creation would fail; the namespace controller is removing everything
            return failures[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    if len(active) > want:
        for pod in sorted(active, key=_deletion_rank)[: len(active) - want]:
            try:
                ctx.store.delete(POD, namespace, pod["metadata"]["name"])
            except ApiError as exc:
                if exc.code != 404:
                    raise
    return None


def _failure_condition(rs: dict[str, Any], error: ApiError | None, wanted_more: bool) -> list[dict[str, Any]]:
    """The status conditions: ``ReplicaFailure`` added on the first failed sync, removed by a good one."""
    conds = [dict(c) for c in (rs.get("status") or {}).get("conditions") or []]
    present = any(c.get("type") == "ReplicaFailure" for c in conds)
    if error is not None and not present:
        reason = "FailedCreate" if wanted_more else "FailedDelete"
        conds.append(
            {
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": rfc3339(),
                "reason": reason,
                "message": str(error.body.get("message", "")),
            }
        )
    elif error is None and present:
        conds = [c for c in conds if c.get("type") != "ReplicaFailure"]
    return conds


def _requeue(ctx: ControllerManager, rs: dict[str, Any], error: ApiError | None) -> None:
    """The workqueue's per-item exponential back-off (5 ms doubling to 1000 s) after a failed sync."""
    mem = ctx.memory.setdefault(rs["metadata"]["uid"], {})
    if error is None:
        mem.pop("failures", None)
        return
    failures = mem.get("failures", 0)
    mem["failures"] = failures + 1
    due = ctx.now() + ctx.scaled(min(BACKOFF_BASE * 2 ** min(failures, 40), BACKOFF_MAX))
    if ctx.now() < mem.get("retry_at", 0.0) <= due:
        return  # a retry is already waiting, and sooner (the delaying queue keeps the earliest)
    mem["retry_at"] = due
    ctx.loop.add_after(due - ctx.now(), ("replicaset", rs["metadata"]["namespace"], rs["metadata"]["name"]))


def sync(ctx: ControllerManager, namespace: str, name: str) -> None:
    """Reconcile one ReplicaSet; one being deleted only gets its status updated, as on a real cluster."""
    try:
        rs = ctx.store.get(RS, namespace, name)
    except ApiError:
        return
    uid = rs["metadata"]["uid"]
    error, short = None, False
    if not rs["metadata"].get("deletionTimestamp"):
        before = _split(ctx.owned(POD, namespace, uid))[0]
        short = len(before) < int((rs.get("spec") or {}).get("replicas", 1))
        error = _manage(ctx, rs, before)
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
    conditions = _failure_condition(rs, error, short)
    if conditions:
        status["conditions"] = conditions
    ctx.write_status(RS, rs, status, MANAGER)
    _requeue(ctx, rs, error)
