"""Who is looking: a GitHub sign-in (OAuth web flow) or a trusted proxy's header; CSRF tokens per session.

The session is Flask's signed cookie. It holds the login, a CSRF token and, after a GitHub sign-in, a
random id under which the user's GitHub token is kept in Redis: the token never reaches the browser.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from redis.exceptions import RedisError

from app.dashboard.backend import SESSION_TTL, Backend, User
from app.dashboard.pages import page
from integrations.github_oauth import OAuthError
from preview.naming import REPO_OWNER
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "previewbot_dashboard"
#: what the sign-in page may say (by code: the page never repeats text from its URL)
NOTES = {
    "denied": "GitHub did not authorize the sign-in.",
    "refused": "GitHub refused the sign-in. Try again.",
    "signed-out": "Signed out.",
}
_NEXT = re.compile(r"/previews(?:[/?][!-~]*)?")


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the cookie ``Secure`` when the request came over HTTPS (directly or through the proxy)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def configure(app: Flask, settings: Settings) -> None:
    """Sessions for the dashboard: signed with ``PREVIEWBOT_DASHBOARD_SECRET_KEY``, HttpOnly, SameSite=Lax."""
    assert settings.dashboard_secret_key is not None
    app.secret_key = settings.dashboard_secret_key.value
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/previews",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=SESSION_TTL),
    )


def backend() -> Backend:
    return current_app.extensions["previewbot.dashboard"]


def _settings() -> Settings:
    return backend().settings


def _valid_login(login: str) -> bool:
    return bool(REPO_OWNER.fullmatch(login))


def current_user() -> User | None:
    """The signed-in user, or None."""
    settings = _settings()
    if settings.dashboard_mode == "proxy":
        login = request.headers.get(settings.dashboard_user_header, "").strip()
        if not _valid_login(login):
            return None
        if session.get("login") != login:  # another user behind the same browser: a fresh session
            session.clear()
            session["login"] = login
        return User(login)
    login, sid = session.get("login"), session.get("sid")
    if not isinstance(login, str) or not isinstance(sid, str):
        return None
    try:
        token = backend().token(sid)
    except RedisError:
        return None
    return User(login, token) if token else None


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok() -> bool:
    """Whether the form carries this session's CSRF token."""
    sent, known = request.form.get("csrf_token", ""), session.get("csrf")
    return isinstance(known, str) and len(known) >= 32 and hmac.compare_digest(sent.encode(), known.encode())


def _safe_next(target: str | None) -> str:
    """A path inside the dashboard to come back to; anything else goes to the list."""
    if target and _NEXT.fullmatch(target) and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.index")


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``view`` with ``g.user`` set; otherwise send the browser to sign in (or refuse, behind a proxy)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            if _settings().dashboard_mode == "proxy":
                return page("message.html.j2", 401, title="Not signed in", user=None, csrf="",
                            message="The authenticating proxy did not name a user.")
            return redirect(url_for("dashboard.signin", next=request.full_path.rstrip("?")))
        g.user = user
        return view(*args, **kwargs)

    return wrapper


def add_routes(bp: Blueprint) -> None:
    """Sign-in, the OAuth callback and sign-out."""

    @bp.get("/signin")
    def signin() -> Response:
        if _settings().dashboard_mode != "oauth":
            return page("message.html.j2", 404, title="Not found", message="No such page.", user=None, csrf="")
        start = url_for("dashboard.oauth_start", next=_safe_next(request.args.get("next")))
        note = NOTES.get(request.args.get("note", ""), "")
        return page("signin.html.j2", start=start, message=note, user=None, csrf="")

    @bp.get("/oauth/start")
    def oauth_start() -> Response:
        oauth = backend().oauth
        if oauth is None:
            return page("message.html.j2", 404, title="Not found", message="No such page.", user=None, csrf="")
        session["oauth_state"] = state = secrets.token_urlsafe(24)
        session["next"] = _safe_next(request.args.get("next"))
        return redirect(oauth.authorize_url(url_for("dashboard.oauth_callback", _external=True), state))

    @bp.get("/oauth/callback")
    def oauth_callback() -> Response:
        oauth, expected = backend().oauth, session.pop("oauth_state", None)
        state = request.args.get("state", "")
        if oauth is None or not isinstance(expected, str) or not hmac.compare_digest(state.encode(), expected.encode()):
            return page("message.html.j2", 400, title="Sign-in failed", user=None, csrf="",
                        message="The sign-in answer did not match a sign-in started here. Try again.")
        if request.args.get("error") or not request.args.get("code"):
            return redirect(url_for("dashboard.signin", note="denied"))
        try:
            token = oauth.exchange(request.args["code"], url_for("dashboard.oauth_callback", _external=True))
            login = oauth.login(token)
        except OAuthError as exc:
            log.warning("dashboard sign-in refused by GitHub: %s", exc.code)
            return redirect(url_for("dashboard.signin", note="refused"))
        except (TemporaryError, PermanentError) as exc:
            log.warning("dashboard sign-in failed: %s", exc)
            return page("message.html.j2", 503, title="GitHub unreachable", user=None, csrf="",
                        message="GitHub could not be reached to finish the sign-in. Try again shortly.")
        target = _safe_next(session.get("next"))
        session.clear()
        sid = secrets.token_urlsafe(24)
        backend().keep_token(sid, token)
        session.permanent = True
        session.update(login=login, sid=sid, csrf=secrets.token_urlsafe(32))
        log.info("dashboard: %s signed in", login)
        return redirect(target)

    @bp.post("/signout")
    def signout() -> Response:
        if not csrf_ok():
            return page("message.html.j2", 400, title="Bad request", user=None, csrf="",
                        message="The form was missing its security token. Reload the page and try again.")
        sid = session.get("sid")
        if isinstance(sid, str):
            with contextlib.suppress(RedisError):
                backend().forget_token(sid)
        session.clear()
        if _settings().dashboard_mode == "oauth":
            return redirect(url_for("dashboard.signin", note="signed-out"))
        return redirect(url_for("dashboard.index"))
