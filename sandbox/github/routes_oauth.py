"""GitHub's OAuth web flow and the user endpoints a signed-in user's token calls.

``/login/oauth/*`` belongs to github.com (the web host), not the REST API: no API authentication, rate
limits or injected faults there. The authorize page stands for github.com's consent screen: its form
names the user who signs in (prefilled with :meth:`GitHubEmulator.set_oauth_user`), and Authorize or
Cancel sends the browser back to the application as GitHub does. The token exchange answers every
outcome, errors included, with status 200 in the format the ``Accept`` header asks for.
"""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, redirect, request

from . import state as st
from .context import Context
from .http import fail, json_response, paginate
from .util import now

WEB_PREFIX = "/login/oauth/"
CODE_TTL = 600  # GitHub: "codes expire after 10 minutes"
TROUBLE_TOKEN = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
TROUBLE_AUTHORIZE = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/"

TOKEN_ERRORS = {
    "incorrect_client_credentials": (
        "The client_id and/or client_secret passed are incorrect.", f"{TROUBLE_TOKEN}#incorrect-client-credentials"
    ),
    "redirect_uri_mismatch": (
        "The redirect_uri MUST match the registered callback URL for this application.",
        f"{TROUBLE_AUTHORIZE}#redirect-uri-mismatch2",
    ),
    "bad_verification_code": ("The code passed is incorrect or expired.", f"{TROUBLE_TOKEN}#bad-verification-code"),
}


def _redirect_ok(app: st.OAuthApp, uri: str) -> bool:
    """GitHub's rule: same scheme, host and port as the callback URL, and a path at or below its path."""
    if not app.callback_url:
        return urlsplit(uri).scheme in ("http", "https") and bool(urlsplit(uri).netloc)
    want, got = urlsplit(app.callback_url), urlsplit(uri)
    if (want.scheme, want.netloc.lower()) != (got.scheme, got.netloc.lower()):
        return False
    base = want.path.rstrip("/")
    return got.path == base or got.path.startswith(base + "/") or (not base and got.path in ("", "/"))


def _with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · GitHub</title></head>"
        f"<body style='font-family:sans-serif;max-width:32rem;margin:3rem auto'>{body}</body></html>"
    )
    return Response(doc, status=status, mimetype="text/html")


def _token_answer(data: dict[str, str]) -> Response:
    """200 in the format of ``Accept``: JSON, XML or (by default) form encoding, as GitHub answers."""
    accept = request.headers.get("Accept", "")
    if "application/json" in accept:
        return json_response(data)
    if "application/xml" in accept:
        fields = "".join(f"<{k}>{html.escape(v)}</{k}>" for k, v in data.items())
        return Response(f"<OAuth>{fields}</OAuth>", mimetype="application/xml")
    return Response(urlencode(data), mimetype="application/x-www-form-urlencoded")


def _token_error(code: str) -> Response:
    description, uri = TOKEN_ERRORS[code]
    return _token_answer({"error": code, "error_description": description, "error_uri": uri})


