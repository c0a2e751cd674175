"""End-to-end fixtures: emulators in this process, previewbot's processes as real subprocesses."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN, previewbot_token
from tests.e2e.harness import Stack

SECRET = "e2e-webhook-secret"
REPO = "acme/web-shop"


def make_stack(kube, gh, redis_url: str, workdir: Path, db: int, **extra: str) -> Stack:
    """previewbot's three processes on Redis database ``db``, with ``extra`` settings, as its ServiceAccount."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(workdir),
        "PYTHONUNBUFFERED": "1",
        "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET,
        "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
        "PREVIEWBOT_GITHUB_API_URL": gh.url,
        "PREVIEWBOT_REDIS_URL": redis_url.rsplit("/", 1)[0] + f"/{db}",
        "PREVIEWBOT_KUBECONFIG": kube.write_kubeconfig(str(workdir / "kubeconfig"), previewbot_token(kube)),
        "PREVIEWBOT_PREVIEW_DOMAIN": "preview.test",
        "PREVIEWBOT_IMAGE_TEMPLATE": "example.org/{repo}:{branch}-{short_sha}",
        "PREVIEWBOT_PROGRESS_DEADLINE_SECONDS": "60",
        "PREVIEWBOT_LOCK_TTL_SECONDS": "5",
        "PREVIEWBOT_VISIBILITY_TIMEOUT_SECONDS": "3",
        "PREVIEWBOT_WATCH_RESYNC_SECONDS": "120",
        "PREVIEWBOT_LOG_LEVEL": "INFO",
        # a budget these tests never reach (tests/integration/test_budget.py covers pacing)
        "PREVIEWBOT_GITHUB_WRITES_PER_MINUTE": "6000",
        "PREVIEWBOT_GITHUB_WRITE_BURST": "500",
        "PREVIEWBOT_METRICS_PORT": "0",  # tests/e2e/test_metrics.py gives each process a port of its own
        **extra,
    }
    gh.add_repo(REPO)
    return Stack(env=env, logdir=workdir)


@pytest.fixture(scope="module")
def stack(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    db = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) + 1
    stack = make_stack(kube, gh, redis_url, tmp_path_factory.mktemp("e2e"), db)
    stack.start_all()
    yield stack
    stack.stop_all()
