"""Rendering: the dashboard's own Jinja2 environment (autoescaped), and the headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from flask import Response, url_for
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.dashboard.data import ago

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: no script at all, inline styles only, forms post only here, never framed
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["url_for"] = url_for
    env.globals["ago"] = ago
    env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"
    env.filters["epoch"] = lambda seconds: datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return env


def page(template: str, code: int = 200, /, **values: object) -> Response:
    """``template`` rendered with ``values`` as an HTML answer with status ``code``."""
    html = environment().get_template(template).render(**values)
    return Response(html, status=code, mimetype="text/html")


def secure(response: Response) -> Response:
    """Headers for every dashboard answer: no caching, no framing, no sniffing, no scripts."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
