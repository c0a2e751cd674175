"""``/previews``: the list of live previews, a page per preview, and its redeploy, destroy and wake buttons.

Buttons are shown, and their POSTs accepted, only for users with write permission on the repository
(asked of GitHub, cached briefly); each POST carries the session's CSRF token. They queue the same work
as ``/preview redeploy`` and ``/preview destroy`` comments (the worker checks the permission again); Wake
queues a wake of the sleeping preview. A visit of a preview's page postpones its sleep.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, g, redirect, request, url_for
from redis.exceptions import RedisError

from app.dashboard import auth
from app.dashboard.backend import Backend
from app.dashboard.data import Preview, events, parse, rows, sleeping, statuses
from app.dashboard.pages import page, secure
from preview import naming
from preview.models import Command, CommandKind
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings
from preview.sleep import activity_key
from workers.enqueue import QueueUnavailable
from workers.history import RedisStatusHistory
from workers.ledger import RedisLedger

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__, url_prefix="/previews")
bp.after_request(secure)
auth.add_routes(bp)

ACTIONS = ("redeploy", "destroy", "wake")
_NAMESPACE = re.compile(r"pr-[0-9]{1,10}-[a-z0-9-]{1,60}")
WAKE_WINDOW_SECONDS = 30


def register(app: Flask, settings: Settings, backend: Backend | None = None) -> None:
    """Serve the dashboard on ``app`` (only when a sign-in method is configured)."""
    auth.configure(app, settings)
    app.extensions["previewbot.dashboard"] = backend or Backend.from_settings(settings)
    app.register_blueprint(bp)


def _backend() -> Backend:
    return auth.backend()


def _common() -> dict[str, object]:
    settings = _backend().settings
    return {
        "user": g.user,
        "csrf": auth.csrf_token(),
        "proxy": settings.dashboard_mode == "proxy",
        "web_url": settings.github_web_url,
        "now": datetime.now(UTC),
    }


def _unavailable(exc: Exception) -> Response:
    log.warning("dashboard: %s", exc)
    return page("message.html.j2", 503, title="Temporarily unavailable", **_common(),
                message="Kubernetes, GitHub or Redis could not be reached. Reload the page in a moment.")


def _not_found() -> Response:
    return page("message.html.j2", 404, title="No such preview", **_common(),
                message="This preview does not exist (any more), or you may not see it.")


def _readable(preview: Preview) -> bool:
    return _backend().can_read(g.user, preview.repo, preview.installation_id)


@bp.get("")
@auth.signed_in
def index() -> Response:
    wanted = request.args.get("repo", "").strip()
    try:
        found, repos, stuck = rows(_backend(), _readable, wanted if naming.is_repo(wanted) else None)
    except (TemporaryError, PermanentError, RedisError) as exc:
        return _unavailable(exc)
    return page("list.html.j2", rows=found, repos=repos, repo=wanted, stuck=stuck, **_common())


def _preview(namespace: str) -> Preview | None:
    """The preview in ``namespace`` if the user may read its repository."""
    if not _NAMESPACE.fullmatch(namespace):
        return None
    info = _backend().cluster.read_namespace(namespace)
    preview = parse(info) if info is not None and info.labels.get(naming.MANAGED_BY) == naming.MANAGER else None
    return preview if preview is not None and _readable(preview) else None


@bp.get("/<namespace>")
@auth.signed_in
def detail(namespace: str) -> Response:
    backend = _backend()
    try:
        preview = _preview(namespace)
        if preview is None:
            return _not_found()
        touch(backend, preview)
        status = statuses(backend.redis, backend.settings.status_context, [preview]).get(namespace)
        history = RedisStatusHistory(backend.redis).read(preview.repo, preview.number)
        recent = events(backend.cluster, namespace)
        asleep = namespace in sleeping(backend.cluster, namespace)
        summary = backend.open_pulls(preview.repo, preview.installation_id).get(preview.number)
        writable = backend.can_write(g.user, preview.repo, preview.installation_id)
    except (TemporaryError, PermanentError, RedisError) as exc:
        return _unavailable(exc)
    return page(
        "detail.html.j2",
        preview=preview,
        status=status,
        history=history,
        events=recent,
        sleeping=asleep,
        title=summary.title if summary else "",
        author=summary.author if summary else "",
        writable=writable,
        queued=request.args.get("queued", "") if request.args.get("queued") in ACTIONS else "",
        **_common(),
    )


def command(action: str, preview: Preview, login: str) -> Command:
    """What the button queues: the ``/preview`` command of the same name, or a wake.

    A wake is queued at most once per :data:`WAKE_WINDOW_SECONDS` per preview (a double click, a resent form).
    """
    window = int(time.time() // WAKE_WINDOW_SECONDS)
    delivery = f"dashboard-wake-{preview.namespace}-{window}" if action == "wake" else f"dashboard-{uuid.uuid4()}"
    common = {
        "repo": preview.repo,
        "number": preview.number,
        "installation_id": preview.installation_id,
        "sha": None,
        "delivery_id": delivery,
        "event": "dashboard",
        "action": action,
    }
    if action == "wake":
        return Command(CommandKind.WAKE, **common, author=login)
    return Command(CommandKind.COMMAND, **common, author=login, text=f"/preview {action}")


def touch(backend: Backend, preview: Preview) -> None:
    """A visit of the preview's page or a press of its buttons is activity: it postpones its sleep."""
    RedisLedger(backend.redis).put(activity_key(preview.repo, preview.number), str(int(time.time())))


@bp.post("/<namespace>/<action>")
@auth.signed_in
def act(namespace: str, action: str) -> Response:
    if action not in ACTIONS:
        return _not_found()
    if not auth.csrf_ok():
        return page("message.html.j2", 400, title="Bad request", **_common(),
                    message="The form was missing its security token. Reload the page and try again.")
    backend = _backend()
    try:
        preview = _preview(namespace)
        if preview is None:
            return _not_found()
        if not backend.can_write(g.user, preview.repo, preview.installation_id):
            return page("message.html.j2", 403, title="Not allowed", **_common(),
                        message=f"{action.capitalize()} needs write permission on {preview.repo}.")
        touch(backend, preview)
        current_app.extensions["previewbot.submitter"].submit(command(action, preview, g.user.login))
    except QueueUnavailable as exc:
        return _unavailable(exc)
    except (TemporaryError, PermanentError, RedisError) as exc:
        return _unavailable(exc)
    log.info("dashboard: %s queued by %s", action, g.user.login, extra={"repo": preview.repo, "pr": preview.number})
    return redirect(url_for("dashboard.detail", namespace=namespace, queued=action), 303)
