"""Simulated Deployment controller: ReplicaSet per pod template, rolling updates, status and conditions."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

from .clock import rfc3339
from .deploystatus import condition, set_condition, write_status
from .errors import ApiError
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

DEPLOY = BY_KEY["deployments.apps"]
RS = BY_KEY["replicasets.apps"]
MANAGER = "kube-controller-manager"
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict[str, Any], collisions: int = 0) -> str:
    """Stable short hash of a pod template, in the API server's safe alphabet."""
    raw = json.dumps(template, sort_keys=True) + str(collisions)
    n = int.from_bytes(hashlib.sha256(raw.encode()).digest()[:8], "big")
    out = ""
    while len(out) < 10:
        out += SAFE[n % len(SAFE)]
        n //= len(SAFE)
    return out


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    t = copy.deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        frac = int(value[:-1]) * total / 100
        return math.ceil(frac) if round_up else math.floor(frac)
    return int(value or 0)


def surge_and_unavailable(spec: dict[str, Any]) -> tuple[int, int]:
    """``(maxSurge, maxUnavailable)`` as absolute numbers."""
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, replicas
    ru = strategy.get("rollingUpdate") or {}
    surge = _resolve(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = _resolve(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _replicas(rs: dict[str, Any]) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _st(rs: dict[str, Any], field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


def _revision(rs: dict[str, Any]) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _scale(ctx: ControllerManager, rs: dict[str, Any], replicas: int, deploy: dict[str, Any]) -> None:
    new = copy.deepcopy(rs)
    new["spec"]["replicas"] = replicas
    surge, _ = surge_and_unavailable(deploy["spec"])
    ann = new["metadata"].setdefault("annotations", {})
    ann["deployment.kubernetes.io/desired-replicas"] = str(deploy["spec"].get("replicas", 1))
    ann["deployment.kubernetes.io/max-replicas"] = str(int(deploy["spec"].get("replicas", 1)) + surge)
    ctx.store.update(RS, rs["metadata"]["namespace"], rs["metadata"]["name"], new, manager=MANAGER)


def _create_rs(ctx: ControllerManager, deploy: dict[str, Any], revision: int, replicas: int) -> dict[str, Any]:
    meta = deploy["metadata"]
    template = copy.deepcopy(deploy["spec"]["template"])
    collisions = int((deploy.get("status") or {}).get("collisionCount", 0))
    h = template_hash(template, collisions)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
    selector = copy.deepcopy(deploy["spec"].get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = h
    surge, _ = surge_and_unavailable(deploy["spec"])
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{h}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(deploy["spec"].get("replicas", 1)),
                "deployment.kubernetes.io/max-replicas": str(int(deploy["spec"].get("replicas", 1)) + surge),
                REVISION: str(revision),
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": deploy["spec"].get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }
    return ctx.store.create(RS, meta["namespace"], rs, manager=MANAGER)


def sync(ctx: ControllerManager, namespace: str, name: str) -> None:
    """Reconcile one Deployment; one being deleted only gets its status updated, as on a real cluster."""
    try:
        deploy = ctx.store.get(DEPLOY, namespace, name)
    except ApiError:
        return
    spec = deploy["spec"]
    uid = deploy["metadata"]["uid"]
    all_rs = sorted(ctx.owned(RS, namespace, uid), key=lambda r: (_revision(r), r["metadata"]["creationTimestamp"]))
    wanted = _without_hash(spec["template"])
    new_rs = next((r for r in all_rs if _without_hash(r["spec"]["template"]) == wanted), None)
    olds = [r for r in all_rs if r is not new_rs]
    desired = int(spec.get("replicas", 1))
    surge, max_unavailable = surge_and_unavailable(spec)
    conds = {c["type"]: c for c in (deploy.get("status") or {}).get("conditions") or []}
    if deploy["metadata"].get("deletionTimestamp"):
        write_status(ctx, deploy, new_rs, all_rs, conds, desired, max_unavailable)
        return
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    now = rfc3339()
    mem = ctx.memory.setdefault(uid, {"progress_at": ctx.now()})
    max_rev = max((_revision(r) for r in all_rs), default=0)
    paused = bool(spec.get("paused"))

    if new_rs is None and not paused:
        if recreate:
            start = 0 if any(_replicas(r) or _st(r, "replicas") for r in olds) else desired
        else:
            total = sum(_replicas(r) for r in all_rs)
            start = max(0, min(desired, desired + surge - total))
        new_rs = _create_rs(ctx, deploy, max_rev + 1, start)
        all_rs.append(new_rs)
        message = f'Created new replica set "{new_rs["metadata"]["name"]}"'
        progressing = condition("Progressing", "True", "NewReplicaSetCreated", message, now, conds.get("Progressing"))
        set_condition(conds, progressing, True)
        mem["progress_at"] = ctx.now()
    elif new_rs is not None and _revision(new_rs) < max_rev:
        bumped = copy.deepcopy(new_rs)
        bumped["metadata"].setdefault("annotations", {})[REVISION] = str(max_rev + 1)
        new_rs = ctx.store.update(RS, namespace, new_rs["metadata"]["name"], bumped, manager=MANAGER)
        all_rs = [new_rs] + olds
    elif new_rs is not None and "Progressing" not in conds:
        message = f'Found new replica set "{new_rs["metadata"]["name"]}"'
        set_condition(conds, condition("Progressing", "True", "FoundNewReplicaSet", message, now, None))
        mem["progress_at"] = ctx.now()

    if new_rs is not None and not paused:
        _rollout(ctx, deploy, new_rs, olds, desired, surge, max_unavailable, recreate)
        all_rs = ctx.owned(RS, namespace, uid)
        new_rs = next((r for r in all_rs if r["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        _cleanup(ctx, deploy, [r for r in all_rs if r is not new_rs])

    write_status(ctx, deploy, new_rs, all_rs, conds, desired, max_unavailable, mem)


def _rollout(
    ctx: ControllerManager,
    deploy: dict[str, Any],
    new_rs: dict[str, Any],
    olds: list[dict[str, Any]],
    desired: int,
    surge: int,
    max_unavailable: int,
    recreate: bool,
) -> None:
    active_olds = [r for r in olds if _replicas(r) > 0]
    if recreate:
        if active_olds:
            for r in active_olds:
                _scale(ctx, r, 0, deploy)
            return
        if any(_st(r, "replicas") for r in olds):
            return
        if _replicas(new_rs) != desired:
            _scale(ctx, new_rs, desired, deploy)
        return
    if not active_olds:
        if _replicas(new_rs) != desired:
            _scale(ctx, new_rs, desired, deploy)
        return
    all_rs = [new_rs] + olds
    total = sum(_replicas(r) for r in all_rs)
    new_count = _replicas(new_rs)
    if new_count > desired:
        _scale(ctx, new_rs, desired, deploy)
        return
    if new_count < desired and total < desired + surge:
        _scale(ctx, new_rs, new_count + min(desired + surge - total, desired - new_count), deploy)
        return
    min_available = desired - max_unavailable
    new_unavailable = _replicas(new_rs) - _st(new_rs, "availableReplicas")
    budget = total - min_available - new_unavailable
    if budget <= 0:
        return
    scaled: dict[str, int] = {r["metadata"]["uid"]: _replicas(r) for r in active_olds}
    for r in active_olds:  # unhealthy replicas first
        if budget <= 0:
            break
        unhealthy = _replicas(r) - _st(r, "availableReplicas")
        cut = min(budget, max(0, unhealthy))
        scaled[r["metadata"]["uid"]] -= cut
        budget -= cut
    available = sum(_st(r, "availableReplicas") for r in all_rs)
    allowance = max(0, available - min_available)
    for r in active_olds:
        cut = min(scaled[r["metadata"]["uid"]], allowance)
        scaled[r["metadata"]["uid"]] -= cut
        allowance -= cut
    for r in active_olds:
        if scaled[r["metadata"]["uid"]] != _replicas(r):
            _scale(ctx, r, scaled[r["metadata"]["uid"]], deploy)


def _cleanup(ctx: ControllerManager, deploy: dict[str, Any], olds: list[dict[str, Any]]) -> None:
    limit = int(deploy["spec"].get("revisionHistoryLimit", 10))
    idle = [r for r in olds if _replicas(r) == 0 and _st(r, "replicas") == 0]
    for r in idle[: max(0, len(idle) - limit)]:
        with contextlib.suppress(ApiError):
            ctx.store.delete(RS, r["metadata"]["namespace"], r["metadata"]["name"])
