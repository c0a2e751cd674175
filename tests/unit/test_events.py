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
        ("issue_comment", "issue_comment.created.json", "event 'issue_comment'"),
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
    with pytest.raises(BadPayload, match="positive integer"):
        route("pull_request", "d", payload)


def test_pull_request_actions_without_preview_effect_are_ignored() -> None:
    payload = example("pull_request.opened.json")
    payload["action"] = "assigned"
    routed = route("pull_request", "d", payload)
    assert isinstance(routed, Ignored)
    assert "action 'assigned'" in routed.reason
