"""The web process's wake links (app/wake.py) against a real Redis: the token, the queued wake, the redirect."""

from __future__ import annotations

import json

import pytest
import redis
from flask import Flask

from app.factory import create_app
from preview import naming, wake_link
from preview.models import CommandKind
from preview.settings import Settings
from preview.settings_values import Secret
from preview.sleep import wake_ref_key
from tests.helpers import RecordingQueue
from workers.ledger import RedisLedger

REPO = "acme/web-shop"
NS = naming.namespace_name(REPO, 7)
SHA = "a" * 40
SECRET = "wake-test-secret"
PREVIEW = "https://pr-7-web-shop.preview.test"


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def app(redis_url: str, redis_db: redis.Redis, queue: RecordingQueue) -> Flask:
    settings = Settings(
        webhook_secrets=(Secret("webhook"),),
        wake_link_secrets=(Secret("older-secret"), Secret(SECRET)),
        redis_url=redis_url,
    )
    return create_app(settings, queue)


def shown(redis_db: redis.Redis, state: str, description: str, url: str | None = None) -> None:
    """What the Reporter keeps for PR 7 (the watcher and the worker write it)."""
    ledger = RedisLedger(redis_db)
    ledger.put(wake_ref_key(NS), json.dumps([REPO, 7, 42]))
    ledger.put(f"current:preview:{REPO}:7", f"{SHA}@1.0")
    ledger.put(f"status:preview:{REPO}:{SHA}", f"{state}\x1f{description}\x1f{url or ''}")


def snapshot(redis_db: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: redis_db.dump(key) for key in sorted(redis_db.keys("*"))}


SLEEPING = "Sleeping after 24h idle: comment /preview wake or open the link"


def test_a_wrong_or_missing_token_changes_nothing(app: Flask, redis_db: redis.Redis, queue: RecordingQueue) -> None:
    shown(redis_db, "success", SLEEPING, "https://previewbot.test/wake/x")
    before = snapshot(redis_db)
    client = app.test_client()
    good = wake_link.token(SECRET, NS)
    for path in (
        f"/wake/{NS}",
        f"/wake/{NS}?token=",
        f"/wake/{NS}?token={'0' * 32}",
        f"/wake/{NS}?token={good[:-1]}",
        f"/wake/{naming.namespace_name(REPO, 8)}?token={good}",  # another preview's link
        f"/wake/{NS}/state?token={'f' * 32}",
        f"/wake/kube-system?token={wake_link.token(SECRET, 'kube-system')}",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert SECRET not in answer.get_data(as_text=True)
    assert queue.commands == []
    assert snapshot(redis_db) == before


def test_a_sleeping_preview_is_woken_once_and_the_link_redirects_when_ready(
    app: Flask, redis_db: redis.Redis, queue: RecordingQueue
) -> None:
    shown(redis_db, "success", SLEEPING, "https://previewbot.test/wake/x")
    client = app.test_client()
    link = f"/wake/{NS}?token={wake_link.token(SECRET, NS)}"
    page = client.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Waking the preview" in text and f"{NS}/state?token=" in text
    assert page.headers["Referrer-Policy"] == "no-referrer" and "nonce-" in page.headers["Content-Security-Policy"]
    [wake] = queue.commands
    assert (wake.kind, wake.repo, wake.number, wake.installation_id) == (CommandKind.WAKE, REPO, 7, 42)
    client.get(link)  # a reload: the same delivery id, so the queue takes it once
    assert {c.delivery_id for c in queue.commands} == {wake.delivery_id}

    state = client.get(f"/wake/{NS}/state?token={wake_link.token(SECRET, NS)}").get_json()
    assert state == {"state": "success", "description": SLEEPING, "ready": False, "url": None}
    shown(redis_db, "pending", "Waking up…")
    assert client.get(link).status_code == 200 and len(queue.commands) == 2  # waking: nothing more queued
    shown(redis_db, "success", "Preview ready", PREVIEW)
    state = client.get(f"/wake/{NS}/state?token={wake_link.token(SECRET, NS)}").get_json()
    assert state == {"state": "success", "description": "Preview ready", "ready": True, "url": PREVIEW}
    answer = client.get(link)
    assert answer.status_code == 303 and answer.headers["Location"] == PREVIEW
    assert len(queue.commands) == 2


def test_links_signed_under_an_older_secret_still_work(app: Flask, redis_db: redis.Redis) -> None:
    shown(redis_db, "success", "Preview ready", PREVIEW)
    answer = app.test_client().get(f"/wake/{NS}?token={wake_link.token('older-secret', NS)}")
    assert answer.status_code == 303


def test_a_link_of_a_preview_never_asleep_or_failed(app: Flask, redis_db: redis.Redis, queue: RecordingQueue) -> None:
    client = app.test_client()
    link = f"/wake/{NS}?token={wake_link.token(SECRET, NS)}"
    assert client.get(link).status_code == 404  # valid token, but nothing known about it
    shown(redis_db, "failure", "Rollout failed: CrashLoopBackOff on container web")
    answer = client.get(link)
    assert answer.status_code == 409 and "CrashLoopBackOff" in answer.get_data(as_text=True)
    assert queue.commands == []
