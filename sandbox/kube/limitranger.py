"""The LimitRanger admission plugin for pods: container defaults from LimitRanges, then min/max/ratio checks."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .quantity import Quantity, quantities

ANNOTATION = "kubernetes.io/limit-ranger"
MAX_MILLI = (2**63 - 1) // 1000


def _items(limit_range: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    limits = (limit_range.get("spec") or {}).get("limits") or []
    return [item for item in limits if isinstance(item, dict) and item.get("type") == kind]


def _containers(pod: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = pod.get("spec") or {}
    return [("container", c) for c in spec.get("containers") or [] if isinstance(c, dict)] + [
        ("init container", c) for c in spec.get("initContainers") or [] if isinstance(c, dict)
    ]


def mutate(limit_range: dict[str, Any], pod: dict[str, Any]) -> None:
    """Fill each container's missing requests (``defaultRequest``) and limits (``default``), annotating the pod."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(limit_range, "Container"):
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    notes = []
    for prefix, container in _containers(pod):
        resources = container.setdefault("resources", {})
        have_limits = resources.setdefault("limits", {})
        have_requests = resources.setdefault("requests", {})
        set_limits = sorted(k for k in limits if k not in have_limits)
        set_requests = sorted(k for k in requests if k not in have_requests)
        have_limits.update({k: limits[k] for k in set_limits})
        have_requests.update({k: requests[k] for k in set_requests})
        if set_requests:
            notes.append(f"{', '.join(set_requests)} request for {prefix} {container.get('name', '')}")
        if set_limits:
            notes.append(f"{', '.join(set_limits)} limit for {prefix} {container.get('name', '')}")
        for key in ("limits", "requests"):
            if not resources[key]:
                del resources[key]
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _values(*quantities: Quantity | None) -> list[int | Fraction]:
    """Compare in thousandths (rounded up) when every value fits, else whole units, as the plugin does."""
    present = [q for q in quantities if q is not None]
    if all(q.value <= MAX_MILLI for q in present):
        return [q.milli() if q is not None else 0 for q in quantities]
    return [q.value if q is not None else 0 for q in quantities]


def _min(kind: str, name: str, bound: Quantity, req: Quantity | None, lim: Quantity | None) -> str | None:
    r, limit, b = _values(req, lim, bound)
    if req is None:
        return f"minimum {name} usage per {kind} is {bound}.  No request is specified"
    if r < b:
        return f"minimum {name} usage per {kind} is {bound}, but request is {req}"
    if lim is not None and limit < b:
        return f"minimum {name} usage per {kind} is {bound}, but limit is {lim}"
    return None


def _max(kind: str, name: str, bound: Quantity, req: Quantity | None, lim: Quantity | None) -> str | None:
    r, limit, b = _values(req, lim, bound)
    if lim is None:
        return f"maximum {name} usage per {kind} is {bound}.  No limit is specified"
    if limit > b:
        return f"maximum {name} usage per {kind} is {bound}, but limit is {lim}"
    if req is not None and r > b:
        return f"maximum {name} usage per {kind} is {bound}, but request is {req}"
    return None


def _ratio(kind: str, name: str, bound: Quantity, req: Quantity | None, lim: Quantity | None) -> str | None:
    r, limit, _ = _values(req, lim, bound)
    if req is None or r == 0:
        return f"{name} max limit to request ratio per {kind} is {bound}, but no request is specified or request is 0"
    if lim is None or limit == 0:
        return f"{name} max limit to request ratio per {kind} is {bound}, but no limit is specified or limit is 0"
    observed = float(limit) / float(r)
    if observed * 1000 > bound.milli():
        return f"{name} max limit to request ratio per {kind} is {bound}, but provided ratio is {observed:f}"
    return None


def _check(item: dict[str, Any], kind: str, requests: dict[str, Quantity], limits: dict[str, Quantity]) -> list[str]:
    found = []
    for field, rule in (("min", _min), ("max", _max), ("maxLimitRequestRatio", _ratio)):
        for name, bound in sorted(quantities(item.get(field)).items()):
            problem = rule(kind, name, bound, requests.get(name), limits.get(name))
            if problem:
                found.append(problem)
    return found


def _pod_totals(pod: dict[str, Any], field: str) -> dict[str, Quantity]:
    """Sum over the containers (the larger of that and any init container), for ``type: Pod`` limits."""
    total: dict[str, Quantity] = {}
    init: dict[str, Quantity] = {}
    for prefix, container in _containers(pod):
        for name, q in quantities((container.get("resources") or {}).get(field)).items():
            if prefix == "container":
                total[name] = total[name] + q if name in total else q
            elif name not in init or q.value > init[name].value:
                init[name] = q
    for name, q in init.items():
        if name not in total or q.value > total[name].value:
            total[name] = q
    return total


def validate(limit_range: dict[str, Any], pod: dict[str, Any]) -> str | None:
    """The plugin's error for ``pod`` under one LimitRange (Go's aggregate: ``[a, b]`` for several), or None."""
    found: list[str] = []
    for item in _items(limit_range, "Container"):
        for _, container in _containers(pod):
            resources = container.get("resources") or {}
            found += _check(
                item, "Container", quantities(resources.get("requests")), quantities(resources.get("limits"))
            )
    for item in _items(limit_range, "Pod"):
        found += _check(item, "Pod", _pod_totals(pod, "requests"), _pod_totals(pod, "limits"))
    unique = list(dict.fromkeys(found))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
