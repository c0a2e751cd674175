"""The intake's answers to hostile bodies and headers, in-process with a recording queue."""

from __future__ import annotations

import io
import json
import uuid
from typing import IO

import pytest
from flask.testing import FlaskClient

from app import create_app
from app.intake import CHUNK, MAX_BODY
from preview.settings import load
from tests.helpers import EXAMPLES
from tests.helpers import RecordingQueue as Recorder
from webhooks.signature import sign

SECRET = "payload-secret"


class LazyBody(io.RawIOBase):
    """A body of ``size`` bytes made on demand; counts what the server read."""

    def __init__(self, size: int, fill: bytes = b"x", fail_after: int | None = None) -> None:
        self.size, self.fill, self.fail_after, self.served = size, fill, fail_after, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.served >= self.fail_after:
            raise RuntimeError("broken chunk")
        n = min(len(buffer), self.size - self.served)
        buffer[:n] = self.fill * n
        self.served += n
        return n


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> FlaskClient:
    settings = load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET})
    return create_app(settings, recorder).test_client()


def post(client: FlaskClient, event: str, body: bytes, *, delivery: str | None = None, **headers: str):
    sent = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, SECRET),
        "Content-Type": "application/json",
        **headers,
    }
    return client.post("/webhooks/github", data=body, headers=sent)


def post_chunked(client: FlaskClient, stream: IO[bytes], **headers: str):
    """Like a chunked request through gunicorn: no Content-Length, and the server ends the stream."""
    environ = {"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}
    sent = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d", "Content-Type": "application/json", **headers}
    return client.post("/webhooks/github", headers=sent, environ_overrides=environ)


def opened() -> dict:
    return json.loads((EXAMPLES / "pull_request.opened.json").read_text())


def test_a_well_formed_delivery_is_queued(client: FlaskClient, recorder: Recorder) -> None:
    response = post(client, "pull_request", json.dumps(opened()).encode())
    assert (response.status_code, response.json["result"]) == (202, "queued")
    assert len(recorder.commands) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body: nested too deeply"),
        (b'{"action": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "body: nested too deeply"),
        (b'{"action": "opened", "pull_request": {"number": ' + b"9" * 5000 + b"}}", "body: not valid JSON"),
        (b'{"action": "opened"', "body: not valid JSON"),
        (b"\xff\xfe\x00", "body: not valid JSON"),
        (b"[]", "body: must be a JSON object"),
        (b"", "body: not valid JSON"),
    ],
)
def test_undecodable_bodies_are_400(client: FlaskClient, recorder: Recorder, body: bytes, message: str) -> None:
    response = post(client, "pull_request", body)
    assert response.status_code == 400
    assert response.json["result"] == "bad-payload"
    assert response.json["message"].startswith(message)
    assert recorder.commands == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.update(action=["opened"]), "action"),
        (lambda p: p.update(action={"opened": 1}), "action"),
        (lambda p: p.update(action=3), "action"),
        (lambda p: p.update(repository=["Codertocat/Hello-World"]), "repository"),
        (lambda p: p["repository"].update(full_name="Codertocat/Hello\u202eWorld"), "repository.full_name"),
        (lambda p: p["repository"].update(full_name="Codertocat/Hello\x00"), "repository.full_name"),
        (lambda p: p["pull_request"].update(number=10**40), "pull_request.number"),
        (
            lambda p: p["pull_request"]["head"].update(sha="EC26C3E57CA3A959CA5AAD62DE7213C562F8C821"),
            "pull_request.head.sha",
        ),
    ],
)
def test_malformed_fields_are_400_naming_the_field(client: FlaskClient, recorder: Recorder, change, field) -> None:
    payload = opened()
    change(payload)
    response = post(client, "pull_request", json.dumps(payload).encode())
    assert response.status_code == 400
    assert response.json == {"result": "bad-payload", "message": response.json["message"]}
    assert response.json["message"].startswith(f"{field}: ")
    assert recorder.commands == []


@pytest.mark.parametrize(
    ("event", "delivery", "field"),
    [("Pull-Request", "d", "X-GitHub-Event"), ("pull_request", "not printable\u00e9", "X-GitHub-Delivery")],
)
def test_bad_headers_are_400(client: FlaskClient, recorder: Recorder, event: str, delivery: str, field: str) -> None:
    response = post(client, event, json.dumps(opened()).encode(), delivery=delivery)
    assert (response.status_code, response.json["result"]) == (400, "bad-headers")
    assert response.json["message"].startswith(f"{field}: ")
    assert recorder.commands == []


def test_a_declared_oversized_body_is_refused_unread(client: FlaskClient) -> None:
    stream = LazyBody(MAX_BODY + 1)
    response = client.post(
        "/webhooks/github",
        headers={"Content-Length": str(MAX_BODY + 1), "X-GitHub-Event": "ping"},
        environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": str(MAX_BODY + 1)},
    )
    assert (response.status_code, response.json["result"]) == (413, "too-large")
    assert stream.served == 0


def test_a_chunked_body_stops_being_read_at_the_limit(client: FlaskClient) -> None:
    stream = LazyBody(100 * 1024 * 1024)
    response = post_chunked(client, stream)
    assert (response.status_code, response.json["result"]) == (413, "too-large")
    assert MAX_BODY < stream.served <= MAX_BODY + CHUNK


def test_a_chunked_body_of_exactly_the_limit_is_accepted(client: FlaskClient) -> None:
    head, tail = b'{"zen": "', b'"}'
    body = head + b" " * (MAX_BODY - len(head) - len(tail)) + tail
    response = post_chunked(client, io.BytesIO(body), **{"X-Hub-Signature-256": sign(body, SECRET)})
    assert (response.status_code, response.json["result"]) == (200, "pong")


def test_a_body_that_breaks_off_is_400(client: FlaskClient, recorder: Recorder) -> None:
    response = post_chunked(client, LazyBody(10 * CHUNK, fail_after=2 * CHUNK))
    assert (response.status_code, response.json["result"]) == (400, "bad-body")
    assert recorder.commands == []
