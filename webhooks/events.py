"""Turns a verified webhook (event name, delivery id, raw body) into a command or a reason to ignore it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from preview.models import Command, CommandKind, Ignored

#: Actions after which the preview may need to exist or change (labels and drafts matter to policy).
SYNC_ACTIONS = frozenset(
    {"opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "labeled", "unlabeled"}
)
TEARDOWN_ACTIONS = frozenset({"closed"})


class BadPayload(ValueError):
    """The body is not a usable webhook payload; the message says why."""


@dataclass(frozen=True, slots=True)
class Pong:
    """GitHub's ``ping`` after a hook is created."""

    zen: str = ""


Routed = Command | Ignored | Pong


def decode(body: bytes) -> dict:
    """Parse a JSON object body or raise :class:`BadPayload`."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadPayload("body must be a JSON object")
    return payload


def _field(payload: dict, *path: str) -> object:
    node: object = payload
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise BadPayload(f"payload lacks {'.'.join(path)}")
        node = node[key]
    return node


def _installation(payload: dict) -> int | None:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return installation["id"]
    return None


def route(event: str, delivery_id: str, payload: dict) -> Routed:
    """Decide what a webhook asks for."""
    if event == "ping":
        return Pong(str(payload.get("zen", "")))
    if event != "pull_request":
        return Ignored(f"event '{event}' is not handled")
    action = payload.get("action")
    if action in SYNC_ACTIONS:
        kind = CommandKind.SYNC
    elif action in TEARDOWN_ACTIONS:
        kind = CommandKind.TEARDOWN
    else:
        return Ignored(f"pull_request action '{action}' needs no preview change")
    repo = _field(payload, "repository", "full_name")
    number = _field(payload, "pull_request", "number")
    sha = _field(payload, "pull_request", "head", "sha")
    if not isinstance(repo, str) or "/" not in repo:
        raise BadPayload("repository.full_name must be 'owner/name'")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise BadPayload("pull_request.number must be a positive integer")
    if not isinstance(sha, str):
        raise BadPayload("pull_request.head.sha must be a string")
    return Command(
        kind=kind,
        repo=repo,
        number=number,
        installation_id=_installation(payload),
        sha=sha,
        delivery_id=delivery_id,
        event=event,
        action=str(action),
    )
