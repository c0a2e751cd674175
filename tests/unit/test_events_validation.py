"""Every value that reaches a command is checked; a malformed payload is refused naming its field."""

from __future__ import annotations

import json

import pytest

from preview.models import Command, Ignored
from tests.helpers import EXAMPLES
from webhooks.events import BadPayload, route
from webhooks.validate import header_problem


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def command_comment(**comment: object) -> dict:
    payload = example("derived/issue_comment.created.on-pull-request.DERIVED.json")
    payload["comment"].update({"body": "/preview approve", **comment})
    payload["comment"]["user"].update(login="maintainer", type="User")
    return payload


def set_path(payload: dict, path: str, value: object) -> dict:
    *parents, last = path.split(".")
    node = payload
    for key in parents:
        node = node[key]
    node[last] = value
    return payload


def refused(event: str, payload: dict) -> str:
    with pytest.raises(BadPayload) as info:
        route(event, "d", payload)
    return str(info.value)


def test_command_carries_the_comment_creation_time() -> None:
    payload = command_comment(created_at="2026-11-23T10:00:00Z")
    routed = route("issue_comment", "d", payload)
    assert isinstance(routed, Command)
    assert routed.created_at == "2026-11-23T10:00:00Z"
    message = routed.as_message()
    assert message["created_at"] == "2026-11-23T10:00:00Z"
    assert set(message) == {"repo", "number", "installation_id", "sha", "delivery_id"} | {
        "comment_id",
        "author",
        "text",
        "created_at",
    }


def test_other_messages_do_not_carry_a_creation_time() -> None:
    routed = route("pull_request", "d", example("pull_request.opened.json"))
    assert isinstance(routed, Command)
    assert "created_at" not in routed.as_message()


@pytest.mark.parametrize(
    "value",
    ["2026-11-23T10:00:00", "2026-11-23 10:00:00Z", "2026-02-30T10:00:00Z", "2026-11-23T10:00:00+01:00", "", 1, None],
)
def test_creation_time_must_be_a_utc_timestamp(value: object) -> None:
    assert refused("issue_comment", command_comment(created_at=value)).startswith("comment.created_at: ")


@pytest.mark.parametrize(
    ("event", "name", "path", "value", "field"),
    [
        ("pull_request", "pull_request.opened.json", "action", ["opened"], "action"),
        ("pull_request", "pull_request.opened.json", "action", {"a": 1}, "action"),
        ("pull_request", "pull_request.opened.json", "action", 7, "action"),
        ("pull_request", "pull_request.opened.json", "repository", "Codertocat/Hello-World", "repository"),
        ("pull_request", "pull_request.opened.json", "repository", ["x"], "repository"),
        ("pull_request", "pull_request.opened.json", "pull_request.number", 0, "pull_request.number"),
        ("pull_request", "pull_request.opened.json", "pull_request.number", 2**31, "pull_request.number"),
        ("pull_request", "pull_request.opened.json", "pull_request.number", 2.0, "pull_request.number"),
        ("pull_request", "pull_request.opened.json", "pull_request.number", True, "pull_request.number"),
        ("pull_request", "pull_request.opened.json", "pull_request.head.sha", "A" * 40, "pull_request.head.sha"),
        ("pull_request", "pull_request.opened.json", "pull_request.head.sha", "a" * 39, "pull_request.head.sha"),
        ("pull_request", "pull_request.opened.json", "pull_request.head", "main", "pull_request.head"),
        ("pull_request", "pull_request.opened.json", "installation", 5, "installation"),
        ("pull_request", "pull_request.opened.json", "installation.id", -1, "installation.id"),
        ("pull_request", "pull_request.opened.json", "installation.id", 2**63, "installation.id"),
        ("issue_comment", "", "issue.number", "2", "issue.number"),
        ("issue_comment", "", "comment.user", "maintainer", "comment.user"),
        ("issue_comment", "", "comment.user.login", None, "comment.user.login"),
        ("issue_comment", "", "comment.user.login", "-dash", "comment.user.login"),
        ("issue_comment", "", "comment.user.login", "a" * 40, "comment.user.login"),
        ("issue_comment", "", "comment.user.login", "evil\u202euser", "comment.user.login"),
        ("issue_comment", "", "comment.id", 2**63, "comment.id"),
        ("issue_comment", "", "comment.body", ["/preview"], "comment.body"),
        ("check_run", "check_run.completed.json", "check_run.pull_requests", {"number": 1}, "check_run.pull_requests"),
        ("check_run", "check_run.completed.json", "check_run.pull_requests", [7], "check_run.pull_requests.0"),
        ("status", "status.json", "state", ["success"], "state"),
        ("installation", "installation.deleted.json", "repositories", 1, "repositories"),
    ],
)
def test_malformed_values_are_named(event: str, name: str, path: str, value: object, field: str) -> None:
    payload = example(name) if name else command_comment()
    if event == "status":
        payload["state"] = "success"
    message = refused(event, set_path(payload, path, value))
    assert message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    "full_name",
    [
        "no-slash",
        "a/b/c",
        "-owner/name",
        "o" * 40 + "/name",
        "owner/" + "n" * 101,
        "owner/.",
        "owner/..",
        "owner/",
        "/name",
        "own er/name",
        "owner/na\x00me",
        "owner/name\u202e",
        "owner/n\u00e4me",
        "owner/name\n",
    ],
)
def test_repository_names_follow_githubs_syntax(full_name: str) -> None:
    payload = example("pull_request.opened.json")
    payload["repository"]["full_name"] = full_name
    assert refused("pull_request", payload).startswith("repository.full_name: ")


