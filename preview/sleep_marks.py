"""What records a preview's sleep: the ledger keys of sleep and wake, and the namespace's sleep marks.

Shared by the sleeper (preview/sleep.py), the watcher, the slots and the web process's wake links.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from preview import naming
from preview.lifecycle_base import ISO
from preview.models import NamespaceInfo, PullRef
from preview.naming import Annotations


def activity_key(repo: str, number: int) -> str:
    """The ledger key holding a PR's latest activity (epoch seconds)."""
    return f"active:{repo}#{number}"


def _slept_key(ref: PullRef) -> str:
    return f"slept:{ref.repo}#{ref.number}"


def wake_ref_key(namespace: str) -> str:
    """The ledger key telling the web process which PR a wake link's namespace holds (JSON [repo, n, inst])."""
    return f"wake-ref:{namespace}"


def _waking_key(ref: PullRef) -> str:
    return f"waking:{ref.repo}#{ref.number}"


def wake_wanted_key(ref: PullRef) -> str:
    """Set while a wake waits for a slot: when the queue lets the PR in, it is woken (not only synced)."""
    return f"wake-wanted:{ref.repo}#{ref.number}"


def _epoch(text: str | None) -> float | None:
    try:
        return datetime.strptime(text or "", ISO).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def asleep(annotations: Mapping[str, str]) -> bool:
    """Whether a namespace's annotations say its preview sleeps (a deploy after the sleep began woke it)."""
    since = annotations.get(Annotations.SLEEPING_SINCE)
    if not since:
        return False
    applied = annotations.get(Annotations.APPLIED_AT) or ""
    return applied <= since  # both ISO-8601 UTC to the second


def duration(seconds: int) -> str:
    """``24h``, ``90m``, ``2d``, ``45s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def ref_of(ns: NamespaceInfo) -> PullRef | None:
    """The PR a preview namespace belongs to, from previewbot's annotations (its name must match)."""
    repo, number = ns.annotations.get(Annotations.REPO, ""), ns.annotations.get(Annotations.PR, "")
    if not naming.is_repo(repo) or not number.isdigit() or ns.name != naming.namespace_name(repo, int(number)):
        return None
    installation = ns.annotations.get(Annotations.INSTALLATION, "")
    return PullRef(repo, int(number), int(installation) if installation.isdigit() else None)


def _replicas(annotations: Mapping[str, str]) -> dict[str, int]:
    try:
        found = json.loads(annotations.get(Annotations.SLEEP_REPLICAS) or "{}")
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}


def _wanted(deployment: dict) -> int:
    value = (deployment.get("spec") or {}).get("replicas", 1)
    return value if isinstance(value, int) else 1
