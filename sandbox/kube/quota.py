"""The quota pod evaluator and the ResourceQuota admission check of a new pod (``status.hard``/``status.used``)."""

from __future__ import annotations

import time
from typing import Any

from .clock import parse as parse_time
from .quantity import Quantity, canonical, parse, quantities

COUNT = "count/pods"
POD_RESOURCES = {
    COUNT,
    "pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
}
#: a quota on one of these makes every container state it (a backward-compatibility rule of the real evaluator)
MUST_SPECIFY = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}
ResourceList = dict[str, Quantity]


def printed(values: ResourceList) -> dict[str, str]:
    """A resource list as stored: canonical quantity strings."""
    return {k: canonical(v) for k, v in sorted(values.items())}


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    """``quota.Add``: keys of either, summed."""
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def matching(names: list[str] | set[str]) -> set[str]:
    """The pod evaluator's ``MatchingResources``: pod resources, hugepages and extended ``requests.*``."""

    def extended(name: str) -> bool:
        return name.startswith("requests.") and "/" in name and not name.split("/", 1)[0].endswith("kubernetes.io")

    return {
        n for n in names if n in POD_RESOURCES or n.startswith(("hugepages-", "requests.hugepages-")) or extended(n)
    }


def _compute(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """``podComputeUsageHelper``: ``pods`` plus requests (also under the bare name) and limits."""
    out: ResourceList = {"pods": parse("1")}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = value
        elif "/" in name and not name.split("/", 1)[0].endswith("kubernetes.io"):
            out[f"requests.{name}"] = value
    return out


def _pod_total(pod: dict[str, Any], field: str) -> ResourceList:
    """``PodRequests``/``PodLimits``: the containers' sum, or an init container's value when larger."""
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add(total, quantities(((c or {}).get("resources") or {}).get(field)))
    for c in spec.get("initContainers") or []:
        for name, value in quantities(((c or {}).get("resources") or {}).get(field)).items():
            if name not in total or value.value > total[name].value:
                total[name] = value
    return add(total, quantities(spec.get("overhead")))


def counted(pod: dict[str, Any], now: float | None = None) -> bool:
    """``QuotaV1Pod``: not Succeeded/Failed, and not deleted longer ago than its grace period."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    deleted = parse_time(meta.get("deletionTimestamp"))
    grace = meta.get("deletionGracePeriodSeconds")
    if deleted is not None and grace is not None:
        return (now if now is not None else time.time()) <= deleted + int(grace)
    return True


def usage(pod: dict[str, Any]) -> ResourceList:
    """What one pod is charged: ``count/pods`` always, compute resources while :func:`counted`."""
    out: ResourceList = {COUNT: parse("1")}
    if counted(pod):
        out = add(out, _compute(_pod_total(pod, "requests"), _pod_total(pod, "limits")))
    return out


def best_effort(pod: dict[str, Any]) -> bool:
    """No container requests or limits cpu or memory."""
    for c in ((pod.get("spec") or {}).get("containers") or []) + ((pod.get("spec") or {}).get("initContainers") or []):
        res = (c or {}).get("resources") or {}
        for field in ("requests", "limits"):
            if any(v.value != 0 for k, v in quantities(res.get(field)).items() if k in ("cpu", "memory")):
                return False
    return True


def _scope(name: str, pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    terminating = spec.get("activeDeadlineSeconds") is not None and int(spec["activeDeadlineSeconds"]) >= 0
    return {
        "Terminating": terminating,
        "NotTerminating": not terminating,
        "BestEffort": best_effort(pod),
        "NotBestEffort": not best_effort(pod),
        "PriorityClass": bool(spec.get("priorityClassName")),
    }.get(name, False)


def applies(quota: dict[str, Any], pod: dict[str, Any], hard: list[str]) -> bool:
    """``Matches``: the quota limits something of pods and its scopes (``Exists`` only) select ``pod``."""
    spec = quota.get("spec") or {}
    scopes = list(spec.get("scopes") or [])
    scopes += [e.get("scopeName", "") for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []]
    return bool(matching(hard)) and all(_scope(s, pod) for s in scopes)


def missing(pod: dict[str, Any], required: set[str]) -> str | None:
    """``Constraints``: ``limits.cpu for: a,b; requests.memory for: a`` when containers leave them unset."""
    needed = required & MUST_SPECIFY
    absent: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = (c or {}).get("resources") or {}
        have = set(_compute(quantities(res.get("requests")), quantities(res.get("limits"))))
        for name in needed - have:
            absent.setdefault(name, set()).add(str((c or {}).get("name", "")))
    if not absent:
        return None
    return "; ".join(f"{name} for: {','.join(sorted(absent[name]))}" for name in sorted(absent))


def _pretty(values: ResourceList) -> str:
    return ",".join(f"{k}={canonical(values[k])}" for k in sorted(values))


def check(quotas: list[dict[str, Any]], pod: dict[str, Any]) -> tuple[str | None, dict[str, ResourceList]]:
    """The refusal of ``pod`` by the namespace's quotas, or None with each charged quota's new ``status.used``."""
    interesting = []
    for q in quotas:
        status = q.get("status") or {}
        hard = quantities(status.get("hard"))
        if not applies(q, pod, list(hard)):
            continue
        restricted = matching(list(hard))
        name = q["metadata"]["name"]
        problem = missing(pod, restricted)
        if problem:
            return f"failed quota: {name}: must specify {problem}", {}
        used = quantities(status.get("used"))
        unknown = sorted(r for r in restricted if r in hard and r not in used)
        if unknown:
            return f"status unknown for quota: {name}, resources: {','.join(unknown)}", {}
        interesting.append((name, hard, used))
    delta = {k: v for k, v in usage(pod).items() if v.value != 0}
    charged: dict[str, ResourceList] = {}
    for name, hard, used in interesting:
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            continue
        new_used = add(used, requested)
        exceeded = sorted(k for k in requested if new_used[k].value > hard[k].value)
        if exceeded:
            return (
                f"exceeded quota: {name}, requested: {_pretty({k: requested[k] for k in exceeded})}, "
                f"used: {_pretty({k: used[k] for k in exceeded})}, limited: {_pretty({k: hard[k] for k in exceeded})}"
            ), {}
        charged[name] = new_used
    return None, charged
