"""previewbot's own identity in an emulator: its ServiceAccount and the RBAC manifests of ``k8s/deploy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from .emulator import KubeEmulator

#: previewbot's ServiceAccount (namespace, name), as k8s/deploy/base/rbac.yaml defines it
SERVICE_ACCOUNT = ("previewbot", "previewbot")
PREVIEWBOT_USER = "system:serviceaccount:{}:{}".format(*SERVICE_ACCOUNT)
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "k8s" / "deploy" / "base"
DEPLOY_MANIFESTS = (DEPLOY_DIR / "rbac.yaml", DEPLOY_DIR / "admission-policy.yaml")


def previewbot_token(emulator: KubeEmulator) -> str:
    """A token of previewbot's ServiceAccount; installs previewbot's RBAC manifests (as the admin) first if needed."""
    from kubernetes import client, utils

    namespace, name = SERVICE_ACCOUNT
    if not [b for b in emulator.objects("clusterrolebindings") if b["metadata"]["name"] == "previewbot"]:
        api = emulator.api_client()
        try:
            docs = [doc for path in DEPLOY_MANIFESTS for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
            existing = {n["metadata"]["name"] for n in emulator.objects("namespaces")}
            wanted = {namespace} | {d["metadata"]["namespace"] for d in docs if d and d["metadata"].get("namespace")}
            for name_ in sorted(wanted - existing):  # previewbot's own, and the source of copied Secrets
                client.CoreV1Api(api).create_namespace({"metadata": {"name": name_}})
            for doc in docs:
                if doc:
                    utils.create_from_dict(api, doc)
        finally:
            api.close()
    return emulator.service_account_token(namespace, name)
