"""``POST /webhooks/github``: verify, parse, one Redis round trip, answer."""

from __future__ import annotations

import logging
from typing import Protocol

from flask import Blueprint, Response, current_app, jsonify, request

from app.metrics import Metrics
from preview.models import Command, Ignored
from webhooks.events import BadPayload, Pong, decode, route
from webhooks.signature import verify
from workers.enqueue import QueueUnavailable

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024

bp = Blueprint("intake", __name__)


class Submitter(Protocol):
    def submit(self, command: Command) -> bool: ...


def _answer(status: int, result: str, message: str, event: str, **extra: object) -> tuple[Response, int]:
    metrics: Metrics = current_app.extensions["previewbot.metrics"]
    metrics.webhook(event, result)
    return jsonify(result=result, message=message, **extra), status


@bp.post("/webhooks/github")
def github_webhook() -> tuple[Response, int]:
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, "too-large", "payload larger than 25 MB", event)
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return _answer(413, "too-large", "payload larger than 25 MB", event)
    secrets = current_app.extensions["previewbot.secrets"]
    if not verify(body, request.headers.get("X-Hub-Signature-256"), secrets):
        return _answer(401, "bad-signature", "missing or invalid X-Hub-Signature-256", event)
    if not event or not delivery:
        return _answer(400, "bad-headers", "X-GitHub-Event and X-GitHub-Delivery are required", event)
    if not (request.mimetype or "").endswith("json"):
        return _answer(415, "unsupported-media-type", "send webhooks with content type application/json", event)
    try:
        context = current_app.extensions["previewbot.settings"].status_context
        routed = route(event, delivery, decode(body), own_context=context)
    except BadPayload as exc:
        return _answer(400, "bad-payload", str(exc), event)
    if isinstance(routed, Pong):
        return _answer(200, "pong", "pong", event)
    if isinstance(routed, Ignored):
        return _answer(202, "ignored", routed.reason, event)
    extra = {"delivery": delivery, "event": event, "repo": routed.repo, "pr": routed.number, "sha": routed.sha}
    submitter: Submitter = current_app.extensions["previewbot.submitter"]
    try:
        fresh = submitter.submit(routed)
    except QueueUnavailable as exc:
        log.error("queue unavailable: %s", exc, extra=extra)
        return _answer(503, "unavailable", "queue unavailable; redeliver later", event)
    if not fresh:
        log.info("duplicate delivery", extra=extra)
        return _answer(200, "duplicate", "delivery already handled", event)
    log.info("queued %s", routed.kind, extra=extra)
    return _answer(202, "queued", f"{routed.kind} queued", event, command=str(routed.kind))
