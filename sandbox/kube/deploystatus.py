"""Deployment status: replica counts from the ReplicaSets, Available and Progressing conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import rfc3339
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

DEPLOY = BY_KEY["deployments.apps"]
MANAGER = "kube-controller-manager"


def _replicas(rs: dict[str, Any]) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _st(rs: dict[str, Any], field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


def condition(
    kind: str, status: str, reason: str, message: str, now: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """A Deployment condition, keeping ``lastTransitionTime`` when the status did not change."""
    same = previous is not None and previous.get("status") == status
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": previous.get("lastTransitionTime", now) if same and previous else now,
        "reason": reason,
        "message": message,
    }


def set_condition(conds: dict[str, dict[str, Any]], new: dict[str, Any], force_update: bool = False) -> bool:
    """Store ``new`` unless a condition with the same status and reason is there (or ``force_update``)."""
    old = conds.get(new["type"])
    if old and old.get("status") == new["status"] and old.get("reason") == new["reason"] and not force_update:
        return False
    conds[new["type"]] = new
    return True


def _terminating(all_rs: list[dict[str, Any]]) -> int | None:
    """Sum of the ReplicaSets' ``terminatingReplicas`` (not yet observed ones skipped; unknown if one lacks it)."""
    total = 0
    for rs in all_rs:
        status = rs.get("status") or {}
        value = status.get("terminatingReplicas")
        if value is None and not status.get("observedGeneration"):
            continue
        if value is None:
            return None
        total += int(value)
    return total


def counts(new_rs: dict[str, Any] | None, all_rs: list[dict[str, Any]]) -> dict[str, int]:
    """Replica counts of a Deployment's status (``unavailableReplicas`` counts against the specs)."""
    available = sum(_st(r, "availableReplicas") for r in all_rs)
    return {
        "replicas": sum(_st(r, "replicas") for r in all_rs),
        "updatedReplicas": _st(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(_st(r, "readyReplicas") for r in all_rs),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(_replicas(r) for r in all_rs) - available),
    }


def _available(conds: dict[str, dict[str, Any]], available: int, desired: int, max_unavailable: int) -> None:
    previous = conds.get("Available")
    if available >= desired - max_unavailable:
        reason, message, value = "MinimumReplicasAvailable", "Deployment has minimum availability.", "True"
    else:
        reason, message, value = "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", "False"
    set_condition(conds, condition("Available", value, reason, message, rfc3339(), previous))


def _progress(
    ctx: ControllerManager,
    deploy: dict[str, Any],
    new_rs: dict[str, Any] | None,
    found: dict[str, int],
    conds: dict[str, dict[str, Any]],
    desired: int,
    mem: dict[str, Any],
) -> None:
    old_status = deploy.get("status") or {}
    now = rfc3339()
    rs_name = new_rs["metadata"]["name"] if new_rs else ""
    complete = (
        new_rs is not None
        and found["updatedReplicas"] == desired
        and found["replicas"] == desired
        and found["availableReplicas"] == desired
        and _replicas(new_rs) == desired
    )
    old_olds = int(old_status.get("replicas", 0)) - int(old_status.get("updatedReplicas", 0))
    progressed = (
        found["updatedReplicas"] > int(old_status.get("updatedReplicas", 0))
        or found["replicas"] - found["updatedReplicas"] < old_olds
        or found["readyReplicas"] > int(old_status.get("readyReplicas", 0))
        or found["availableReplicas"] > int(old_status.get("availableReplicas", 0))
    )
    deadline = deploy["spec"].get("progressDeadlineSeconds")
    progressing = conds.get("Progressing")
    key = ("deployment", deploy["metadata"]["namespace"], deploy["metadata"]["name"])
    if complete:
        message = f'ReplicaSet "{rs_name}" has successfully progressed.'
        set_condition(conds, condition("Progressing", "True", "NewReplicaSetAvailable", message, now, progressing))
    elif progressed and new_rs is not None:
        message = f'ReplicaSet "{rs_name}" is progressing.'
        set_condition(conds, condition("Progressing", "True", "ReplicaSetUpdated", message, now, progressing), True)
        mem["progress_at"] = ctx.now()
    elif (
        deadline is not None
        and progressing is not None
        and new_rs is not None
        and progressing.get("reason") != "NewReplicaSetAvailable"
    ):
        remaining = mem["progress_at"] + ctx.scaled(float(deadline)) - ctx.now()
        if remaining <= 0:
            message = f'ReplicaSet "{rs_name}" has timed out progressing.'
            set_condition(
                conds, condition("Progressing", "False", "ProgressDeadlineExceeded", message, now, progressing)
            )
        else:
            ctx.loop.add_after(remaining + 0.01, key)
    if progressed and not complete and deadline is not None:
        ctx.loop.add_after(ctx.scaled(float(deadline)) + 0.01, key)


def _replica_failure(
    conds: dict[str, dict[str, Any]], new_rs: dict[str, Any] | None, all_rs: list[dict[str, Any]]
) -> None:
    """Copy the ``ReplicaFailure`` condition of the new ReplicaSet (else of any other) or drop the Deployment's."""
    for rs in ([new_rs] if new_rs is not None else []) + all_rs:
        for c in (rs.get("status") or {}).get("conditions") or []:
            if c.get("type") == "ReplicaFailure":
                when = c.get("lastTransitionTime", rfc3339())
                copied = {
                    "type": "ReplicaFailure",
                    "status": c.get("status", "True"),
                    "lastUpdateTime": when,
                    "lastTransitionTime": when,
                    "reason": c.get("reason", ""),
                    "message": c.get("message", ""),
                }
                previous = conds.get("ReplicaFailure")
                if previous and previous.get("status") == copied["status"]:
                    copied["lastTransitionTime"] = previous.get("lastTransitionTime", when)
                set_condition(conds, copied)
                return
    conds.pop("ReplicaFailure", None)


def write_status(
    ctx: ControllerManager,
    deploy: dict[str, Any],
    new_rs: dict[str, Any] | None,
    all_rs: list[dict[str, Any]],
    conds: dict[str, dict[str, Any]],
    desired: int,
    max_unavailable: int,
    mem: dict[str, Any] | None = None,
) -> None:
    """Write the status; without ``mem`` (a Deployment being deleted) only counts and Available change."""
    old_status = deploy.get("status") or {}
    found = counts(new_rs, all_rs)
    _available(conds, found["availableReplicas"], desired, max_unavailable)
    if mem is not None:
        _progress(ctx, deploy, new_rs, found, conds, desired, mem)
        _replica_failure(conds, new_rs, all_rs)
    status: dict[str, Any] = {"observedGeneration": deploy["metadata"].get("generation", 1)}
    status.update({k: v for k, v in found.items() if v})
    terminating = _terminating(all_rs)
    if terminating is not None:
        status["terminatingReplicas"] = terminating
    status["conditions"] = [conds[c] for c in ("Available", "Progressing", "ReplicaFailure") if c in conds]
    if old_status.get("collisionCount"):
        status["collisionCount"] = old_status["collisionCount"]
    if _same_status(old_status, status):
        return
    ctx.write_status(DEPLOY, deploy, status, MANAGER)


def _same_status(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(s: dict[str, Any]) -> dict[str, Any]:
        s = dict(s)
        s["conditions"] = [
            {k: v for k, v in c.items() if k not in ("lastUpdateTime",)} for c in s.get("conditions") or []
        ]
        return s

    return strip(a) == strip(b)
