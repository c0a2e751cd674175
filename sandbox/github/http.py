"""HTTP plumbing shared by the REST handlers: JSON answers, errors, bodies and pagination."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from .util import DOCS, error_body

VALIDATION_DOCS = "https://docs.github.com/rest/overview/resources-in-the-rest-api#client-errors"


class ApiError(Exception):
    """Abort a handler with a GitHub-shaped JSON error."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response the way GitHub formats it."""
    text = "" if data is None else json.dumps(data)
    resp = Response(text, status=status, headers=headers or {})
    if data is not None:
        resp.headers["Content-Type"] = "application/json; charset=utf-8"
    return resp


def not_found() -> ApiError:
    return ApiError(404, error_body("Not Found", 404))


def fail(status: int, message: str, doc: str = DOCS, **extra: Any) -> ApiError:
    return ApiError(status, error_body(message, status, doc, **extra))


def validation_failed(resource: str, field: str | None, code: str, message: str | None = None) -> ApiError:
    """422 ``Validation Failed`` with one entry in ``errors``."""
    entry: dict[str, Any] = {"resource": resource, "code": code}
    if field is not None:
        entry["field"] = field
    if message is not None:
        entry["message"] = message
    return fail(422, "Validation Failed", VALIDATION_DOCS, errors=[entry])


def read_json(required: bool = True) -> Any:
    """Parse the request body; 400 ``Problems parsing JSON`` when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {} if required else None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(400, "Problems parsing JSON") from exc


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def paginate(items: list[Any], base_url: str) -> tuple[list[Any], dict[str, str]]:
    """Slice ``items`` by ``per_page``/``page`` and build GitHub's ``Link`` header."""
    per_page = min(max(_int_arg("per_page", 30), 1), 100)
    page = max(_int_arg("page", 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]

    def link(num: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "page"}
        args["page"] = str(num)
        return f"{base_url}{request.path}?{urlencode(args)}"

    rels = []
    if page > 1:
        rels.append(f'<{link(page - 1)}>; rel="prev"')
    if page < last:
        rels.append(f'<{link(page + 1)}>; rel="next"')
        rels.append(f'<{link(last)}>; rel="last"')
    if page > 1:
        rels.append(f'<{link(1)}>; rel="first"')
    return chunk, ({"Link": ", ".join(rels)} if rels else {})
