"""Reads of the Kubernetes API: cluster-wide list and watch for the watcher, and per-namespace lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from integrations import metrics
from integrations.kube_http import KubeHttp, _connect_timeout, _from_exception, _unreachable
from preview.ports import PermanentError

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


class KubeReads(KubeHttp):
    """List and watch previewbot's objects, and list the objects of one namespace."""

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

    def deployments_in(self, namespace: str) -> list[dict]:
        """The Deployments of one namespace (one LIST), as plain dicts."""
        path = f"/apis/apps/v1/namespaces/{quote(namespace, safe='')}/deployments"
        body = self._request("GET", path, action=f"list deployments in {namespace}") or {}
        return [{"apiVersion": "apps/v1", "kind": "Deployment", **item} for item in body.get("items") or []]
