"""Label and field selectors as accepted by list and watch."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=()]+)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    m = _SET_RE.match(text)
    if m:
        key, op, raw = m.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    m = _CMP_RE.match(text)
    if m:
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    m = _EXISTS_RE.match(text)
    if m:
        neg, key = m.groups()
        if neg:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


def label_matcher(selector: str | None) -> Matcher:
    """Compile a ``labelSelector`` query value."""
    if not selector or not selector.strip():
        return lambda obj: True
    reqs = [_requirement(part) for part in _split(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req(labels) for req in reqs)

    return match


def _field_value(obj: dict[str, Any], path: str) -> str | None:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if cur is None:
        return None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


SUPPORTED_FIELDS = {"metadata.name", "metadata.namespace"}
POD_FIELDS = {
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
}


def field_matcher(selector: str | None, kind: str = "") -> Matcher:
    """Compile a ``fieldSelector`` query value (metadata.name/namespace, some pod fields)."""
    if not selector or not selector.strip():
        return lambda obj: True
    allowed = (
        SUPPORTED_FIELDS
        | (POD_FIELDS if kind == "Pod" else set())
        | (
            {
                "type",
                "reason",
                "involvedObject.name",
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.uid",
                "source",
            }
            if kind == "Event"
            else set()
        )
    )
    reqs: list[tuple[str, bool, str]] = []
    for part in _split(selector):
        m = _CMP_RE.match(part)
        if not m:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part.strip()}'")
        key, op, value = m.groups()
        if key not in allowed:
            raise bad_request(f"field label not supported: {key}")
        reqs.append((key, op != "!=", value))

    def match(obj: dict[str, Any]) -> bool:
        return all(
            (_field_value(obj, key) or "") == value if eq else (_field_value(obj, key) or "") != value
            for key, eq, value in reqs
        )

    return match
