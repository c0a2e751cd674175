"""Simulated namespace controllers: default contents on creation, content removal on deletion."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .clock import rfc3339
from .errors import ApiError
from .resources import BY_KEY, RESOURCES

if TYPE_CHECKING:
    from .controllers import ControllerManager

NS = BY_KEY["namespaces"]
CLEANUP_SECONDS = 2.0
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


def _remaining(ctx: ControllerManager, name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for res in RESOURCES:
        if res.namespaced:
            n = len(ctx.store.list(res, name)[0])
            if n:
                counts[res.key] = n
    return counts


def _terminate(ctx: ControllerManager, ns: dict[str, Any]) -> None:
    name = ns["metadata"]["name"]
    mem = ctx.memory.setdefault(ns["metadata"]["uid"], {})
    if "terminating" not in mem:
        mem["terminating"] = ctx.now()
    wait = mem["terminating"] + ctx.scaled(CLEANUP_SECONDS) - ctx.now()
    if wait > 0:
        ctx.loop.add_after(wait + 0.005, ("namespace", "", name))
        return
    finalizers_left: set[str] = set()
    for res in RESOURCES:
        if not res.namespaced:
            continue
        for obj in ctx.store.list(res, name)[0]:
            finalizers_left.update(obj["metadata"].get("finalizers") or [])
            if obj["metadata"].get("deletionTimestamp"):
                continue
            try:
                ctx.store.delete(res, name, obj["metadata"]["name"], propagation="Background")
            except ApiError as exc:
                if exc.code != 404:
                    raise
    remaining = _remaining(ctx, name)
    _write_conditions(ctx, ns, remaining, finalizers_left)
    if remaining:
        return
    spec_fins = (ns.get("spec") or {}).get("finalizers") or []
    if spec_fins:
        latest = ctx.store.get(NS, None, name)
        latest["spec"]["finalizers"] = [f for f in spec_fins if f != "kubernetes"]
        ctx.store.update(NS, None, name, latest, manager=MANAGER, subresource="finalize")


def _write_conditions(
    ctx: ControllerManager, ns: dict[str, Any], remaining: dict[str, int], finalizers: set[str]
) -> None:
    now = rfc3339()
    status = copy.deepcopy(ns.get("status") or {})
    old = {c["type"]: c for c in status.get("conditions") or []}

    def cond(kind: str, value: bool, reason: str, message: str) -> dict[str, Any]:
        prev = old.get(kind)
        state = "True" if value else "False"
        if prev and prev.get("status") == state and prev.get("message") == message:
            return prev
        return {"type": kind, "status": state, "lastTransitionTime": now, "reason": reason, "message": message}

    content = ", ".join(f"{k} has {n} resource instances" for k, n in sorted(remaining.items()))
    fins = ", ".join(f"{f} in {n} resource instances" for f, n in [(f, 1) for f in sorted(finalizers)])
    status["conditions"] = [
        cond(
            "NamespaceDeletionDiscoveryFailure", False, "ResourcesDiscovered", "All resources successfully discovered"
        ),
        cond(
            "NamespaceDeletionGroupVersionParsingFailure",
            False,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        cond(
            "NamespaceDeletionContentFailure",
            False,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        cond(
            "NamespaceContentRemaining",
            bool(remaining),
            "SomeResourcesRemain" if remaining else "ContentRemoved",
            f"Some resources are remaining: {content}" if remaining else "All content successfully removed",
        ),
        cond(
            "NamespaceFinalizersRemaining",
            bool(finalizers),
            "SomeFinalizersRemain" if finalizers else "ContentHasNoFinalizers",
            f"Some content in the namespace has finalizers remaining: {fins}"
            if finalizers
            else "All content-preserving finalizers finished",
        ),
    ]
    ctx.write_status(NS, ns, status, MANAGER)
