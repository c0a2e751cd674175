"""Simulated namespace controllers: default contents on creation, content removal on deletion.

Deletion follows the real namespace controller (with ordered deletion, GA since 1.34): it starts
5 s after the namespace turned Terminating, deletes the pods and waits until they are gone, then
deletes everything else (background propagation), records progress in the namespace conditions
and finally removes its ``kubernetes`` finalizer, which deletes the namespace.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from .clock import parse, rfc3339
from .errors import ApiError
from .nsconditions import content_conditions
from .resources import BY_KEY, RESOURCES, ResourceType

if TYPE_CHECKING:
    from .controllers import ControllerManager

NS = BY_KEY["namespaces"]
POD = BY_KEY["pods"]
DELETION_GRACE_SECONDS = 5.0  # the controller delays namespace events this long
FINALIZER_ESTIMATE_SECONDS = 15
MANAGER = "kube-controller-manager"
ROOT_CA = "-----BEGIN CERTIFICATE-----\nc2FuZGJveC1jbHVzdGVyLWNh\n-----END CERTIFICATE-----\n"


def sync(ctx: ControllerManager, name: str) -> None:
    """Reconcile one namespace."""
    try:
        ns = ctx.store.get(NS, None, name)
    except ApiError:
        return
    if ns["metadata"].get("deletionTimestamp"):
        _terminate(ctx, ns)
    else:
        _populate(ctx, ns)


def _populate(ctx: ControllerManager, ns: dict[str, Any]) -> None:
    mem = ctx.memory.setdefault(ns["metadata"]["uid"], {})
    if mem.get("populated"):
        return
    mem["populated"] = True
    name = ns["metadata"]["name"]
    defaults = [
        (BY_KEY["serviceaccounts"], {"metadata": {"name": "default"}}),
        (
            BY_KEY["configmaps"],
            {
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "annotations": {
                        "kubernetes.io/description": "Contains a CA bundle that can be used to verify the "
                        "kube-apiserver when using internal endpoints such as the internal service IP or "
                        "kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes "
                        "clusters."
                    },
                },
                "data": {"ca.crt": ROOT_CA},
            },
        ),
    ]
    for res, obj in defaults:
        try:
            ctx.store.create(res, name, obj, manager=MANAGER)
        except ApiError as exc:
            if exc.code not in (403, 404, 409):
                raise


def _delete_all(ctx: ControllerManager, res: ResourceType, name: str) -> None:
    for obj in ctx.store.list(res, name)[0]:
        if obj["metadata"].get("deletionTimestamp"):
            continue
        try:
            ctx.store.delete(res, name, obj["metadata"]["name"], propagation="Background")
        except ApiError as exc:
            if exc.code != 404:
                raise


def _pod_estimate(ctx: ControllerManager, name: str, deleted_at: float) -> int:
    """Longest grace period of unfinished pods, or 0 once the namespace has been deleting that long."""
    estimate = 0
    for pod in ctx.store.list(POD, name)[0]:
        if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            estimate = max(estimate, int((pod.get("spec") or {}).get("terminationGracePeriodSeconds") or 0))
    return 0 if (time.time() - deleted_at) * ctx.speed >= estimate else estimate


def _delete_content(
    ctx: ControllerManager, name: str, kinds: list[ResourceType], remaining: dict[str, int], fins: Counter[str]
) -> None:
    for res in kinds:
        _delete_all(ctx, res, name)
        left = ctx.store.list(res, name)[0]
        if left:
            remaining[f"{res.plural}.{res.group}"] = len(left)
            fins.update(f for obj in left for f in obj["metadata"].get("finalizers") or [])


def _terminate(ctx: ControllerManager, ns: dict[str, Any]) -> None:
    name = ns["metadata"]["name"]
    key = ("namespace", "", name)
    mem = ctx.memory.setdefault(ns["metadata"]["uid"], {})
    now = ctx.now()
    mem.setdefault("next_at", now + ctx.scaled(DELETION_GRACE_SECONDS))
    if now < mem["next_at"]:
        ctx.loop.add_after(mem["next_at"] - now + 0.005, key)
        return
    deleted_at = parse(ns["metadata"].get("deletionTimestamp")) or time.time()
    estimate = _pod_estimate(ctx, name, deleted_at)
    remaining: dict[str, int] = {}
    fins: Counter[str] = Counter()
    _delete_content(ctx, name, [POD], remaining, fins)
    if not remaining:
        others = [r for r in RESOURCES if r.namespaced and r is not POD]
        _delete_content(ctx, name, others, remaining, fins)
    changed = _write_conditions(ctx, ns, remaining, fins)
    if not remaining:
        _finalize(ctx, name)
        return
    if not estimate and fins:
        estimate = FINALIZER_ESTIMATE_SECONDS
    delay = estimate // 2 + 1 if estimate else 1
    if changed:
        delay = min(delay, DELETION_GRACE_SECONDS)
    mem["next_at"] = now + ctx.scaled(delay)
    ctx.loop.add_after(ctx.scaled(delay) + 0.005, key)


def _finalize(ctx: ControllerManager, name: str) -> None:
    latest = ctx.store.get(NS, None, name)
    spec_fins = (latest.get("spec") or {}).get("finalizers") or []
    if "kubernetes" in spec_fins:
        latest["spec"]["finalizers"] = [f for f in spec_fins if f != "kubernetes"]
        ctx.store.update(NS, None, name, latest, manager=MANAGER, subresource="finalize")


def _write_conditions(
    ctx: ControllerManager, ns: dict[str, Any], remaining: dict[str, int], fins: Counter[str]
) -> bool:
    """Update the deletion conditions; True when they changed."""
    status = copy.deepcopy(ns.get("status") or {})
    conditions = content_conditions(status.get("conditions") or [], remaining, fins, rfc3339())
    if conditions == status.get("conditions"):
        return False
    status["conditions"] = conditions
    ctx.write_status(NS, ns, status, MANAGER)
    return True
