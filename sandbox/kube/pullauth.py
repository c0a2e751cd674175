"""Private registries: which containers' images the kubelet may pull with the pod's ``imagePullSecrets``.

The sandbox's convention: a registry whose host starts with ``private.`` (``private.example.com/app:v1``)
requires credentials. The pull succeeds only when the pod names, in ``spec.imagePullSecrets``, a Secret of its
namespace of type ``kubernetes.io/dockerconfigjson`` whose ``.dockerconfigjson`` has ``auths`` for that host
(keys may be ``host``, ``https://host`` or ``https://host/v1/``). Public images need nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlparse

from . import imageref
from .resources import BY_KEY
from .store import Store

PRIVATE_PREFIX = "private."
DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"


def registry_host(image: str) -> str | None:
    try:
        return imageref.parse(image).domain.lower()
    except ValueError:
        return None


def is_private(image: str) -> bool:
    host = registry_host(image)
    return host is not None and host.startswith(PRIVATE_PREFIX)


def _hosts(secret: dict[str, Any]) -> set[str]:
    if secret.get("type") != DOCKERCONFIGJSON:
        return set()
    try:
        raw = base64.b64decode((secret.get("data") or {}).get(".dockerconfigjson") or "", validate=True)
        auths = json.loads(raw).get("auths") or {}
    except (ValueError, AttributeError):
        return set()
    hosts = set()
    for key in auths if isinstance(auths, dict) else ():
        text = str(key).lower()
        hosts.add(urlparse(text).netloc if "://" in text else text.split("/", 1)[0])
    return hosts


def denied(store: Store, namespace: str, pod: dict[str, Any]) -> frozenset[str]:
    """Names of the pod's containers whose private image the pod has no credentials for."""
    spec = pod.get("spec") or {}
    private = {
        str(c.get("name", "")): registry_host(str(c.get("image", "")))
        for c in spec.get("containers") or []
        if is_private(str(c.get("image", "")))
    }
    if not private:
        return frozenset()
    hosts: set[str] = set()
    with store.lock:
        for ref in spec.get("imagePullSecrets") or []:
            secret = store.peek(BY_KEY["secrets"], namespace, str((ref or {}).get("name") or ""))
            if secret is not None:
                hosts |= _hosts(secret)
    return frozenset(name for name, host in private.items() if host not in hosts)
