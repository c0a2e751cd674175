"""Integration fixtures: previewbot reaches every Kubernetes emulator a fixture provides as its ServiceAccount.

A module may start its own emulator (e.g. one at real speed); once a fixture hands it out, previewbot's
RBAC manifests are installed in it and its kubeconfigs carry previewbot's token. The adapter tests
(``test_kube_adapter.py``) exercise the adapter itself and keep the admin.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import previewbot_token

ADMIN_MODULES = ("test_kube_adapter",)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> Iterator[None]:
    """Run previewbot under its RBAC in each emulator a fixture yields."""
    outcome = yield
    from sandbox.kube import KubeEmulator

    if outcome.excinfo is not None or getattr(request.module, "__name__", "").endswith(ADMIN_MODULES):
        return
    emulator = outcome.get_result()
    if isinstance(emulator, KubeEmulator) and emulator.kubeconfig_token == emulator.token:
        emulator.kubeconfig_token = previewbot_token(emulator)
