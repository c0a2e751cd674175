"""Status conditions the namespace controller writes while it deletes a namespace's content."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# type: (reason, message) when nothing is wrong, in the order the controller first adds them
OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


def _problems(remaining: Mapping[str, int], finalizers: Mapping[str, int]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    if remaining:
        content = ", ".join(sorted(f"{gr} has {n} resource instances" for gr, n in remaining.items() if n))
        found["NamespaceContentRemaining"] = ("SomeResourcesRemain", f"Some resources are remaining: {content}")
    if finalizers:
        held = ", ".join(sorted(f"{f} in {n} resource instances" for f, n in finalizers.items() if n))
        found["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {held}",
        )
    return found


def content_conditions(
    old: list[dict[str, Any]], remaining: Mapping[str, int], finalizers: Mapping[str, int], now: str
) -> list[dict[str, Any]]:
    """The conditions after a deletion pass.

    ``remaining`` maps ``<resource>.<group>`` (``pods.`` for the core group) to the number of objects
    left, ``finalizers`` maps finalizer names to the number of objects they hold. A condition keeps
    its place and ``lastTransitionTime`` unless its status, reason or message changes.
    """
    conditions = copy.deepcopy(old)
    problems = _problems(remaining, finalizers)
    for kind, (ok_reason, ok_message) in OK.items():
        status, (reason, message) = ("True", problems[kind]) if kind in problems else ("False", (ok_reason, ok_message))
        new = {"type": kind, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            conditions.append(new)
        elif (current.get("status"), current.get("reason"), current.get("message")) != (status, reason, message):
            current.update(new)
    return conditions