def register(app: Flask, ctx: Context) -> None:
    """Attach the OAuth web flow and ``/user`` routes."""
    state, render = ctx.state, ctx.render

    def client_and_redirect(args: Any) -> tuple[st.OAuthApp | None, str | None, Response | None]:
        """The OAuth app and the redirect URI to use, or an answer that ends the request."""
        client = state.oauth_apps.get(args.get("client_id", ""))
        if client is None:
            return None, None, _page("Not Found", "<h1>404</h1><p>This is not the web page you are looking for.</p>",
                                     404)
        wanted = args.get("redirect_uri") or client.callback_url
        if not wanted:
            return client, None, _page("Error", "<p>No redirect_uri, and the application has no callback URL.</p>",
                                       400)
        if not _redirect_ok(client, wanted):
            if client.callback_url is None:
                return client, None, _page("Error", "<p>The redirect_uri is not a web address.</p>", 400)
            error = {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback URL for this application.",
                "error_uri": f"{TROUBLE_AUTHORIZE}#redirect-uri-mismatch",
            }
            if args.get("state"):
                error["state"] = args["state"]
            return client, None, redirect(_with_query(client.callback_url, error))
        return client, wanted, None

    @app.get("/login/oauth/authorize")
    def authorize_page() -> Response:
        client, uri, answer = client_and_redirect(request.args)
        if answer is not None:
            return answer
        assert client is not None and uri is not None
        login = request.args.get("login") or state.oauth_user or ""
        hidden = "".join(
            f"<input type='hidden' name='{k}' value='{html.escape(v, quote=True)}'>"
            for k, v in (("client_id", client.client_id), ("redirect_uri", uri),
                         ("state", request.args.get("state", "")), ("scope", request.args.get("scope", "")))
        )
        body = (
            f"<h1>Authorize {html.escape(client.name)}</h1>"
            f"<p>{html.escape(client.name)} wants to know who you are on GitHub.</p>"
            f"<form method='post' action='/login/oauth/authorize'>{hidden}"
            f"<p><label>Signed in as <input name='login' id='login' value='{html.escape(login, quote=True)}'>"
            "</label></p>"
            "<p><button type='submit' name='authorize' value='1' id='authorize'>Authorize</button> "
            "<button type='submit' name='cancel' value='1' id='cancel'>Cancel</button></p></form>"
        )
        return _page(f"Authorize {client.name}", body)

    @app.post("/login/oauth/authorize")
    def authorize_decision() -> Response:
        client, uri, answer = client_and_redirect(request.form)
        if answer is not None:
            return answer
        assert client is not None and uri is not None
        params: dict[str, str] = {}
        if request.form.get("cancel"):
            params = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": f"{TROUBLE_AUTHORIZE}#access-denied",
            }
        else:
            login = request.form.get("login", "").strip()
            if not login:
                return _page("Sign in", "<p>Sign in first: name a login.</p>", 400)
            code = secrets.token_hex(10)
            with state.lock:
                state.user(login)
                state.oauth_codes[code] = st.OAuthCode(code, client.client_id, login, uri,
                                                       request.form.get("scope", ""), now() + CODE_TTL)
            params["code"] = code
        if request.form.get("state"):
            params["state"] = request.form["state"]
        return redirect(_with_query(uri, params))

    @app.post("/login/oauth/access_token")
    def access_token() -> Response:
        args = {**request.args.to_dict(), **request.form.to_dict()}
        if request.is_json:
            args.update({k: str(v) for k, v in (request.get_json(silent=True) or {}).items()})
        client = state.oauth_apps.get(args.get("client_id", ""))
        if client is None or not secrets.compare_digest(args.get("client_secret", ""), client.client_secret):
            return _token_error("incorrect_client_credentials")
        with state.lock:
            code = state.oauth_codes.get(args.get("code", ""))
            if code is None or code.used or code.client_id != client.client_id or code.expires_at < now():
                return _token_error("bad_verification_code")
            if args.get("redirect_uri") and args["redirect_uri"] != code.redirect_uri:
                return _token_error("redirect_uri_mismatch")
            code.used = True
            token = "gho_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
            state.tokens[token] = st.Token(token, code.login, user=True, scopes=code.scope)
        return _token_answer({"access_token": token, "scope": code.scope, "token_type": "bearer"})

    @app.get("/user")
    def authenticated_user() -> Response:
        ident = ctx.require_token()
        if ident.kind == "installation":
            raise fail(403, "Resource not accessible by integration")
        data = render.user(ident.login)
        data.update({"name": None, "company": None, "blog": "", "location": None, "email": None, "bio": None,
                     "public_repos": 0, "followers": 0, "following": 0})
        return json_response(data)

    @app.get("/user/repos")
    def user_repos() -> Response:
        ident = ctx.require_token()
        if ident.kind == "installation":
            raise fail(403, "Resource not accessible by integration")
        with state.lock:
            mine = [r for r in sorted(state.repos.values(), key=lambda r: r.id)
                    if r.owner == ident.login or state.role(r, ident.login) != "none" and ident.login in r.permissions]
            items = [render.full_repo(r, ident.login) for r in mine]
        page, headers = paginate(items, ctx.base_url)
        return json_response(page, headers=headers)
