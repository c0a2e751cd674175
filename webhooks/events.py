"""Turns a verified webhook (event name, delivery id, raw body) into a command or a reason to ignore it.

Every value that ends up in a :class:`~preview.models.Command` passes a check of
:mod:`webhooks.validate` first; a payload that fails one raises :class:`BadPayload`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from preview.models import Command, CommandKind, Ignored
from webhooks.validate import MAX_ID, BadPayload, get, integer, login, obj, repo_name, sha, timestamp, token

__all__ = ["BadPayload", "HANDLED_EVENTS", "Pong", "Routed", "decode", "route"]

#: Actions after which the preview may need to exist or change (labels and drafts matter to policy).
SYNC_ACTIONS = frozenset(
    {"opened", "reopened", "synchronize", "ready_for_review", "converted_to_draft", "labeled", "unlabeled"}
)
TEARDOWN_ACTIONS = frozenset({"closed"})
FINAL_STATUS_STATES = frozenset({"success", "failure", "error"})
COMMAND_PREFIX = "/preview"
MAX_COMMAND_TEXT = 200


@dataclass(frozen=True, slots=True)
class Pong:
    """GitHub's ``ping`` after a hook is created."""

    zen: str = ""


Routed = Command | Ignored | Pong


def decode(body: bytes) -> dict:
    """Parse a JSON object body or raise :class:`BadPayload`."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise BadPayload("body: nested too deeply") from None
    except json.JSONDecodeError:
        raise BadPayload("body: not valid JSON") from None
    except ValueError:  # undecodable bytes, or an integer beyond the digit limit of int()
        raise BadPayload("body: not valid JSON (bad encoding or an integer too long)") from None
    if not isinstance(payload, dict):
        raise BadPayload("body: must be a JSON object")
    return payload


def route(event: str, delivery_id: str, payload: dict, *, own_context: str = "preview") -> Routed:
    """Decide what a webhook asks for (``own_context``: the status context previewbot writes)."""
    if event == "ping":
        zen = payload.get("zen")
        return Pong(zen if isinstance(zen, str) else "")
    handler = _HANDLERS.get(event)
    if handler is None:
        return Ignored(f"event '{event}' is not handled")
    return handler(delivery_id, payload, own_context)


def _repo(payload: dict) -> str:
    return repo_name(get(payload, "repository.full_name"), "repository.full_name")


def _installation(payload: dict) -> int | None:
    if payload.get("installation") is None:
        return None
    obj(payload, "installation")
    return integer(get(payload, "installation.id"), "installation.id", MAX_ID)


def _action(payload: dict) -> str:
    return token(get(payload, "action"), "action")


def _items(container: dict, key: str, path: str) -> list[dict]:
    """The objects of an optional array (missing or ``null``: none)."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{path}: must be an array")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadPayload(f"{path}.{index}: must be an object")
    return value


def _pull_request(delivery: str, payload: dict, _context: str) -> Routed:
    action = _action(payload)
    if action in SYNC_ACTIONS:
        kind = CommandKind.SYNC
    elif action in TEARDOWN_ACTIONS:
        kind = CommandKind.TEARDOWN
    else:
        return Ignored(f"pull_request action '{action}' needs no preview change")
    number = integer(get(payload, "pull_request.number"), "pull_request.number")
    head = sha(get(payload, "pull_request.head.sha"), "pull_request.head.sha")
    return Command(kind, _repo(payload), number, _installation(payload), head, delivery, "pull_request", action)


def _issue_comment(delivery: str, payload: dict, _context: str) -> Routed:
    action = _action(payload)
    if action != "created":
        return Ignored(f"issue_comment action '{action}' is not a new command")
    if "pull_request" not in obj(payload, "issue"):
        return Ignored("comment on an issue, not a pull request")
    comment = obj(payload, "comment")
    body = comment.get("body")
    if body is not None and not isinstance(body, str):
        raise BadPayload("comment.body: must be a string")
    user = obj(payload, "comment.user")
    author = login(get(payload, "comment.user.login"), "comment.user.login")
    lines = (body or "").strip().splitlines()
    first = lines[0].strip() if lines else ""
    if first != COMMAND_PREFIX and not first.startswith(COMMAND_PREFIX + " "):
        return Ignored("comment is not a /preview command")
    if user.get("type") == "Bot" or author.endswith("[bot]"):
        return Ignored("comment by a bot")
    if not first.isprintable():
        return Ignored("command contains control or invisible characters")
    return Command(
        CommandKind.COMMAND,
        _repo(payload),
        integer(get(payload, "issue.number"), "issue.number"),
        _installation(payload),
        None,
        delivery,
        "issue_comment",
        action,
        comment_id=integer(get(payload, "comment.id"), "comment.id", MAX_ID),
        author=author,
        text=first[:MAX_COMMAND_TEXT],
        created_at=timestamp(get(payload, "comment.created_at"), "comment.created_at"),
    )


def _check(delivery: str, payload: dict, _context: str, key: str) -> Routed:
    action = _action(payload)
    if action != "completed":
        return Ignored(f"{key} action '{action}' does not finish a check")
    check = obj(payload, key)
    head = sha(get(payload, f"{key}.head_sha"), f"{key}.head_sha")
    path = f"{key}.pull_requests"
    prs = _items(check, "pull_requests", path)
    numbers = [integer(pr.get("number"), f"{path}.{i}.number") for i, pr in enumerate(prs)]
    number = numbers[0] if numbers else 0
    kind = CommandKind.SYNC if number else CommandKind.CHECKS
    return Command(kind, _repo(payload), number, _installation(payload), head, delivery, key, action)


def _status(delivery: str, payload: dict, own_context: str) -> Routed:
    if payload.get("context") == own_context:
        return Ignored("previewbot's own status")
    state = token(get(payload, "state"), "state")
    if state not in FINAL_STATUS_STATES:
        return Ignored(f"status state '{state}' decides nothing yet")
    head = sha(get(payload, "sha"), "sha")
    return Command(CommandKind.CHECKS, _repo(payload), 0, _installation(payload), head, delivery, "status", state)


def _installation_event(delivery: str, payload: dict, _context: str) -> Routed:
    action = _action(payload)
    if action == "deleted":
        key = "repositories"
    elif action == "removed":
        key = "repositories_removed"
    else:
        return Ignored(f"installation action '{action}' needs no preview change")
    repos = _items(payload, key, key)
    names = sorted({repo_name(r.get("full_name"), f"{key}.{i}.full_name") for i, r in enumerate(repos)})
    if not names:
        return Ignored("no repositories named")
    installation = _installation(payload)
    return Command(CommandKind.PURGE, ",".join(names), 0, installation, None, delivery, "installation", action)


_HANDLERS: dict[str, Callable[[str, dict, str], Routed]] = {
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "check_run": lambda d, p, c: _check(d, p, c, "check_run"),
    "check_suite": lambda d, p, c: _check(d, p, c, "check_suite"),
    "status": _status,
    "installation": _installation_event,
    "installation_repositories": _installation_event,
}

#: Every event previewbot acts on; anything else is answered ``ignored``.
HANDLED_EVENTS = frozenset({"ping", *_HANDLERS})
