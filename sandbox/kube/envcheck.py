"""The kubelet's container environment resolution: missing Secrets and ConfigMaps.

A container whose ``env``/``envFrom`` names a Secret, ConfigMap or key that does not exist (and is not
``optional``) cannot be created; the kubelet reports ``CreateContainerConfigError`` with the message
below and tries again on its next sync of the pod.
"""

from __future__ import annotations

from typing import Any

from .resources import BY_KEY
from .store import Store

SOURCES = {
    "configMapRef": (BY_KEY["configmaps"], "configmap", "ConfigMap"),
    "configMapKeyRef": (BY_KEY["configmaps"], "configmap", "ConfigMap"),
    "secretRef": (BY_KEY["secrets"], "secret", "Secret"),
    "secretKeyRef": (BY_KEY["secrets"], "secret", "Secret"),
}


def _source(env_source: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for field in SOURCES:
        if isinstance(env_source.get(field), dict):
            return field, env_source[field]
    return None


def _lookup(store: Store, namespace: str, field: str, ref: dict[str, Any], key: str | None) -> str | None:
    """Error text for one reference, or None when it resolves (or may be skipped as optional)."""
    res, noun, kind = SOURCES[field]
    name = str(ref.get("name") or "")
    optional = ref.get("optional") is True
    obj = store.peek(res, namespace, name)
    if obj is None:
        return None if optional else f'{noun} "{name}" not found'
    if key is not None and key not in (obj.get("data") or {}):
        return None if optional else f"couldn't find key {key} in {kind} {namespace}/{name}"
    return None


def config_error(store: Store, namespace: str, container: dict[str, Any]) -> str | None:
    """Why the container's environment cannot be built, in the kubelet's words, or None."""
    with store.lock:
        for env_from in container.get("envFrom") or []:
            found = _source(env_from or {})
            if found is not None:
                problem = _lookup(store, namespace, found[0], found[1], None)
                if problem:
                    return problem
        for env in container.get("env") or []:
            if (env or {}).get("value") or not isinstance(env.get("valueFrom"), dict):
                continue
            found = _source(env["valueFrom"])
            if found is not None and found[0].endswith("KeyRef"):
                problem = _lookup(store, namespace, found[0], found[1], str(found[1].get("key") or ""))
                if problem:
                    return problem
    return None
