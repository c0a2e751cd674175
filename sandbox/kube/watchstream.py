"""Newline-delimited JSON watch streams."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ApiError, bad_request
from .resources import ResourceType
from .store import Store

Matcher = Callable[[dict[str, Any]], bool]
POLL_SECONDS = 0.5


_TEMPLATE = {"metadata": {}, "spec": {"containers": None}}
# What an otherwise empty typed object serialises to: BOOKMARK events carry one with only a resourceVersion.
EMPTY_BODY: dict[str, dict[str, Any]] = {
    "Pod": {"spec": {"containers": None}, "status": {}},
    "Deployment": {"spec": {"selector": None, "template": _TEMPLATE, "strategy": {}}, "status": {}},
    "ReplicaSet": {"spec": {"selector": None, "template": _TEMPLATE}, "status": {"replicas": 0}},
    "Namespace": {"spec": {}, "status": {}},
}


def bookmark(res: ResourceType, rv: int) -> dict[str, Any]:
    """The object of a BOOKMARK event."""
    head = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {"resourceVersion": str(rv)}}
    return {**head, **copy.deepcopy(EMPTY_BODY.get(res.kind, {}))}


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode()


def parse_rv(value: str | None) -> int | None:
    """None for "start with current state", else the integer resourceVersion."""
    if value in (None, "", "0"):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request(f'resourceVersion: Invalid value: "{value}": must be a valid resourceVersion') from exc


def stream(
    store: Store,
    res: ResourceType,
    namespace: str | None,
    match: Matcher,
    resource_version: int | None,
    timeout: float | None,
    bookmark_every: float | None,
) -> Iterator[bytes]:
    """Yield watch events: initial ADDED (when no resourceVersion), history replay, then live events."""
    deadline = time.monotonic() + timeout if timeout else None
    if resource_version is None:
        items, rv = store.list(res, namespace, match)
        for obj in items:
            yield _line("ADDED", obj)
    else:
        rv = resource_version
    next_bookmark = time.monotonic() + bookmark_every if bookmark_every else None
    while not store.closed:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return
        wait = POLL_SECONDS
        if deadline is not None:
            wait = min(wait, deadline - now)
        if next_bookmark is not None:
            wait = min(wait, max(0.0, next_bookmark - now))
        try:
            events = store.events_after(rv, wait)
        except ApiError as exc:
            yield _line("ERROR", exc.body)
            return
        for event in events:
            rv = event.rv
            if event.key != res.key or (namespace is not None and event.namespace != namespace):
                continue
            now_match = match(event.obj)
            was_match = event.old is not None and match(event.old)
            if event.type == "MODIFIED":
                kind = (
                    "MODIFIED"
                    if now_match and was_match
                    else "ADDED"
                    if now_match
                    else "DELETED"
                    if was_match
                    else None
                )
            else:
                kind = event.type if now_match or was_match else None
            if kind:
                yield _line(kind, event.obj)
        if next_bookmark is not None and time.monotonic() >= next_bookmark:
            next_bookmark = time.monotonic() + (bookmark_every or 1.0)
            yield _line("BOOKMARK", bookmark(res, max(rv, 1)))
