"""``POST /webhooks/github``: read within the limit, verify, validate, one Redis round trip, answer."""

from __future__ import annotations

import logging
import mmap
from typing import IO, Protocol

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.metrics import Metrics, Result
from preview.models import Command, Ignored
from webhooks.events import HANDLED_EVENTS, BadPayload, Pong, decode, route
from webhooks.signature import verify
from webhooks.validate import header_problem
from workers.enqueue import QueueUnavailable

log = logging.getLogger(__name__)

#: GitHub caps webhook payloads at 25 MB; nothing larger is ever read into memory.
MAX_BODY = 25 * 1024 * 1024
CHUNK = 64 * 1024

bp = Blueprint("intake", __name__)


class Submitter(Protocol):
    def submit(self, command: Command) -> bool: ...


class TooLarge(Exception):
    """The body is longer than the limit."""


def read_body(stream: IO[bytes], limit: int) -> bytes:
    """Read ``stream`` in chunks, stopping (:class:`TooLarge`) as soon as more than ``limit`` bytes arrived.

    The bytes collect in an anonymous mapping: only pages written are backed, and all of them go
    back to the system when it closes, so a refused body leaves no memory behind in the worker.
    """
    with mmap.mmap(-1, limit + 1) as buffer:
        size = 0
        while True:
            chunk = stream.read(min(CHUNK, limit + 1 - size))
            if not chunk:
                return buffer[:size]
            buffer[size : size + len(chunk)] = chunk
            size += len(chunk)
            if size > limit:
                raise TooLarge


def _answer(status: int, result: Result, message: str, event: str, **extra: object) -> tuple[Response, int]:
    """Count the answer (``event`` only if the request was signed) and send it as JSON."""
    metrics: Metrics = current_app.extensions["previewbot.metrics"]
    metrics.webhook(event, result)
    return jsonify(result=result, message=message, **extra), status


def _body() -> bytes | None:
    """The request body, or None if it is over :data:`MAX_BODY` (the rest is never read)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    # One byte above the limit lets a body of exactly MAX_BODY bytes through werkzeug's own check.
    request.max_content_length = MAX_BODY + 1
    try:
        return read_body(request.stream, MAX_BODY)
    except (TooLarge, RequestEntityTooLarge):
        return None


@bp.post("/webhooks/github")
def github_webhook() -> tuple[Response, int]:
    """Answer a delivery; see the README's "Webhook intake" for every answer."""
    try:
        body = _body()
    except Exception as exc:  # a broken chunk or a client gone mid-body: the request is unusable
        log.info("unreadable request body: %s", type(exc).__name__)
        return _answer(400, "bad-body", "request body could not be read", "other")
    if body is None:
        return _answer(413, "too-large", "payload larger than 25 MB", "other")
    secrets = current_app.extensions["previewbot.secrets"]
    if not verify(body, request.headers.get("X-Hub-Signature-256"), secrets):
        return _answer(401, "bad-signature", "missing or invalid X-Hub-Signature-256", "other")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    label = event if event in HANDLED_EVENTS else "other"
    problem = header_problem(event, delivery)
    if problem:
        return _answer(400, "bad-headers", problem, label)
    if not (request.mimetype or "").endswith("json"):
        return _answer(415, "unsupported-media-type", "send webhooks with content type application/json", label)
    try:
        context = current_app.extensions["previewbot.settings"].status_context
        routed = route(event, delivery, decode(body), own_context=context)
    except BadPayload as exc:
        return _answer(400, "bad-payload", str(exc), label)
    if isinstance(routed, Pong):
        return _answer(200, "pong", "pong", label)
    if isinstance(routed, Ignored):
        return _answer(202, "ignored", routed.reason, label)
    extra = {"delivery": delivery, "event": event, "repo": routed.repo, "pr": routed.number, "sha": routed.sha}
    submitter: Submitter = current_app.extensions["previewbot.submitter"]
    try:
        fresh = submitter.submit(routed)
    except QueueUnavailable as exc:
        log.error("queue unavailable: %s", exc, extra=extra)
        return _answer(503, "unavailable", "queue unavailable; redeliver later", label)
    if not fresh:
        log.info("duplicate delivery", extra=extra)
        return _answer(200, "duplicate", "delivery already handled", label)
    log.info("queued %s", routed.kind, extra=extra)
    return _answer(202, "queued", f"{routed.kind} queued", label, command=str(routed.kind))
