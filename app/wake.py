"""Wake links: ``GET /wake/<namespace>?token=…`` wakes a sleeping preview and sends the visitor to it once ready.

The token (preview/wake_link.py) is checked first, in constant time; a wrong or missing one is a 404 that
changes nothing. A valid link queues a wake while the preview sleeps (one Redis round trip, deduplicated per
:data:`WINDOW_SECONDS`, so reloading queues nothing more) and answers a small page that polls
``/wake/<namespace>/state?token=…`` and goes to the preview once its status is ``success`` again; without
scripts, the page reloads itself, and the link redirects (303) once the preview is ready. The state is the
one the Reporter keeps in Redis (the web process needs no Kubernetes access).
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, jsonify, redirect, request
from redis import Redis
from redis.exceptions import RedisError

from preview import wake_link
from preview.comment import SLEEPING
from preview.models import Command, CommandKind, PullRef
from preview.settings import Settings
from preview.sleep import wake_ref_key
from workers.enqueue import QueueUnavailable
from workers.ledger import RedisLedger

log = logging.getLogger(__name__)

bp = Blueprint("wake", __name__, url_prefix="/wake")
_NAMESPACE = re.compile(r"pr-[0-9]{1,10}-[a-z0-9-]{1,60}")
WINDOW_SECONDS = 30
POLL_MS = 1500


@dataclass(frozen=True)
class Shown:
    """The newest status of a preview's current commit, as the Reporter recorded it."""

    state: str
    description: str
    url: str | None

    @property
    def ready(self) -> bool:
        return self.state == "success" and not self.description.startswith(SLEEPING)

    @property
    def sleeping(self) -> bool:
        return self.state == "success" and self.description.startswith(SLEEPING)


def _redis() -> Redis:
    client = current_app.extensions.get("previewbot.wake_redis")
    if client is None:
        settings: Settings = current_app.extensions["previewbot.settings"]
        client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        current_app.extensions["previewbot.wake_redis"] = client
    return client


def _verified(namespace: str) -> bool:
    settings: Settings = current_app.extensions["previewbot.settings"]
    secrets_ = [s.value for s in settings.wake_link_secrets]
    return bool(_NAMESPACE.fullmatch(namespace)) and wake_link.verify(secrets_, namespace, request.args.get("token"))


def _ref(ledger: RedisLedger, namespace: str) -> PullRef | None:
    try:
        repo, number, installation = json.loads(ledger.get(wake_ref_key(namespace)) or "null")
        return PullRef(str(repo), int(number), int(installation) if installation is not None else None)
    except (TypeError, ValueError):
        return None


def _shown(ledger: RedisLedger, ref: PullRef) -> Shown | None:
    context = current_app.extensions["previewbot.settings"].status_context
    current = (ledger.get(f"current:{context}:{ref.repo}:{ref.number}") or "").split("@", 1)[0]
    raw = ledger.get(f"status:{context}:{ref.repo}:{current}") if current else None
    if not raw:
        return None
    state, _, rest = raw.partition("\x1f")
    description, _, url = rest.partition("\x1f")
    return Shown(state, description, url if url.startswith(("https://", "http://")) else None)


def _message(title: str, text: str, code: int) -> Response:
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return _secure(Response(body, status=code, mimetype="text/html"))


def _secure(response: Response, nonce: str | None = None) -> Response:
    script = f"script-src 'nonce-{nonce}'; connect-src 'self'; " if nonce else ""
    response.headers["Content-Security-Policy"] = f"default-src 'none'; {script}frame-ancestors 'none'; base-uri 'none'"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token never reaches the preview
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _not_found() -> Response:
    return _message("No such wake link", "This link is not valid, or the preview no longer exists.", 404)


def _waiting(namespace: str, shown: Shown | None) -> Response:
    nonce = secrets.token_urlsafe(16)
    state = json.dumps(f"{namespace}/state?token={request.args.get('token', '')}")
    text = shown.description if shown is not None and not shown.sleeping else "Waking up…"
    body = f"""<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>
<title>Waking the preview</title></head><body><h1>Waking the preview</h1>
<p id='state'>{html.escape(text)}</p><p>This page goes to the preview as soon as it is ready.</p>
<script nonce='{nonce}'>
const poll = async () => {{
  try {{
    const answer = await (await fetch({state}, {{cache: "no-store"}})).json();
    if (answer.ready && answer.url) {{ window.location.replace(answer.url); return; }}
    document.getElementById("state").textContent = answer.description || "Waking up…";
  }} catch (error) {{}}
  setTimeout(poll, {POLL_MS});
}};
setTimeout(poll, {POLL_MS});
</script></body></html>"""
    return _secure(Response(body, status=200, mimetype="text/html"), nonce)


@bp.get("/<namespace>")
def wake(namespace: str) -> Response:
    """Queue a wake of a sleeping preview and wait for it; once ready, redirect to the preview."""
    if not _verified(namespace):
        return _not_found()
    ledger = RedisLedger(_redis())
    try:
        ref = _ref(ledger, namespace)
        shown = _shown(ledger, ref) if ref is not None else None
    except RedisError as exc:
        log.warning("wake link: Redis %s", type(exc).__name__)
        return _message("Temporarily unavailable", "Reload the page in a moment.", 503)
    if ref is None or shown is None:
        return _not_found()
    if shown.ready and shown.url:
        return _secure(redirect(shown.url, 303))
    if shown.state in ("failure", "error"):
        return _message("The preview is not available", shown.description, 409)
    if shown.sleeping:
        window = int(time.time() // WINDOW_SECONDS)
        command = Command(
            CommandKind.WAKE, ref.repo, ref.number, ref.installation_id, None,
            f"wake-link:{namespace}:{window}", event="wake-link",
        )  # fmt: skip
        try:
            if current_app.extensions["previewbot.submitter"].submit(command):
                log.info("wake link: wake queued", extra={"repo": ref.repo, "pr": ref.number})
        except QueueUnavailable as exc:
            log.warning("wake link: queue unavailable (%s)", exc)
            return _message("Temporarily unavailable", "Reload the page in a moment.", 503)
    return _waiting(namespace, shown)


@bp.get("/<namespace>/state")
def state(namespace: str) -> tuple[Response, int]:
    """``{"state", "description", "ready", "url"}`` of the preview a wake link names (``url`` once ready)."""
    if not _verified(namespace):
        return jsonify(result="not-found", message="no such wake link"), 404
    ledger = RedisLedger(_redis())
    try:
        ref = _ref(ledger, namespace)
        shown = _shown(ledger, ref) if ref is not None else None
    except RedisError:
        return jsonify(result="unavailable", message="Redis unreachable"), 503
    if shown is None:
        return jsonify(result="not-found", message="no such wake link"), 404
    answer = jsonify(
        state=shown.state, description=shown.description, ready=shown.ready, url=shown.url if shown.ready else None
    )
    return _secure(answer), 200
