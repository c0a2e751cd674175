"""Plain HTTP to the Kubernetes API: REST paths from a static kind table, one request helper, and the
mapping of failed answers to :class:`~preview.ports.TemporaryError` or :class:`~preview.ports.PermanentError`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from integrations import metrics
from preview.ports import PermanentError, TemporaryError

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = (10.0, 60.0)
TERMINATING_DELAY = 5.0

#: (apiVersion, kind) -> (plural, namespaced) for every kind previewbot may render.
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ResourceQuota"): ("resourcequotas", True),
    ("v1", "LimitRange"): ("limitranges", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Service"): ("services", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
}


def resource_path(api_version: str, kind: str, name: str, namespace: str | None = None) -> str:
    """The REST path of one object, from the static kind table (no discovery)."""
    entry = RESOURCES.get((api_version, kind))
    if entry is None:
        raise PermanentError(f"previewbot cannot manage {kind} ({api_version})")
    plural, namespaced = entry
    path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if namespaced:
        if not namespace:
            raise PermanentError(f"{kind} {name}: metadata.namespace is required")
        path += f"/namespaces/{quote(namespace, safe='')}"
    if not name:
        raise PermanentError(f"{kind}: metadata.name is required")
    return f"{path}/{plural}/{quote(name, safe='')}"


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    raw = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _status_message(body: bytes | str | None, fallback: str) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, or ``fallback``."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if body else None
    except ValueError:
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str) and status["message"]:
        return status["message"]
    return fallback or "no details"


def api_error(
    action: str,
    status: int,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    reason: str = "",
) -> TemporaryError | PermanentError:
    """Map one failed API answer to the domain's retry classification."""
    message = _status_message(body, reason)
    text = f"{action}: HTTP {status}: {message}"
    if status == 0 or status >= 500 or status in (409, 429):
        return TemporaryError(text, _retry_after(headers))
    if status == 403 and "being terminated" in message:
        return TemporaryError(text, _retry_after(headers) or TERMINATING_DELAY)
    return PermanentError(text)


def _from_exception(action: str, exc: ApiException) -> TemporaryError | PermanentError:
    return api_error(action, exc.status or 0, exc.body, exc.headers, str(exc.reason or ""))


def _verb(method: str, path: str) -> str:
    """The Kubernetes verb of a request: a GET of a collection (odd path length after the version) lists."""
    if method != "GET":
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    after_version = parts[2:] if parts[:1] == ["api"] else parts[3:]
    return "list" if len(after_version) % 2 == 1 else "get"


def _unreachable(action: str, exc: Exception) -> TemporaryError:
    return TemporaryError(f"{action}: cannot reach the Kubernetes API ({type(exc).__name__})")


class KubeHttp:
    """One ``ApiClient`` and the request helper every Kubernetes adapter call goes through."""

    def __init__(self, api_client: client.ApiClient, request_timeout: Any = REQUEST_TIMEOUT) -> None:
        self.api = api_client
        self.request_timeout = request_timeout

    def close(self) -> None:
        self.api.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        query: list[tuple[str, str]] | None = None,
        body: str | dict | None = None,
        content_type: str | None = None,
        allowed: tuple[int, ...] = (),
    ) -> dict | None:
        """One HTTP call: the decoded JSON answer, ``None`` for an ``allowed`` error status.

        ``body``: text sent as it is (an apply's YAML), or a dict for a JSON content type, which the client
        encodes itself (text would be encoded twice, as one JSON string).
        """
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            method, url, headers, body, _ = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query or []),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=self.request_timeout
            )
            data = response.read()
        except ApiException as exc:
            metrics.kube_error(_verb(method, path), exc.status)
            raise _from_exception(action, exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            metrics.kube_error(_verb(method, path), None)
            raise _unreachable(action, exc) from None
        if response.status in allowed:
            return None
        if not 200 <= response.status < 300:
            metrics.kube_error(_verb(method, path), response.status)
            raise api_error(action, response.status, data, response.headers, response.reason or "")
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise TemporaryError(f"{action}: the API answered with invalid JSON") from None


def _connect_timeout(timeout: Any) -> float:
    if isinstance(timeout, tuple):
        return float(timeout[0])
    return float(timeout) if timeout else 10.0
