"""Syntax rules for every value the intake reads from a webhook or puts into a command.

Each check returns the value or raises :class:`BadPayload` with ``"<field>: <why>"``; no message
ever repeats the offending value, so nothing a caller sent is echoed back.
"""

from __future__ import annotations

import re
from datetime import datetime

from preview.naming import FULL_SHA, REPO_NAME, REPO_OWNER

#: Pull request and issue numbers, and most GitHub ids, are 32-bit signed.
MAX_NUMBER = 2**31
#: Comment and installation ids are 64-bit signed.
MAX_ID = 2**63

_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_TOKEN = re.compile(r"[a-z_]{1,64}")
_DELIVERY = re.compile(r"[\x21-\x7e]{1,100}")


class BadPayload(ValueError):
    """The body is not a usable webhook payload; the message is ``"<field>: <why>"``."""


def get(payload: dict, path: str) -> object:
    """The value at dotted ``path``; every step on the way must be a JSON object holding the key."""
    node: object = payload
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(node, dict):
            raise BadPayload(f"{'.'.join(walked)}: must be an object")
        walked.append(key)
        if key not in node:
            raise BadPayload(f"{path}: missing")
        node = node[key]
    return node


def obj(payload: dict, path: str) -> dict:
    """The JSON object at ``path``."""
    value = get(payload, path)
    if not isinstance(value, dict):
        raise BadPayload(f"{path}: must be an object")
    return value


def integer(value: object, path: str, upper: int = MAX_NUMBER) -> int:
    """A positive JSON integer below ``upper``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadPayload(f"{path}: must be an integer")
    if not 0 < value < upper:
        raise BadPayload(f"{path}: must be between 1 and {upper - 1}")
    return value


def token(value: object, path: str) -> str:
    """A short lower-case word such as an action or a status state."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise BadPayload(f"{path}: must be 1-64 characters of a-z and _")
    return value


def repo_name(value: object, path: str) -> str:
    """``owner/name`` as GitHub allows it."""
    if not isinstance(value, str):
        raise BadPayload(f"{path}: must be a string")
    owner, slash, name = value.partition("/")
    if not slash or not REPO_OWNER.fullmatch(owner):
        raise BadPayload(f"{path}: owner must be 1-39 characters of A-Z, a-z, 0-9 and -, not starting with -")
    if not REPO_NAME.fullmatch(name) or name in {".", ".."}:
        raise BadPayload(f"{path}: name must be 1-100 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
    return value


def sha(value: object, path: str) -> str:
    """A full commit SHA: 40 lower-case hex digits."""
    if not isinstance(value, str) or not FULL_SHA.fullmatch(value):
        raise BadPayload(f"{path}: must be 40 lower-case hex digits")
    return value


def login(value: object, path: str) -> str:
    """A GitHub user or app login (``name[bot]`` for apps)."""
    if not isinstance(value, str) or not _LOGIN.fullmatch(value):
        raise BadPayload(f"{path}: must be a GitHub login (1-39 characters of A-Z, a-z, 0-9 and -)")
    return value


def timestamp(value: object, path: str) -> str:
    """An ISO-8601 UTC time as GitHub writes it: ``2026-11-23T10:00:00Z``."""
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        try:
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            return value
        except ValueError:
            pass
    raise BadPayload(f"{path}: must be a UTC time like 2026-11-23T10:00:00Z")


def header_problem(event: str, delivery: str) -> str | None:
    """Why the ``X-GitHub-Event`` / ``X-GitHub-Delivery`` pair is unusable, or None."""
    if not _TOKEN.fullmatch(event):
        return "X-GitHub-Event: must be 1-64 characters of a-z and _"
    if not _DELIVERY.fullmatch(delivery):
        return "X-GitHub-Delivery: must be 1-100 printable ASCII characters"
    return None
