"""Validation rules for queued commands, written independently of ``webhooks.validate``.

The fuzz test re-checks every command the intake queues with :func:`check_command`.
"""

from __future__ import annotations

import json
import string
from datetime import datetime

import pytest

from preview.models import Command, CommandKind


def positive_below(value: object, bound: int) -> bool:
    return type(value) is int and 0 < value < bound


def is_repo(value: str) -> bool:
    parts = value.split("/")
    if len(parts) != 2:
        return False
    owner, name = parts
    owner_ok = (
        1 <= len(owner) <= 39
        and not owner.startswith("-")
        and set(owner) <= set(string.ascii_letters + string.digits + "-")
    )
    name_ok = (
        1 <= len(name) <= 100
        and name not in (".", "..")
        and set(name) <= set(string.ascii_letters + string.digits + "._-")
    )
    return owner_ok and name_ok


def is_login(value: str) -> bool:
    base = value[: -len("[bot]")] if value.endswith("[bot]") else value
    return (
        1 <= len(base) <= 39
        and not base.startswith("-")
        and set(base) <= set(string.ascii_letters + string.digits + "-")
    )


def is_sha(value: object) -> bool:
    return isinstance(value, str) and len(value) == 40 and set(value) <= set("0123456789abcdef")


def is_utc_time(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return value.endswith("Z") and len(value) == 20 and parsed.strftime("%Y-%m-%dT%H:%M:%SZ") == value


def check_command(command: Command, delivery: str) -> None:
    """Assert that a queued command obeys every rule."""
    assert command.delivery_id == delivery
    assert 1 <= len(delivery) <= 100 and all(33 <= ord(c) <= 126 for c in delivery)
    repos = command.repo.split(",") if command.kind is CommandKind.PURGE else [command.repo]
    assert all(is_repo(r) for r in repos), command.repo
    assert command.installation_id is None or positive_below(command.installation_id, 2**63)
    if command.kind in (CommandKind.SYNC, CommandKind.TEARDOWN, CommandKind.COMMAND):
        assert positive_below(command.number, 2**31)
    else:
        assert command.number == 0
    if command.kind in (CommandKind.SYNC, CommandKind.TEARDOWN, CommandKind.CHECKS):
        assert is_sha(command.sha)
    else:
        assert command.sha is None
    if command.kind is CommandKind.COMMAND:
        assert positive_below(command.comment_id, 2**63)
        assert is_login(command.author) and not command.author.endswith("[bot]")
        assert is_utc_time(command.created_at)
        assert command.text.startswith("/preview") and command.text.isprintable() and len(command.text) <= 200
    json.dumps(command.as_message())


@pytest.mark.parametrize(
    ("value", "ok"),
    [("a/b", True), ("Codertocat/Hello-World", True), ("a/.b", True), ("a/.", False), ("-a/b", False),
     ("a/b/c", False), ("o" * 40 + "/b", False), ("a/" + "n" * 101, False), ("a/b\u202e", False), ("a/b\x00", False)],
)  # fmt: skip
def test_repository_rule(value: str, ok: bool) -> None:
    assert is_repo(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("octocat", True), ("dependabot[bot]", True), ("a" * 39, True), ("a" * 40, False), ("-a", False),
     ("a.b", False), ("a[bot]x", False), ("", False)],
)  # fmt: skip
def test_login_rule(value: str, ok: bool) -> None:
    assert is_login(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2026-11-23T10:00:00Z", True), ("2026-11-23T10:00:00", False), ("2026-11-23T10:00:00+00:00", False),
     ("2026-02-30T10:00:00Z", False), ("2026-11-23T10:00:00.5Z", False)],
)  # fmt: skip
def test_time_rule(value: str, ok: bool) -> None:
    assert is_utc_time(value) is ok


def test_a_command_breaking_a_rule_is_caught() -> None:
    good = Command(CommandKind.SYNC, "a/b", 1, None, "0" * 40, "d-1")
    check_command(good, "d-1")
    for bad in (
        Command(CommandKind.SYNC, "a/b", 2**31, None, "0" * 40, "d-1"),
        Command(CommandKind.SYNC, "a/b", 1, None, "A" * 40, "d-1"),
        Command(CommandKind.PURGE, "a/b,-c/d", 0, None, None, "d-1"),
        Command(
            CommandKind.COMMAND, "a/b", 1, 1, None, "d-1", comment_id=1, author="x", text="/preview", created_at=""
        ),
    ):
        with pytest.raises(AssertionError):
            check_command(bad, "d-1")
