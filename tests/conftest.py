"""Shared fixtures: a private redis-server per test session on a free port, the emulators, previewbot's settings.

previewbot always reaches the Kubernetes emulators with its own ServiceAccount's token, under exactly the
RBAC of ``k8s/deploy/base/rbac.yaml``; tests set up and assert as the emulator's admin. Every emulator created
during the test run is audited (:data:`KUBE_AUDIT`), and ``tests/integration/test_rbac.py`` runs last to
compare what previewbot's requests needed with what the manifests grant.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import redis

from bench.stack import start_redis, stop
from sandbox.kube.audit import Audit
from sandbox.kube.previewbot import (  # noqa: F401 - re-exported for the tests
    DEPLOY_MANIFESTS,
    PREVIEWBOT_USER,
    SERVICE_ACCOUNT,
    previewbot_token,
)

RBAC_TEST = "tests/integration/test_rbac.py"

#: the request logs of every Kubernetes emulator created in this test run
KUBE_AUDIT = Audit().start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the RBAC comparison after everything else, so it sees every request previewbot made."""
    items.sort(key=lambda item: item.nodeid.startswith(RBAC_TEST))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start our own redis-server (never a shared one) and yield its URL."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (make test installs it)")
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(proc)


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
        # every test repository shares one owner: a budget no test reaches unless it sets its own
        "PREVIEWBOT_GITHUB_WRITES_PER_MINUTE": "6000",
        "PREVIEWBOT_GITHUB_WRITE_BURST": "500",
    }
