"""/metrics label values come from fixed sets: callers can add to counts, never create series."""

from __future__ import annotations

import json
import random
import re
import uuid

import pytest
from flask.testing import FlaskClient

from app import create_app
from preview.settings import load
from tests.helpers import EXAMPLES
from tests.helpers import RecordingQueue as Recorder
from webhooks.signature import sign

SECRET = "metrics-secret"
FORGED = 'x"} 1\nfake_metric 1'
EVENTS = {
    "pull_request",
    "issue_comment",
    "check_run",
    "check_suite",
    "status",
    "installation",
    "installation_repositories",
    "ping",
    "other",
}
RESULTS = {
    "queued",
    "duplicate",
    "ignored",
    "pong",
    "bad-body",
    "too-large",
    "bad-signature",
    "bad-headers",
    "unsupported-media-type",
    "bad-payload",
    "unavailable",
}
# prometheus_client writes counts as floats ("3.0")
SERIES = re.compile(r'previewbot_webhooks_total\{event="([a-z_]+)",result="([a-z-]+)"\} [0-9]+\.0')


@pytest.fixture
def client() -> FlaskClient:
    return create_app(load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET}), Recorder()).test_client()


def series(client: FlaskClient) -> set[tuple[str, str]]:
    """The (event, result) series in /metrics; every sample line must be well-formed."""
    found = set()
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("#"):
            continue
        match = SERIES.fullmatch(line)
        assert match, f"malformed sample line {line!r}"
        found.add((match[1], match[2]))
    assert {event for event, _ in found} <= EVENTS
    assert {result for _, result in found} <= RESULTS
    return found


def random_text(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz_-\"'{}\\ =/0123456789\x00\x7f\u202e\u00e9\u4e2d"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def test_unsigned_requests_add_no_series(client: FlaskClient) -> None:
    body = (EXAMPLES / "pull_request.opened.json").read_bytes()
    signed = {"X-Hub-Signature-256": sign(body, SECRET), "Content-Type": "application/json"}
    assert (
        client.post(
            "/webhooks/github",
            data=body,
            headers={**signed, "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-0"},
        ).status_code
        == 202
    )
    assert client.post("/webhooks/github", data=b"{}", headers={"X-GitHub-Event": "ping"}).status_code == 401
    baseline = series(client)
    rng = random.Random(20_000)
    events = [*sorted(EVENTS), "push", "", FORGED]
    for _ in range(20_000):
        event = rng.choice(events) if rng.random() < 0.2 else random_text(rng)
        headers = {
            "X-Hub-Signature-256": rng.choice(["", "sha256=" + "0" * 64, "sha1=abc", random_text(rng)]),
            "X-GitHub-Delivery": rng.choice([str(uuid.uuid4()), random_text(rng)]),
            "Content-Type": rng.choice(["application/json", "text/plain", random_text(rng)]),
        }
        response = client.post(
            "/webhooks/github",
            data=json.dumps({"action": random_text(rng)}),
            headers={k: v for k, v in headers.items() if v},
            environ_base={"HTTP_X_GITHUB_EVENT": event},
        )
        assert response.status_code == 401
    assert series(client) == baseline


def test_a_forged_event_header_never_reaches_metrics(client: FlaskClient) -> None:
    body = (EXAMPLES / "ping.json").read_bytes()
    for signature in (sign(body, SECRET), "sha256=bad"):
        response = client.post(
            "/webhooks/github",
            data=body,
            headers={"X-Hub-Signature-256": signature, "X-GitHub-Delivery": "d", "Content-Type": "application/json"},
            environ_base={"HTTP_X_GITHUB_EVENT": FORGED},
        )
        assert response.status_code in (400, 401)
        assert "fake_metric" not in response.get_data(as_text=True)
    text = client.get("/metrics").get_data(as_text=True)
    assert "fake_metric" not in text
    assert 'x"}' not in text
    assert series(client) == {("other", "bad-headers"), ("other", "bad-signature")}


def test_signed_events_previewbot_does_not_handle_count_as_other(client: FlaskClient) -> None:
    body = (EXAMPLES / "push.json").read_bytes()
    headers = {"X-Hub-Signature-256": sign(body, SECRET), "Content-Type": "application/json"}
    response = client.post(
        "/webhooks/github", data=body, headers={**headers, "X-GitHub-Event": "push", "X-GitHub-Delivery": "d"}
    )
    assert response.status_code == 202
    assert series(client) == {("other", "ignored")}
