"""Object validation producing 422 Invalid errors with real API server wording."""

from __future__ import annotations

import re
from typing import Any

from . import leases
from .errors import invalid
from .resources import ResourceType

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
LABEL_RE = re.compile(f"^{_LABEL}$")
SUBDOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
DNS1035_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def name_problems(name: str, rule: str) -> list[str]:
    """Reasons a name violates a naming rule (subdomain, label, dns1035 or path)."""
    problems = []
    if rule == "path":
        if name in (".", ".."):
            return [f"may not be '{name}'"]
        return [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    if rule == "subdomain":
        if len(name) > 253:
            problems.append("must be no more than 253 characters")
        if not SUBDOMAIN_RE.match(name):
            problems.append(SUBDOMAIN_MSG)
    else:
        if len(name) > 63:
            problems.append("must be no more than 63 characters")
        if not (LABEL_RE if rule == "label" else DNS1035_RE).match(name):
            problems.append(LABEL_MSG if rule == "label" else DNS1035_MSG)
    return problems


def _value(v: Any) -> str:
    return '"' + str(v) + '"'


def validate(res: ResourceType, obj: dict[str, Any]) -> None:
    """Raise 422 when the object is invalid."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    causes: list[tuple[str, str, str]] = []
    if not name:
        causes.append(("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"))
    else:
        for problem in name_problems(name, res.name_rule):
            causes.append(("FieldValueInvalid", "metadata.name", f"Invalid value: {_value(name)}: {problem}"))
    causes.extend(_labels(meta.get("labels")))
    if res.kind in ("Deployment", "ReplicaSet"):
        causes.extend(_workload(obj.get("spec") or {}))
    elif res.kind == "Lease":
        causes.extend(leases.problems(obj))
    if causes:
        raise invalid(res.kind, res.group, name, causes)


def _labels(labels: Any) -> list[tuple[str, str, str]]:
    out = []
    for key, value in (labels or {}).items():
        if (
            not isinstance(value, str)
            or len(value) > 63
            or (value and not re.match(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", value))
        ):
            out.append(
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f"Invalid value: {_value(value)}: a valid "
                    "label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character",
                )
            )
        del key
    return out


def _workload(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not spec.get("selector"):
        out.append(("FieldValueRequired", "spec.selector", "Required value"))
    elif any(labels.get(k) != v for k, v in selector.items()):
        shown = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
        out.append(
            (
                "FieldValueInvalid",
                "spec.template.metadata.labels",
                f"Invalid value: map[string]string{{{shown}}}: `selector` does not match template `labels`",
            )
        )
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        out.append(("FieldValueRequired", "spec.template.spec.containers", "Required value"))
    for i, c in enumerate(containers):
        if not c.get("name"):
            out.append(("FieldValueRequired", f"spec.template.spec.containers[{i}].name", "Required value"))
        if not c.get("image"):
            out.append(("FieldValueRequired", f"spec.template.spec.containers[{i}].image", "Required value"))
    if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
        out.append(
            (
                "FieldValueInvalid",
                "spec.replicas",
                f"Invalid value: {spec['replicas']}: must be greater than or equal to 0",
            )
        )
    return out
