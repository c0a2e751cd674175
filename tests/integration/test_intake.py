"""Webhook intake against a real Redis: answers, deduplication and queue contents."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from preview.settings import load
from tests.helpers import EXAMPLES, free_port
from webhooks.signature import sign
from workers.celery_app import QUEUE, make_celery
from workers.enqueue import Enqueuer

SECRET = "intake-secret"


def make_client(redis_url: str) -> FlaskClient:
    settings = load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": f"old,{SECRET}", "PREVIEWBOT_REDIS_URL": redis_url})
    enqueuer = Enqueuer(redis.Redis.from_url(redis_url), make_celery(settings), settings.delivery_ttl_seconds)
    return create_app(settings, enqueuer).test_client()


@pytest.fixture
def client(redis_url: str, redis_db: redis.Redis) -> FlaskClient:
    return make_client(redis_url)


def post(client: FlaskClient, event: str, body: bytes, *, delivery: str | None = None, secret: str = SECRET, **kw):
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
    }
    headers.update(kw.pop("headers", {}))
    return client.post("/webhooks/github", data=body, headers={k: v for k, v in headers.items() if v is not None})


def opened() -> bytes:
    return (EXAMPLES / "pull_request.opened.json").read_bytes()


def queued(db: redis.Redis) -> list[dict]:
    return [json.loads(m) for m in db.lrange(QUEUE, 0, -1)]


def test_opened_pr_queues_one_slim_sync(client: FlaskClient, redis_db: redis.Redis) -> None:
    response = post(client, "pull_request", opened(), delivery="d-1")
    assert response.status_code == 202
    assert response.json["result"] == "queued"
    (message,) = queued(redis_db)
    assert message["headers"]["task"] == "previewbot.sync_preview"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    payload = json.loads(opened())
    assert args == []
    assert kwargs == {
        "repo": payload["repository"]["full_name"],
        "number": payload["pull_request"]["number"],
        "installation_id": (payload.get("installation") or {}).get("id"),
        "sha": payload["pull_request"]["head"]["sha"],
        "delivery_id": "d-1",
    }
    assert redis_db.ttl("previewbot:delivery:d-1") > 0


def test_duplicate_delivery_enqueues_nothing(client: FlaskClient, redis_db: redis.Redis) -> None:
    assert post(client, "pull_request", opened(), delivery="same").status_code == 202
    again = post(client, "pull_request", opened(), delivery="same")
    assert again.status_code == 200
    assert again.json["result"] == "duplicate"
    assert len(queued(redis_db)) == 1


def test_closed_queues_teardown(client: FlaskClient, redis_db: redis.Redis) -> None:
    body = (EXAMPLES / "pull_request.closed.merged-false.json").read_bytes()
    assert post(client, "pull_request", body).status_code == 202
    assert queued(redis_db)[0]["headers"]["task"] == "previewbot.teardown_preview"


@pytest.mark.parametrize(
    ("kw", "status", "result"),
    [
        ({"secret": "wrong"}, 401, "bad-signature"),
        ({"headers": {"X-Hub-Signature-256": None}}, 401, "bad-signature"),
        ({"headers": {"X-GitHub-Delivery": None}}, 400, "bad-headers"),
        ({"headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported-media-type"),
    ],
)
def test_bad_requests_change_nothing(client, redis_db, kw, status, result) -> None:
    response = post(client, "pull_request", opened(), **kw)
    assert response.status_code == status
    assert response.json["result"] == result
    assert queued(redis_db) == []
    assert redis_db.keys("previewbot:delivery:*") == []


def test_missing_event_header_is_400(client, redis_db) -> None:
    body = opened()
    response = client.post(
        "/webhooks/github",
        data=body,
        headers={
            "X-GitHub-Delivery": "x",
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert queued(redis_db) == []


def test_malformed_json_is_400(client, redis_db) -> None:
    response = post(client, "pull_request", b"{not json")
    assert response.status_code == 400
    assert response.json["result"] == "bad-payload"
    assert queued(redis_db) == []


def test_oversized_body_is_413(client, redis_db) -> None:
    body = b" " * (25 * 1024 * 1024 + 1)
    response = client.post("/webhooks/github", data=body, headers={"X-GitHub-Event": "push"})
    assert response.status_code == 413
    assert queued(redis_db) == []


def test_ping_and_unhandled_events(client, redis_db) -> None:
    assert post(client, "ping", (EXAMPLES / "ping.json").read_bytes()).status_code == 200
    ignored = post(client, "push", (EXAMPLES / "push.json").read_bytes())
    assert ignored.status_code == 202
    assert ignored.json["result"] == "ignored"
    assert "push" in ignored.json["message"]
    assert queued(redis_db) == []


def test_redis_down_is_503_and_retriable(redis_db: redis.Redis) -> None:
    dead = make_client(f"redis://127.0.0.1:{free_port()}/0")
    response = post(dead, "pull_request", opened(), delivery="later")
    assert response.status_code == 503
    assert dead.get("/readyz").status_code == 503


def test_health_and_metrics(client, redis_db) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    post(client, "pull_request", opened())
    post(client, "pull_request", opened(), secret="bad")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'previewbot_webhooks_total{event="pull_request",result="queued"} 1' in text
    assert 'previewbot_webhooks_total{event="other",result="bad-signature"} 1' in text
