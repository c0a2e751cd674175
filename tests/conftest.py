"""Shared fixtures: a private redis-server per test session on a free port, the emulators, previewbot's settings.

previewbot always reaches the Kubernetes emulators with its own ServiceAccount's token, under exactly the
RBAC of ``k8s/deploy/rbac.yaml``; tests set up and assert as the emulator's admin. Every emulator created
during the test run is audited (:data:`KUBE_AUDIT`), and ``tests/integration/test_rbac.py`` runs last to
compare what previewbot's requests needed with what the manifests grant.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import redis
import yaml

from sandbox.kube.audit import Audit
from tests.helpers import ROOT, free_port, wait_for

if TYPE_CHECKING:
    from sandbox.kube import KubeEmulator

#: previewbot's ServiceAccount (namespace, name), as k8s/deploy/rbac.yaml defines it
SERVICE_ACCOUNT = ("previewbot", "previewbot")
PREVIEWBOT_USER = "system:serviceaccount:{}:{}".format(*SERVICE_ACCOUNT)
DEPLOY_MANIFESTS = (ROOT / "k8s" / "deploy" / "rbac.yaml", ROOT / "k8s" / "deploy" / "admission-policy.yaml")
RBAC_TEST = "tests/integration/test_rbac.py"

#: the request logs of every Kubernetes emulator created in this test run
KUBE_AUDIT = Audit().start()


def previewbot_token(emulator: KubeEmulator) -> str:
    """A token of previewbot's ServiceAccount; installs previewbot's RBAC manifests (as the admin) first if needed."""
    from kubernetes import client, utils

    namespace, name = SERVICE_ACCOUNT
    if not [b for b in emulator.objects("clusterrolebindings") if b["metadata"]["name"] == "previewbot"]:
        api = emulator.api_client()
        try:
            if not [n for n in emulator.objects("namespaces") if n["metadata"]["name"] == namespace]:
                client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
            for path in DEPLOY_MANIFESTS:
                for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                    if doc:
                        utils.create_from_dict(api, doc)
        finally:
            api.close()
    return emulator.service_account_token(namespace, name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the RBAC comparison after everything else, so it sees every request previewbot made."""
    items.sort(key=lambda item: item.nodeid.startswith(RBAC_TEST))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start our own redis-server (never a shared one) and yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_for(up, 10, what="redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[redis.Redis]:
    """A client on the session's private server, emptied after each test."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.flushdb()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ARG001
    """Expose each phase's report on the item (``item.rep_call``) for log-dumping fixtures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


TOKEN = "test-token"


@pytest.fixture(scope="module")
def kube():
    """A Kubernetes API emulator for one test module (rollouts 20x faster than real), with previewbot's RBAC."""
    from sandbox.kube import KubeEmulator

    emulator = KubeEmulator(speed=20).start()
    previewbot_token(emulator)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def gh():
    """A GitHub API emulator for one test module that accepts :data:`TOKEN`."""
    from sandbox.github import GitHubEmulator

    emulator = GitHubEmulator().start()
    emulator.add_token(TOKEN)
    yield emulator
    emulator.stop()


@pytest.fixture
def bot_env(kube, gh, redis_url: str, tmp_path) -> dict[str, str]:
    """``PREVIEWBOT_*`` variables pointing a worker or watcher at the emulators (as previewbot's ServiceAccount)."""
    return {
        "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
        "PREVIEWBOT_GITHUB_API_URL": gh.url,
        "PREVIEWBOT_REDIS_URL": redis_url,
        "PREVIEWBOT_KUBECONFIG": kube.write_kubeconfig(str(tmp_path / "kubeconfig"), previewbot_token(kube)),
        "PREVIEWBOT_PREVIEW_DOMAIN": "preview.test",
        "PREVIEWBOT_GITHUB_WRITE_INTERVAL": "0",
    }
