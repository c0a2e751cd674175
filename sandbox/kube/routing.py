"""Parse API URLs into resource coordinates and a verb."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError
from .resources import ResourceType, lookup


@dataclass
class Route:
    """What a resource URL addresses."""

    res: ResourceType
    namespace: str | None
    name: str | None
    subresource: str = ""


def not_found_path() -> ApiError:
    """404 for unknown URLs."""
    return ApiError(404, "the server could not find the requested resource", "NotFound", {})


def parse(path: str) -> Route | None:
    """Route for a resource URL, or None for a non-resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    res = lookup(group, version, rest[0])
    if res is None:
        raise not_found_path()
    if res.namespaced is False and namespace is not None:
        raise not_found_path()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 or (sub and sub not in res.subresources):
        raise not_found_path()
    return Route(res, namespace, name, sub)


def verb_for(method: str, route: Route, watch: bool, content_type: str) -> str:
    """Kubernetes verb of a request."""
    if method == "GET":
        if route.name:
            return "get"
        return "watch" if watch else "list"
    if method == "POST" and not route.name:
        return "create"
    if method == "PUT" and route.name:
        return "update"
    if method == "PATCH" and route.name:
        return "apply" if content_type.startswith("application/apply-patch") else "patch"
    if method == "DELETE":
        return "delete" if route.name else "deletecollection"
    raise ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed", {})
