"""Admission of a new pod inside the store: LimitRanger (mutating, then validating), the pod's QoS class and
ResourceQuota (validating; charges ``status.used`` once the pod is stored)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import limitranger, quota
from .errors import forbidden
from .resources import BY_KEY, ResourceType

if TYPE_CHECKING:
    from .store import Store

POD = BY_KEY["pods"]
LIMIT_RANGE = BY_KEY["limitranges"]
QUOTA = BY_KEY["resourcequotas"]
MANAGER = "kube-apiserver"


def _refuse(pod: dict[str, Any], why: str) -> Exception:
    meta = pod.get("metadata") or {}
    return forbidden("", "pods", meta.get("name") or meta.get("generateName") or "Unknown", why)


def qos_class(pod: dict[str, Any]) -> str:
    """``GetPodQOS``: Guaranteed (cpu and memory limits everywhere, requests equal), BestEffort or Burstable."""
    spec = pod.get("spec") or {}
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = (c or {}).get("resources") or {}
        for field, total in (("requests", requests), ("limits", limits)):
            for name, value in quota.quantities(res.get(field)).items():
                if name in ("cpu", "memory") and value.value != 0:
                    total[name] = total[name] + value if name in total else value
        found = {k for k, v in quota.quantities(res.get("limits")).items() if k in ("cpu", "memory") and v.value}
        guaranteed = guaranteed and found == {"cpu", "memory"}
    if not requests and not limits:
        return "BestEffort"
    same = requests.keys() == limits.keys() and all(requests[k].value == limits[k].value for k in requests)
    return "Guaranteed" if guaranteed and same else "Burstable"


class PodAdmission:
    """The store's admission hook for pod creation, run under the store lock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _ranges(self, namespace: str) -> list[dict[str, Any]]:
        return [r for r in self.store.list(LIMIT_RANGE, namespace)[0] if not r["metadata"].get("deletionTimestamp")]

    def mutate(self, res: ResourceType, obj: dict[str, Any]) -> None:
        """LimitRanger's defaults, then the QoS class the registry computes before validation."""
        if res.key != POD.key:
            return
        for limit_range in self._ranges(obj["metadata"].get("namespace", "")):
            limitranger.mutate(limit_range, obj)
        obj.setdefault("status", {})["qosClass"] = qos_class(obj)

    def validate(self, res: ResourceType, obj: dict[str, Any], dry_run: bool) -> Callable[[], None] | None:
        """LimitRanger's and ResourceQuota's checks; returns what charges the quotas once the pod is stored."""
        if res.key != POD.key:
            return None
        namespace = obj["metadata"].get("namespace", "")
        for limit_range in self._ranges(namespace):
            problem = limitranger.validate(limit_range, obj)
            if problem:
                raise _refuse(obj, problem)
        quotas = self.store.list(QUOTA, namespace)[0]
        problem, charged = quota.check(quotas, obj)
        if problem:
            raise _refuse(obj, problem)
        if dry_run or not charged:
            return None
        return lambda: self._charge(namespace, charged)

    def _charge(self, namespace: str, charged: dict[str, quota.ResourceList]) -> None:
        for name, used in charged.items():
            current = self.store.peek(QUOTA, namespace, name)
            if current is None:
                continue
            status = dict(current.get("status") or {})
            status["used"] = {**(status.get("used") or {}), **quota.printed(used)}
            new = {**current, "status": status}
            self.store.update(QUOTA, namespace, name, new, manager=MANAGER, subresource="status")
