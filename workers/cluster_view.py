"""The watcher's memory of previewbot's namespaces, Deployments and Pods, kept slim.

Fed by the watch streams; only the fields the rollout mapping reads are kept, so a thousand
previews cost a few megabytes. Every change names the namespace it touched, so the watcher
reconciles exactly the previews that changed.
"""

from __future__ import annotations

from collections import defaultdict

from preview.blue_green import SHA_LABEL
from preview.naming import PREFIX, Annotations
from workers.streams import Changed, Listed

KINDS = ("namespaces", "deployments", "pods")


def _annotations(meta: dict, keep: tuple[str, ...] | None = None) -> dict[str, str]:
    found = meta.get("annotations") or {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if (k in keep if keep else k.startswith(PREFIX + "/"))}


def _meta(obj: dict, *extra: str) -> dict:
    meta = obj.get("metadata") or {}
    out = {k: meta[k] for k in ("name", "namespace", "uid", "deletionTimestamp", *extra) if k in meta}
    return out


def _failure(condition: dict) -> bool:
    """A condition whose message the status quotes: pods the controller could not create."""
    return condition.get("type") == "ReplicaFailure" and isinstance(condition.get("message"), str)


def slim(kind: str, obj: dict) -> dict:
    """The parts of ``obj`` the watcher reads."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if kind == "namespaces":
        return {"metadata": {**_meta(obj), "annotations": _annotations(meta)}, "status": {"phase": status.get("phase")}}
    if kind == "deployments":
        spec = obj.get("spec") or {}
        template = (spec.get("template") or {}).get("metadata") or {}
        keep = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        conditions = [
            {k: c.get(k) for k in ("type", "status", "reason", "message") if k != "message" or _failure(c)}
            for c in status.get("conditions") or ()
            if isinstance(c, dict)
        ]
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        commit = match.get(SHA_LABEL) if isinstance(match, dict) else None  # a blue-green Deployment's commit
        return {
            "metadata": _meta(obj, "generation"),
            "spec": {
                "replicas": spec.get("replicas", 1),
                **({"selector": {"matchLabels": {SHA_LABEL: commit}}} if isinstance(commit, str) else {}),
                "template": {"metadata": {"annotations": _annotations(template, (Annotations.SHA,))}},
            },
            "status": {**{k: status[k] for k in keep if k in status}, "conditions": conditions},
        }
    containers = []
    for entry in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if isinstance(entry, dict):
            state = entry.get("state") or {}
            containers.append(
                {
                    "name": entry.get("name"),
                    "restartCount": entry.get("restartCount"),
                    "state": {"waiting": state["waiting"]} if isinstance(state.get("waiting"), dict) else {},
                }
            )
    return {
        "metadata": {**_meta(obj), "annotations": _annotations(meta, (Annotations.SHA,))},
        "status": {"containerStatuses": containers},
    }


class ClusterView:
    """Namespaces by name; Deployments and Pods by namespace and name."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}
        self.deployments: dict[str, dict[str, dict]] = defaultdict(dict)
        self.pods: dict[str, dict[str, dict]] = defaultdict(dict)

    def apply(self, event: Listed | Changed) -> set[str]:
        """Take one stream event; return the namespaces whose preview may have changed."""
        if isinstance(event, Listed):
            return self._replace(event.kind, event.items)
        meta = event.obj.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str):
            return set()
        if event.kind == "namespaces":
            if event.type == "DELETED":
                self.namespaces.pop(name, None)
                self.deployments.pop(name, None)
                self.pods.pop(name, None)
            else:
                self.namespaces[name] = slim("namespaces", event.obj)
            return {name}
        namespace = meta.get("namespace")
        if not isinstance(namespace, str):
            return set()
        bucket = self.deployments if event.kind == "deployments" else self.pods
        if event.type == "DELETED":
            bucket[namespace].pop(name, None)
        else:
            bucket[namespace][name] = slim(event.kind, event.obj)
        return {namespace}

    def _replace(self, kind: str, items: list[dict]) -> set[str]:
        touched: set[str] = set(self.namespaces) | set(self.deployments) | set(self.pods)
        if kind == "namespaces":
            self.namespaces = {}
            for item in items:
                name = (item.get("metadata") or {}).get("name")
                if isinstance(name, str):
                    self.namespaces[name] = slim(kind, item)
            return touched | set(self.namespaces)
        bucket: dict[str, dict[str, dict]] = defaultdict(dict)
        for item in items:
            meta = item.get("metadata") or {}
            if isinstance(meta.get("namespace"), str) and isinstance(meta.get("name"), str):
                bucket[meta["namespace"]][meta["name"]] = slim(kind, item)
        if kind == "deployments":
            self.deployments = bucket
        else:
            self.pods = bucket
        return touched | set(bucket)
