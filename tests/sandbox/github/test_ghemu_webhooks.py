"""Signed webhook deliveries whose payloads validate against the official schemas."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import INSTALLATION_ID, REPO
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from sandbox.github import GitHubEmulator, reference

SECRET = "s3cret"
REF = reference.reference_dir()
pytestmark = pytest.mark.skipif(REF is None, reason="GitHub reference material not available")


class Receiver:
    """A tiny local webhook receiver that verifies signatures."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", ""))
                outer.received.append({"headers": dict(self.headers), "body": body, "ok": ok})
                self.send_response(202 if ok else 401)
                self.end_headers()
                self.wfile.write(b"accepted" if ok else b"bad signature")

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(scope="module")
def registry() -> Registry:
    assert REF is not None
    reg: Registry = Registry()
    for path in sorted((REF / "webhooks" / "schemas" / "common").glob("*.json")):
        doc = json.loads(path.read_text())
        reg = reg.with_resource(doc["$id"], Resource.from_contents(doc))
    return reg


def schema_errors(registry: Registry, event: str, action: str | None, payload: dict) -> list[str]:
    assert REF is not None
    name = f"{action}.schema.json" if action else "event.schema.json"
    schema = json.loads(Path(REF / "webhooks" / "schemas" / event / name).read_text())
    validator = Draft7Validator(schema, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(payload)]


def _prepare(gh: GitHubEmulator) -> None:
    gh.open_pr(REPO, number=5, branch="feat", labels=["preview"], body="Adds a thing")


CASES = [
    ("pull_request", "opened", {}),
    ("pull_request", "synchronize", {}),
    ("pull_request", "labeled", {"label": "preview"}),
    ("pull_request", "unlabeled", {"label": "old"}),
    ("pull_request", "reopened", {}),
    ("pull_request", "converted_to_draft", {}),
    ("pull_request", "ready_for_review", {}),
    ("pull_request", "edited", {}),
    ("issue_comment", "created", {"body": "/preview redeploy", "sender": "alice"}),
    ("check_run", "completed", {"name": "build", "conclusion": "failure"}),
    ("check_suite", "completed", {}),
    ("status", None, {"context": "ci/build", "state": "success"}),
    ("installation", "created", {}),
    ("installation", "deleted", {}),
    ("installation_repositories", "added", {}),
    ("installation_repositories", "removed", {}),
    ("ping", None, {}),
]


@pytest.mark.parametrize(("event", "action", "extra"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_signed_delivery_valid_payload(
    gh: GitHubEmulator, receiver: Receiver, registry: Registry, event: str, action: str | None, extra: dict
) -> None:
    _prepare(gh)
    if action == "converted_to_draft":
        gh.set_draft(REPO, 5, True)
    number = 5 if event in ("pull_request", "issue_comment", "check_run", "check_suite", "status") else None
    delivery = gh.deliver(receiver.url, SECRET, event, action, REPO, number, **extra)
    assert delivery.status_code == 202 and delivery.response_body == "accepted"
    got = receiver.received[-1]
    assert got["ok"]
    headers = got["headers"]
    assert headers["X-GitHub-Event"] == event and headers["X-GitHub-Delivery"] == delivery.id
    assert headers["User-Agent"].startswith("GitHub-Hookshot/") and headers["X-GitHub-Hook-ID"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Hub-Signature"] == "sha1=" + hmac.new(SECRET.encode(), got["body"], hashlib.sha1).hexdigest()
    payload = json.loads(got["body"])
    assert payload == delivery.payload
    assert not schema_errors(registry, event, action, payload)
    if event in ("pull_request", "issue_comment", "check_run", "check_suite", "status"):
        assert payload["installation"]["id"] == INSTALLATION_ID


def test_pull_request_payload_reflects_state(gh: GitHubEmulator, registry: Registry) -> None:
    _prepare(gh)
    before = gh.pull(REPO, 5)["head"]["sha"]
    after = gh.push(REPO, 5)
    sync = gh.webhook_payload("pull_request", "synchronize", REPO, 5, before=before)
    assert sync["before"] == before and sync["after"] == after
    assert sync["pull_request"]["head"]["sha"] == after and sync["pull_request"]["head"]["ref"] == "feat"
    assert [lb["name"] for lb in sync["pull_request"]["labels"]] == ["preview"]
    gh.close_pr(REPO, 5, merged=True)
    closed = gh.webhook_payload("pull_request", "closed", REPO, 5)
    assert closed["pull_request"]["merged"] and closed["pull_request"]["state"] == "closed"
    assert not schema_errors(registry, "pull_request", "closed", closed)
    gh.open_pr(REPO, number=6, author="mallory", fork=True)
    gh.close_pr(REPO, 6)
    fork = gh.webhook_payload("pull_request", "closed", REPO, 6)
    assert fork["pull_request"]["head"]["repo"]["full_name"] == "mallory/web" and not fork["pull_request"]["merged"]
    assert fork["sender"]["login"] == "mallory"
    assert not schema_errors(registry, "pull_request", "closed", fork)


def test_redelivery_keeps_id_and_body(gh: GitHubEmulator, receiver: Receiver) -> None:
    _prepare(gh)
    first = gh.deliver(receiver.url, SECRET, "pull_request", "opened", REPO, 5, delivery_id="fixed-id-1")
    again = gh.redeliver(first.id)
    assert again.id == first.id == "fixed-id-1"
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    assert receiver.received[1]["headers"]["X-GitHub-Delivery"] == "fixed-id-1"
    assert [d.id for d in gh.deliveries] == ["fixed-id-1", "fixed-id-1"]


def test_wrong_secret_is_rejected_by_receiver(gh: GitHubEmulator, receiver: Receiver) -> None:
    _prepare(gh)
    delivery = gh.deliver(receiver.url, "other", "pull_request", "opened", REPO, 5)
    assert delivery.status_code == 401
