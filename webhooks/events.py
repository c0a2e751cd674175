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
FINAL_STATUS_STATES = frozenset({"success", "failure", "error"})
COMMAND_PREFIX = "/preview"
MAX_COMMAND_TEXT = 200


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


def _field(payload: dict, *path: str, kind: type | tuple[type, ...] = object) -> object:
    node: object = payload
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise BadPayload(f"payload lacks {'.'.join(path)}")
        node = node[key]
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        raise BadPayload(f"{'.'.join(path)} has the wrong type")
    return node


def _repo(payload: dict) -> str:
    repo = _field(payload, "repository", "full_name", kind=str)
    if "/" not in repo:  # type: ignore[operator]
        raise BadPayload("repository.full_name must be 'owner/name'")
    return repo  # type: ignore[return-value]


def _installation(payload: dict) -> int | None:
    installation = payload.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return installation["id"]
    return None


def _is_bot(user: object) -> bool:
    if not isinstance(user, dict):
        return True
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def route(event: str, delivery_id: str, payload: dict, *, own_context: str = "preview") -> Routed:
    """Decide what a webhook asks for (``own_context``: the status context previewbot writes)."""
    if event == "ping":
        return Pong(str(payload.get("zen", "")))
    handler = _HANDLERS.get(event)
    if handler is None:
        return Ignored(f"event '{event}' is not handled")
    return handler(delivery_id, payload, own_context)


def _pull_request(delivery: str, payload: dict, _context: str) -> Routed:
    action = payload.get("action")
    if action in SYNC_ACTIONS:
        kind = CommandKind.SYNC
    elif action in TEARDOWN_ACTIONS:
        kind = CommandKind.TEARDOWN
    else:
        return Ignored(f"pull_request action '{action}' needs no preview change")
    number = _field(payload, "pull_request", "number", kind=int)
    if number < 1:  # type: ignore[operator]
        raise BadPayload("pull_request.number must be a positive integer")
    sha = _field(payload, "pull_request", "head", "sha", kind=str)
    return Command(kind, _repo(payload), number, _installation(payload), sha, delivery, "pull_request", str(action))  # type: ignore[arg-type]


def _issue_comment(delivery: str, payload: dict, _context: str) -> Routed:
    if payload.get("action") != "created":
        return Ignored(f"issue_comment action '{payload.get('action')}' is not a new command")
    issue = _field(payload, "issue", kind=dict)
    if "pull_request" not in issue:  # type: ignore[operator]
        return Ignored("comment on an issue, not a pull request")
    comment = _field(payload, "comment", kind=dict)
    body = str(comment.get("body") or "").strip()  # type: ignore[union-attr]
    first = body.splitlines()[0].strip() if body else ""
    if first != COMMAND_PREFIX and not first.startswith(COMMAND_PREFIX + " "):
        return Ignored("comment is not a /preview command")
    if _is_bot(comment.get("user")):  # type: ignore[union-attr]
        return Ignored("comment by a bot")
    return Command(
        CommandKind.COMMAND,
        _repo(payload),
        _field(payload, "issue", "number", kind=int),  # type: ignore[arg-type]
        _installation(payload),
        None,
        delivery,
        "issue_comment",
        "created",
        comment_id=_field(payload, "comment", "id", kind=int),  # type: ignore[arg-type]
        author=str(comment["user"]["login"]),  # type: ignore[index]
        text=first[:MAX_COMMAND_TEXT],
    )


def _check(delivery: str, payload: dict, _context: str, key: str) -> Routed:
    if payload.get("action") != "completed":
        return Ignored(f"{key} action '{payload.get('action')}' does not finish a check")
    check = _field(payload, key, kind=dict)
    sha = _field(payload, key, "head_sha", kind=str)
    prs = [p for p in check.get("pull_requests") or () if isinstance(p, dict) and isinstance(p.get("number"), int)]  # type: ignore[union-attr]
    number = prs[0]["number"] if prs else 0
    kind = CommandKind.SYNC if number else CommandKind.CHECKS
    return Command(kind, _repo(payload), number, _installation(payload), sha, delivery, key, "completed")  # type: ignore[arg-type]


def _status(delivery: str, payload: dict, own_context: str) -> Routed:
    if payload.get("context") == own_context:
        return Ignored("previewbot's own status")
    state = payload.get("state")
    if state not in FINAL_STATUS_STATES:
        return Ignored(f"status state '{state}' decides nothing yet")
    sha = _field(payload, "sha", kind=str)
    return Command(CommandKind.CHECKS, _repo(payload), 0, _installation(payload), sha, delivery, "status", str(state))  # type: ignore[arg-type]


def _installation_event(delivery: str, payload: dict, _context: str) -> Routed:
    action = payload.get("action")
    if action == "deleted":
        repos = payload.get("repositories") or ()
    elif action == "removed":
        repos = payload.get("repositories_removed") or ()
    else:
        return Ignored(f"installation action '{action}' needs no preview change")
    names = sorted(r["full_name"] for r in repos if isinstance(r, dict) and isinstance(r.get("full_name"), str))
    if not names:
        return Ignored("no repositories named")
    return Command(
        CommandKind.PURGE, ",".join(names), 0, _installation(payload), None, delivery, "installation", str(action)
    )


_HANDLERS = {
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "check_run": lambda d, p, c: _check(d, p, c, "check_run"),
    "check_suite": lambda d, p, c: _check(d, p, c, "check_suite"),
    "status": _status,
    "installation": _installation_event,
    "installation_repositories": _installation_event,
}
