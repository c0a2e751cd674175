"""Simulated resource quota controller: keeps ``status.hard`` and ``status.used`` of a namespace's quotas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import quota
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

QUOTA = BY_KEY["resourcequotas"]
POD = BY_KEY["pods"]
MANAGER = "kube-controller-manager"


def _status(q: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    """``spec.hard`` and the usage of the pod resources it names (scopes applied), zero when unused."""
    hard = quota.quantities((q.get("spec") or {}).get("hard"))
    tracked = quota.matching(list(hard))
    used: quota.ResourceList = {name: quota.parse("0") for name in tracked}
    for pod in pods:
        if quota.applies(q, pod, list(hard)):
            used = quota.add(used, {k: v for k, v in quota.usage(pod).items() if k in tracked})
    status = dict(q.get("status") or {})
    status["hard"] = quota.printed(hard)
    status["used"] = quota.printed(used)
    return status


def sync(ctx: ControllerManager, namespace: str) -> None:
    """Recalculate every ResourceQuota of ``namespace`` (atomically with respect to pod admission)."""
    with ctx.store.transaction():
        quotas = [q for q in ctx.store.list(QUOTA, namespace)[0] if not q["metadata"].get("deletionTimestamp")]
        if not quotas:
            return
        pods = ctx.store.list(POD, namespace)[0]
        for q in quotas:
            ctx.write_status(QUOTA, q, _status(q, pods), MANAGER)
