"""The Kubernetes adapter: server-side apply, deletes, namespace reads and Deployment list/watch."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from integrations import metrics
from preview.garbage_collector import blockers
from preview.models import NamespaceInfo, ObjectRef
from preview.naming import FIELD_MANAGER
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

APPLY_PATCH = "application/apply-patch+yaml"
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


#: Kinds the watcher follows cluster-wide: collection path, typed lister (for watch), apiVersion, kind.
WATCHED: dict[str, tuple[str, Callable[[client.ApiClient], Callable[..., Any]], str, str]] = {
    "namespaces": ("/api/v1/namespaces", lambda api: client.CoreV1Api(api).list_namespace, "v1", "Namespace"),
    "deployments": (
        "/apis/apps/v1/deployments",
        lambda api: client.AppsV1Api(api).list_deployment_for_all_namespaces,
        "apps/v1",
        "Deployment",
    ),
    "pods": ("/api/v1/pods", lambda api: client.CoreV1Api(api).list_pod_for_all_namespaces, "v1", "Pod"),
}


def _watched(kind: str) -> tuple[str, Callable[[client.ApiClient], Callable[..., Any]], str, str]:
    try:
        return WATCHED[kind]
    except KeyError:
        raise PermanentError(f"previewbot does not watch {kind}") from None


class WatchExpired(Exception):
    """The watched resourceVersion is too old (HTTP 410): list again, then watch from the new one."""


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


class KubeCluster:
    """:class:`preview.ports.ClusterPort` over one ``ApiClient``, plus list/watch for the watcher."""

    def __init__(self, api_client: client.ApiClient, request_timeout: Any = REQUEST_TIMEOUT) -> None:
        self.api = api_client
        self.request_timeout = request_timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> KubeCluster:
        """Use ``settings.kubeconfig``, else the in-cluster service account, else ``~/.kube/config``.

        Every source loads into a fresh ``Configuration``; the library's global default is untouched.
        """
        try:
            if settings.kubeconfig:
                return cls(config.new_client_from_config(config_file=settings.kubeconfig))
            configuration = client.Configuration()
            try:
                config.load_incluster_config(client_configuration=configuration)
            except ConfigException:
                return cls(config.new_client_from_config())
            return cls(client.ApiClient(configuration))
        except (ConfigException, OSError) as exc:
            raise PermanentError(f"cannot load the Kubernetes configuration ({type(exc).__name__})") from None

    def close(self) -> None:
        self.api.close()

    # -- ClusterPort -------------------------------------------------------------------------

    def read_namespace(self, name: str) -> NamespaceInfo | None:
        """One GET; ``None`` when the namespace does not exist."""
        path = resource_path("v1", "Namespace", name)
        body = self._request("GET", path, action=f"read namespace {name}", allowed=(404,))
        return None if body is None else _namespace_info(body, name)

    def list_namespaces(self, label_selector: str) -> list[NamespaceInfo]:
        """Namespaces matching ``label_selector`` (one LIST)."""
        query = [("labelSelector", label_selector)]
        body = self._request("GET", "/api/v1/namespaces", query=query, action="list namespaces") or {}
        return [_namespace_info(item, "") for item in body.get("items") or []]

    def apply(self, manifest: dict) -> None:
        """Server-side apply of one object: a single PATCH, forced, as previewbot's field manager."""
        ref = _ref(manifest)
        path = resource_path(ref.api_version, ref.kind, ref.name, ref.namespace)
        self._request(
            "PATCH",
            path,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=json.dumps(manifest),
            content_type=APPLY_PATCH,
            action=f"apply {_describe(ref)}",
        )

    def delete(self, ref: ObjectRef) -> None:
        """Delete one object in the background; a missing one is fine."""
        path = resource_path(ref.api_version, ref.kind, ref.name, ref.namespace)
        self._request(
            "DELETE",
            path,
            query=[("propagationPolicy", "Background")],
            action=f"delete {_describe(ref)}",
            allowed=(404,),
        )

    def delete_namespace(self, name: str) -> None:
        """Start deleting a namespace; missing or already terminating is fine."""
        path = resource_path("v1", "Namespace", name)
        self._request(
            "DELETE",
            path,
            query=[("propagationPolicy", "Background")],
            action=f"delete namespace {name}",
            allowed=(404, 409),
        )

    # -- for the watcher ---------------------------------------------------------------------

    def list_objects(self, kind: str, label_selector: str) -> tuple[list[dict], str]:
        """Objects of a watched ``kind`` in all namespaces matching ``label_selector``, and their resourceVersion."""
        path, _, api_version, object_kind = _watched(kind)
        query = [("labelSelector", label_selector)] if label_selector else []
        body = self._request("GET", path, query=query, action=f"list {kind}") or {}
        items = [{"apiVersion": api_version, "kind": object_kind, **item} for item in body.get("items") or []]
        return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    def watch_objects(
        self, kind: str, label_selector: str, resource_version: str, timeout_seconds: int = 300
    ) -> Iterator[tuple[str, dict]]:
        """Yield ``(type, object)`` for ADDED, MODIFIED, DELETED and BOOKMARK events of a watched ``kind``.

        Ends when the server closes the watch after ``timeout_seconds``; raises
        :class:`WatchExpired` when ``resource_version`` is too old.
        """
        _, lister, _, _ = _watched(kind)
        stream = watch.Watch(return_type="object").stream(
            lister(self.api),
            label_selector=label_selector,
            resource_version=resource_version,
            timeout_seconds=int(timeout_seconds),
            allow_watch_bookmarks=True,
            _request_timeout=(_connect_timeout(self.request_timeout), timeout_seconds + 30),
        )
        action = f"watch {kind}"
        try:
            for event in stream:
                obj = event.get("raw_object") or {}
                yield str(event.get("type")), obj if isinstance(obj, dict) else {}
        except ApiException as exc:
            metrics.kube_error("watch", exc.status)
            if exc.status == 410:
                raise WatchExpired(f"{action}: resourceVersion {resource_version} is too old") from None
            raise _from_exception(action, exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            metrics.kube_error("watch", None)
            raise _unreachable(action, exc) from None
        finally:
            stream.close()

    def list_deployments(self, label_selector: str) -> tuple[list[dict], str]:
        """Deployments in all namespaces matching ``label_selector`` and the list's resourceVersion."""
        return self.list_objects("deployments", label_selector)

    def watch_deployments(
        self, label_selector: str, resource_version: str, timeout_seconds: int = 300
    ) -> Iterator[tuple[str, dict]]:
        """:meth:`watch_objects` of Deployments."""
        return self.watch_objects("deployments", label_selector, resource_version, timeout_seconds)

    def list_pods(self, namespace: str, label_selector: str = "") -> list[dict]:
        """Pods of one namespace, optionally filtered by labels, as plain dicts."""
        query = [("labelSelector", label_selector)] if label_selector else []
        body = (
            self._request(
                "GET",
                f"/api/v1/namespaces/{quote(namespace, safe='')}/pods",
                query=query,
                action=f"list pods in {namespace}",
            )
            or {}
        )
        return [{"apiVersion": "v1", "kind": "Pod", **item} for item in body.get("items") or []]

    def list_secrets(self, namespace: str) -> list[dict]:
        """Secrets of one namespace (one LIST), as plain dicts; their values are never put in a message."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets"
        body = self._request("GET", path, action=f"list secrets in {namespace}") or {}
        return [item for item in body.get("items") or [] if isinstance(item, dict)]

    def list_events(self, namespace: str) -> list[dict]:
        """Events (``v1``) of one namespace, as plain dicts, in the API's order."""
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/events"
        body = self._request("GET", path, action=f"list events in {namespace}") or {}
        return [item for item in body.get("items") or [] if isinstance(item, dict)]

    # -- plumbing ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        query: list[tuple[str, str]] | None = None,
        body: str | None = None,
        content_type: str | None = None,
        allowed: tuple[int, ...] = (),
    ) -> dict | None:
        """One HTTP call: the decoded JSON answer, ``None`` for an ``allowed`` error status."""
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


def _namespace_info(body: dict, name: str) -> NamespaceInfo:
    meta = body.get("metadata") or {}
    deleting = meta.get("deletionTimestamp")
    return NamespaceInfo(
        name=meta.get("name", name),
        phase=(body.get("status") or {}).get("phase") or "Active",
        annotations=dict(meta.get("annotations") or {}),
        labels=dict(meta.get("labels") or {}),
        deleting_since=deleting if isinstance(deleting, str) else None,
        blockers=blockers(body) if deleting else (),
    )


def _ref(manifest: dict) -> ObjectRef:
    try:
        return ObjectRef.of(manifest)
    except (KeyError, TypeError, AttributeError):
        raise PermanentError("manifest without apiVersion, kind or metadata.name") from None


def _describe(ref: ObjectRef) -> str:
    return f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"


def _connect_timeout(timeout: Any) -> float:
    if isinstance(timeout, tuple):
        return float(timeout[0])
    return float(timeout) if timeout else 10.0
