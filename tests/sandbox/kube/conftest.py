"""Fixtures for the Kubernetes emulator tests: one emulator per module, official clients over HTTP."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

from sandbox.kube import KubeEmulator
from tests.helpers import wait_for

_names = itertools.count()


class Clients:
    """Official API clients for one emulator."""

    def __init__(self, api: kubernetes.client.ApiClient) -> None:
        self.api = api
        self.core = kubernetes.client.CoreV1Api(api)
        self.apps = kubernetes.client.AppsV1Api(api)
        self.net = kubernetes.client.NetworkingV1Api(api)
        self.coord = kubernetes.client.CoordinationV1Api(api)
        self.rbac = kubernetes.client.RbacAuthorizationV1Api(api)


@pytest.fixture(scope="module")
def emu(kube: KubeEmulator) -> KubeEmulator:
    """The shared module-scoped emulator (``kube`` in tests/conftest.py)."""
    return kube


@pytest.fixture(scope="module")
def kubeconfig(emu: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    return emu.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="module")
def k8s(kubeconfig: str) -> Clients:
    return Clients(kubernetes.config.new_client_from_config(config_file=kubeconfig))


@pytest.fixture
def ns(k8s: Clients, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test, once its default contents (published asynchronously) are there."""
    name = f"t{next(_names)}-{request.node.name.replace('_', '-')[:40].lower().strip('-')}"
    k8s.core.create_namespace({"metadata": {"name": name}})
    root_ca = "metadata.name=kube-root-ca.crt"
    wait_for(lambda: k8s.core.list_namespaced_config_map(name, field_selector=root_ca).items, what="kube-root-ca.crt")
    return name


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., Any]:
    return wait_for


def deployment(name: str, image: str = "example/web:v1", replicas: int = 2, **spec: Any) -> dict[str, Any]:
    """A minimal Deployment manifest."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 8080}]}]},
            },
            **spec,
        },
    }


@pytest.fixture(name="deployment")
def deployment_fixture() -> Callable[..., dict[str, Any]]:
    return deployment
