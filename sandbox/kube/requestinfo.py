"""What the authorizer sees of a request: verb, API group, resource, subresource, namespace and name.

Parsed from the method, path and query alone, as kube-apiserver's RequestInfo is, so that a request
to an unknown resource is authorized (and possibly refused) before it is routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
SPECIAL_VERBS = frozenset({"proxy", "watch"})
METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Attributes:
    """One authorization question: may the user do ``verb`` to this resource (or non-resource path)?"""

    verb: str
    resource_request: bool = True
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` or ``pods``: the resource as error messages qualify it."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def combined_resource(self) -> str:
        """``pods`` or ``pods/status``: the resource as RBAC rules name it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def valid_path_segment(name: str) -> bool:
    """Whether ``name`` may appear as one URL path segment (no ``/`` or ``%``, not ``.`` or ``..``)."""
    return name not in (".", "..") and "/" not in name and "%" not in name


def _field_selector_name(selector: str) -> str:
    """The name a field selector requires exactly (``metadata.name=x`` or ``==x``), else ``""``."""
    for term in selector.split(","):
        if "!=" in term:
            continue
        key, sep, value = term.partition("==") if "==" in term else term.partition("=")
        if sep and key.strip() == "metadata.name":
            return value.strip()
    return ""


def request_info(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The attributes kube-apiserver derives from one request."""
    parts = [p for p in path.strip("/").split("/") if p]
    non_resource = Attributes(verb=method.lower(), resource_request=False, path=path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    if rest[0] in SPECIAL_VERBS:
        if len(rest) < 2:
            return non_resource
        verb, rest = rest[0], rest[1:]
    else:
        verb = METHOD_VERBS.get(method.upper(), "")
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        watch = "watch" in query and str(query["watch"]).lower() not in ("false", "0")
        verb = "watch" if watch else "list"
        selected = _field_selector_name(str(query.get("fieldSelector") or ""))
        if selected and valid_path_segment(selected):
            name = selected
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb, True, group, version, resource, subresource, namespace, name, path)
