"""Flask application of one emulator: auth, rate limits, faults, recording, and the REST routes."""

from __future__ import annotations

import time
import uuid

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import control, routes_apps, routes_checks, routes_deployments, routes_issues, routes_oauth, routes_repos
from .auth import AuthError, identify
from .context import Context
from .faults import take_fault
from .http import ApiError, json_response
from .ratelimit import consume, exhausted, peek
from .render import PREFIX_ENVIRON
from .util import error_body

CONTROL_PREFIX = "/_emulator"
API_PREFIX = "/api/v3"


class StripPrefix:
    """Serve ``/api/v3/...`` (GitHub Enterprise style) like ``/...``."""

    def __init__(self, wsgi_app: object) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: object) -> object:
        path = environ.get("PATH_INFO", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            environ["PATH_INFO"] = path[len(API_PREFIX) :] or "/"
            environ[PREFIX_ENVIRON] = API_PREFIX
        return self.wsgi_app(environ, start_response)  # type: ignore[operator]


def create_app(ctx: Context, emulator: object) -> Flask:
    """Build the WSGI app serving REST and ``/_emulator`` control routes."""
    app = Flask("sandbox.github")
    app.url_map.strict_slashes = False
    app.wsgi_app = StripPrefix(app.wsgi_app)  # type: ignore[method-assign]
    state = ctx.state

    @app.before_request
    def gate() -> Response | None:
        g.quota = None
        g.arrived = time.time()
        if request.path.startswith((CONTROL_PREFIX, routes_oauth.WEB_PREFIX)):  # not the REST API
            return None
        if state.latency > 0:
            time.sleep(state.latency)
        fault = take_fault(state, request.method, request.path)
        if fault is not None:
            raise fault
        try:
            g.identity = identify(
                request.headers.get("Authorization"), state, ctx.app_id, ctx.render.app_info.slug, ctx.public_key_pem
            )
        except AuthError as exc:
            raise ApiError(exc.status, error_body(exc.message, exc.status)) from exc
        key = g.identity.key
        if request.path == "/rate_limit":
            g.quota = peek(state, key)
            return None
        if exhausted(state, key):
            g.quota = peek(state, key)
            raise ApiError(
                403,
                error_body(
                    f"API rate limit exceeded for {g.identity.login}.",
                    403,
                    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                ),
            )
        g.quota = consume(state, key)
        return None

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(KeyError)
    @app.errorhandler(TypeError)
    @app.errorhandler(ValueError)
    def malformed_body(exc: Exception) -> Response:
        """Without the reference schemas, a body missing or mistyping a field lands here: 422 as GitHub."""
        message = f"Invalid request.\n\n{type(exc).__name__}: {exc} is not valid."
        return json_response(error_body(message, 422), 422)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        message = "Not Found" if code in (404, 405) else (exc.description or exc.name)
        return json_response(error_body(message, 404 if code == 405 else code), 404 if code == 405 else code)

    @app.after_request
    def finish(resp: Response) -> Response:
        if request.path.startswith((CONTROL_PREFIX, routes_oauth.WEB_PREFIX)):
            return resp
        quota = getattr(g, "quota", None)
        if quota is not None:
            resp.headers.update(quota.headers())
        resp.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        resp.headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
        resp.headers["X-GitHub-Request-Id"] = uuid.uuid4().hex[:20].upper()
        with state.lock:
            state.requests.append((request.method, request.path, resp.status_code))
            state.request_times.append((getattr(g, "arrived", 0.0), time.time()))
        return resp

    routes_apps.register(app, ctx)
    routes_repos.register(app, ctx)
    routes_checks.register(app, ctx)
    routes_deployments.register(app, ctx)
    routes_issues.register(app, ctx)
    routes_oauth.register(app, ctx)
    control.register(app, emulator)
    return app
