"""The Kubernetes adapter (:class:`preview.ports.ClusterPort`): server-side apply, patches, deletes and
namespace reads; the reads the watcher needs come from :class:`integrations.kube_watch.KubeReads`."""

from __future__ import annotations

import json
from collections.abc import Mapping

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from integrations.kube_http import APPLY_PATCH, MERGE_PATCH, RESOURCES, _verb, api_error, resource_path
from integrations.kube_watch import WATCHED, KubeReads, WatchExpired
from preview.garbage_collector import blockers
from preview.models import NamespaceInfo, ObjectRef
from preview.naming import FIELD_MANAGER
from preview.ports import PermanentError
from preview.settings import Settings

__all__ = ["RESOURCES", "WATCHED", "KubeCluster", "WatchExpired", "_verb", "api_error", "resource_path"]


class KubeCluster(KubeReads):
    """:class:`preview.ports.ClusterPort` over one ``ApiClient``, plus list/watch for the watcher."""

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

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        """Set a Deployment's replicas through its ``scale`` subresource; a missing one is fine."""
        path = resource_path("apps/v1", "Deployment", name, namespace) + "/scale"
        self._request(
            "PATCH",
            path,
            query=[("fieldManager", FIELD_MANAGER)],
            body={"spec": {"replicas": replicas}},  # a dict: the client encodes JSON bodies itself
            content_type=MERGE_PATCH,
            action=f"scale Deployment {namespace}/{name}",
            allowed=(404,),
        )

    def patch(self, ref: ObjectRef, patch: dict) -> None:
        """A JSON merge patch of one object, as previewbot's field manager."""
        self._request(
            "PATCH",
            resource_path(ref.api_version, ref.kind, ref.name, ref.namespace),
            query=[("fieldManager", FIELD_MANAGER)],
            body=patch,
            content_type=MERGE_PATCH,
            action=f"patch {_describe(ref)}",
        )

    def annotate_namespace(self, name: str, annotations: Mapping[str, str | None]) -> None:
        """Set (or with ``None`` remove) annotations of a namespace with one merge patch."""
        self._request(
            "PATCH",
            resource_path("v1", "Namespace", name),
            query=[("fieldManager", FIELD_MANAGER)],
            body={"metadata": {"annotations": dict(annotations)}},
            content_type=MERGE_PATCH,
            action=f"annotate namespace {name}",
        )


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
