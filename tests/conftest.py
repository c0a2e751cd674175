"""Shared fixtures: a private redis-server per test session on a free port."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
import redis

from tests.helpers import free_port, wait_for


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
    """A Kubernetes API emulator for one test module (rollouts 20x faster than real)."""
    from sandbox.kube import KubeEmulator

    emulator = KubeEmulator(speed=20).start()
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
    """``PREVIEWBOT_*`` variables pointing a worker or watcher at the emulators and Redis."""
    return {
        "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
        "PREVIEWBOT_GITHUB_API_URL": gh.url,
        "PREVIEWBOT_REDIS_URL": redis_url,
        "PREVIEWBOT_KUBECONFIG": kube.write_kubeconfig(str(tmp_path / "kubeconfig")),
        "PREVIEWBOT_PREVIEW_DOMAIN": "preview.test",
        "PREVIEWBOT_GITHUB_WRITE_INTERVAL": "0",
    }
