import json

import pytest

from preview.models import Command, CommandKind, Ignored
from tests.helpers import EXAMPLES
from webhooks.events import BadPayload, Pong, decode, route


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("pull_request.opened.json", CommandKind.SYNC),
        ("pull_request.reopened.json", CommandKind.SYNC),
        ("pull_request.synchronize.json", CommandKind.SYNC),
        ("pull_request.ready_for_review.json", CommandKind.SYNC),
        ("pull_request.converted_to_draft.json", CommandKind.SYNC),
        ("pull_request.labeled.json", CommandKind.SYNC),
        ("pull_request.unlabeled.json", CommandKind.SYNC),
        ("pull_request.closed.merged-false.json", CommandKind.TEARDOWN),
        ("derived/pull_request.closed.merged-true.DERIVED.json", CommandKind.TEARDOWN),
    ],
)
def test_pull_request_actions_route_to_commands(name: str, kind: CommandKind) -> None:
    payload = example(name)
    routed = route("pull_request", "d-1", payload)
    assert isinstance(routed, Command)
    assert routed.kind is kind
    assert routed.repo == payload["repository"]["full_name"]
    assert routed.number == payload["pull_request"]["number"]
    assert routed.sha == payload["pull_request"]["head"]["sha"]
    assert routed.delivery_id == "d-1"


def test_installation_id_is_carried() -> None:
    routed = route("pull_request", "d", example("pull_request.ready_for_review.with-installation.json"))
    assert isinstance(routed, Command)
    assert (
        routed.installation_id == example("pull_request.ready_for_review.with-installation.json")["installation"]["id"]
    )


def test_message_is_slim_plain_values() -> None:
    routed = route("pull_request", "d", example("pull_request.opened.json"))
    assert isinstance(routed, Command)
    message = routed.as_message()
    assert set(message) == {"repo", "number", "installation_id", "sha", "delivery_id"}
    assert len(json.dumps(message)) < 300


def test_ping_is_a_pong() -> None:
    assert isinstance(route("ping", "d", example("ping.json")), Pong)


@pytest.mark.parametrize(
    ("event", "name", "reason"),
    [
        ("pull_request_review", "pull_request_review.submitted.json", "event 'pull_request_review'"),
        ("push", "push.json", "event 'push'"),
        ("issue_comment", "issue_comment.created.json", "not a pull request"),
        ("installation", "installation.created.json", "action 'created'"),
        ("pull_request_review", "pull_request_review.dismissed.json", "not handled"),
    ],
)
def test_other_events_are_ignored_with_a_reason(event: str, name: str, reason: str) -> None:
    routed = route(event, "d", example(name))
    assert isinstance(routed, Ignored)
    assert reason in routed.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"\xff\xfe", "not valid JSON")],
)
def test_decode_rejects_non_objects(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        decode(body)


def test_missing_fields_are_named() -> None:
    payload = example("pull_request.opened.json")
    del payload["pull_request"]["head"]
    with pytest.raises(BadPayload, match="pull_request.head"):
        route("pull_request", "d", payload)
    payload = example("pull_request.opened.json")
    payload["pull_request"]["number"] = "2"
    with pytest.raises(BadPayload, match="pull_request.number: must be an integer"):
        route("pull_request", "d", payload)


def test_pull_request_actions_without_preview_effect_are_ignored() -> None:
    payload = example("pull_request.opened.json")
    payload["action"] = "assigned"
    routed = route("pull_request", "d", payload)
    assert isinstance(routed, Ignored)
    assert "action 'assigned'" in routed.reason


def pr_comment(body: str, **user: object) -> dict:
    payload = example("derived/issue_comment.created.on-pull-request.DERIVED.json")
    payload["comment"]["body"] = body
    payload["comment"]["user"].update(user)
    return payload


def test_preview_command_on_a_pull_request() -> None:
    payload = pr_comment("/preview approve\nthanks!", login="maintainer", type="User")
    routed = route("issue_comment", "d", payload)
    assert isinstance(routed, Command)
    assert routed.kind is CommandKind.COMMAND
    assert (routed.number, routed.author, routed.text) == (payload["issue"]["number"], "maintainer", "/preview approve")
    assert routed.comment_id == payload["comment"]["id"]
    assert routed.as_message()["text"] == "/preview approve"


@pytest.mark.parametrize(
    ("body", "user", "reason"),
    [
        ("looks good", {"type": "User"}, "not a /preview command"),
        ("/previewer", {"type": "User"}, "not a /preview command"),
        ("/preview deploy", {"type": "Bot"}, "by a bot"),
        ("/preview deploy", {"type": "User", "login": "previewbot[bot]"}, "by a bot"),
    ],
)
def test_comments_that_are_not_commands_are_ignored(body: str, user: dict, reason: str) -> None:
    routed = route("issue_comment", "d", pr_comment(body, **user))
    assert isinstance(routed, Ignored)
    assert reason in routed.reason


def test_finished_checks_resync_their_pull_request() -> None:
    payload = example("check_run.completed.json")
    routed = route("check_run", "d", payload)
    assert isinstance(routed, Command)
    assert routed.sha == payload["check_run"]["head_sha"]
    if payload["check_run"]["pull_requests"]:
        assert (routed.kind, routed.number) == (CommandKind.SYNC, payload["check_run"]["pull_requests"][0]["number"])
    payload["check_run"]["pull_requests"] = []
    routed = route("check_run", "d", payload)
    assert isinstance(routed, Command)
    assert (routed.kind, routed.number) == (CommandKind.CHECKS, 0)
    suite = route("check_suite", "d", example("check_suite.completed.json"))
    assert isinstance(suite, Command)


def test_statuses_from_ci_are_routed_but_our_own_are_not() -> None:
    payload = example("status.json")
    payload["state"] = "success"
    routed = route("status", "d", payload, own_context="preview")
    assert isinstance(routed, Command)
    assert (routed.kind, routed.sha) == (CommandKind.CHECKS, payload["sha"])
    payload["context"] = "preview"
    assert isinstance(route("status", "d", payload, own_context="preview"), Ignored)


def test_losing_repositories_purges_their_previews() -> None:
    removed = example("installation_repositories.removed.json")
    routed = route("installation_repositories", "d", removed)
    assert isinstance(routed, Command)
    assert routed.kind is CommandKind.PURGE
    assert routed.repo.split(",") == sorted(r["full_name"] for r in removed["repositories_removed"])
    deleted = route("installation", "d", example("installation.deleted.json"))
    assert isinstance(deleted, Command) and deleted.kind is CommandKind.PURGE
