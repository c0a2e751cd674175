"""Kubernetes ``Status`` error objects and the exception that carries them."""

from __future__ import annotations

import json
from typing import Any

REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(
    code: int,
    message: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a failure ``Status`` object as the API server returns it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason if reason is not None else REASONS.get(code, "Unknown"),
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    """An error answer: HTTP code plus ``Status`` body."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)
        self.headers = headers or {}


def qualified(plural: str, group: str) -> str:
    """``deployments.apps`` or ``pods`` as used in error messages."""
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def not_found(plural: str, group: str, name: str) -> ApiError:
    """``<resource> "<name>" not found``."""
    return ApiError(404, f'{qualified(plural, group)} "{name}" not found', details=_details(name, group, plural))


def already_exists(plural: str, group: str, name: str) -> ApiError:
    """``<resource> "<name>" already exists``."""
    return ApiError(
        409,
        f'{qualified(plural, group)} "{name}" already exists',
        "AlreadyExists",
        _details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    """``Operation cannot be fulfilled on <resource> "<name>": <why>``."""
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        "Conflict",
        _details(name, group, plural),
    )


def stale(plural: str, group: str, name: str) -> ApiError:
    """Optimistic-concurrency failure."""
    return conflict(
        plural,
        group,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422 Invalid; ``causes`` holds ``(reason, field, message)`` triples."""
    summary = ", ".join(f"{field}: {msg}" for _, field, msg in causes)
    if len(causes) > 1:
        summary = "[" + summary + "]"
    details = _details(name, group, kind)
    details["causes"] = [{"reason": r, "message": m, "field": f} for r, f, m in causes]
    return ApiError(422, f'{qualified(kind, group)} "{name}" is invalid: {summary}', "Invalid", details)


def resource_version_required(plural: str, group: str, name: str) -> ApiError:
    """422 for a PUT without ``metadata.resourceVersion`` of a kind that refuses unconditional updates."""
    cause = ("FieldValueInvalid", "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")
    return invalid(plural, group, name, [cause])


def forbidden_terminating(plural: str, group: str, name: str, namespace: str) -> ApiError:
    """Create attempted in a namespace that is being deleted."""
    details = _details(name, group, plural)
    details["causes"] = [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {namespace} is being terminated",
            "field": "metadata.namespace",
        }
    ]
    return ApiError(
        403,
        f'{qualified(plural, group)} "{name}" is forbidden: unable to create new content in namespace '
        f"{namespace} because it is being terminated",
        "Forbidden",
        details,
    )


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` writes it."""
    return json.dumps(text, ensure_ascii=False)


def forbidden(group: str, resource: str, name: str, why: str) -> ApiError:
    """403 as ``NewForbidden`` builds it: ``<resource> "<name>" is forbidden: <why>``."""
    if not resource:
        message = f"forbidden: {why}"
    elif not name:
        message = f"{qualified(resource, group)} is forbidden: {why}"
    else:
        message = f"{qualified(resource, group)} {go_quote(name)} is forbidden: {why}"
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if resource:
        details["kind"] = resource
    return ApiError(403, message, "Forbidden", details)


def field_manager_required() -> ApiError:
    """422 for a server-side apply without ``fieldManager``."""
    return ApiError(
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        "Invalid",
        {
            "group": "meta.k8s.io",
            "kind": "PatchOptions",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
        },
    )


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, message, "BadRequest")


def expired(message: str) -> ApiError:
    """410 Expired."""
    return ApiError(410, message, "Expired")


def refuse_force(query: dict[str, str]) -> None:
    """``force`` belongs to server-side apply: any other PATCH with it is 422, as kube-apiserver answers."""
    if query.get("force") in ("true", "1"):
        raise ApiError(
            422,
            'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
            "Invalid",
        )
