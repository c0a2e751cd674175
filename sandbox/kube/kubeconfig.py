"""Kubeconfig documents pointing at the emulator."""

from __future__ import annotations

import os
from typing import Any

import yaml

NAME = "sandbox"


def kubeconfig(url: str, token: str) -> dict[str, Any]:
    """A kubeconfig with cluster, user and context all named ``sandbox``."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": {"server": url}}],
        "users": [{"name": NAME, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }


def write(path: str | os.PathLike[str], url: str, token: str) -> str:
    """Write the kubeconfig file and return its path."""
    target = os.fspath(path)
    parent = os.path.dirname(target)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(target, "w", encoding="utf-8") as fh:
        yaml.safe_dump(kubeconfig(url, token), fh, sort_keys=False)
    return target