@pytest.mark.parametrize("full_name", ["a/b", "o" * 39 + "/" + "n" * 100, "Code-r2/.github", "x/..a", "x/a.b_c-d"])
def test_valid_repository_names_pass(full_name: str) -> None:
    payload = example("pull_request.opened.json")
    payload["repository"]["full_name"] = full_name
    routed = route("pull_request", "d", payload)
    assert isinstance(routed, Command) and routed.repo == full_name


def test_a_purge_names_only_valid_repositories() -> None:
    payload = example("installation_repositories.removed.json")
    payload["repositories_removed"].append({"full_name": "evil/a,b/c"})
    assert refused("installation_repositories", payload).startswith("repositories_removed.1.full_name: ")


def test_bot_logins_with_the_bot_suffix_are_valid_and_ignored() -> None:
    payload = command_comment()
    payload["comment"]["user"].update(login="dependabot[bot]", type="Bot")
    routed = route("issue_comment", "d", payload)
    assert isinstance(routed, Ignored) and "bot" in routed.reason


def test_commands_with_invisible_characters_are_ignored() -> None:
    routed = route("issue_comment", "d", command_comment(body="/preview approve\u202e"))
    assert isinstance(routed, Ignored)


def test_messages_never_repeat_the_value() -> None:
    payload = example("pull_request.opened.json")
    payload["repository"]["full_name"] = 'x"}<script>/y'
    assert "script" not in refused("pull_request", payload)


@pytest.mark.parametrize(
    ("event", "delivery", "problem"),
    [
        ("pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", None),
        ("", "d", "X-GitHub-Event"),
        ("Pull_Request", "d", "X-GitHub-Event"),
        ("x" * 65, "d", "X-GitHub-Event"),
        ('x"} 1\nfake_metric 1', "d", "X-GitHub-Event"),
        ("push", "", "X-GitHub-Delivery"),
        ("push", "a b", "X-GitHub-Delivery"),
        ("push", "d\x00", "X-GitHub-Delivery"),
        ("push", "d\u00e9", "X-GitHub-Delivery"),
        ("push", "d" * 101, "X-GitHub-Delivery"),
    ],
)
def test_headers_are_checked(event: str, delivery: str, problem: str | None) -> None:
    found = header_problem(event, delivery)
    assert (found.split(":")[0] if found else None) == problem


def test_every_official_example_routes_without_error() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        event = path.name.split(".")[0]
        routed = route(event, "d", json.loads(path.read_text()))
        assert routed is not None, path.name
