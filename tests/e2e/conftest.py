"""End-to-end fixtures: emulators in this process, previewbot's processes as real subprocesses."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from kubernetes.client import CoreV1Api

from tests.conftest import TOKEN, previewbot_token
from tests.e2e.harness import Stack
from tests.helpers import wait_for

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


def web_apart(kube, back: Stack, workdir: Path) -> Stack:
    """A stack for web alone, as the ServiceAccount previewbot-web (the dashboard's read-only rights), with
    ``back``'s settings; ``back`` runs worker and watcher as previewbot's own ServiceAccount."""
    if not [a for a in kube.objects("serviceaccounts", "previewbot") if a["metadata"]["name"] == "previewbot-web"]:
        account = {"metadata": {"name": "previewbot-web"}}
        CoreV1Api(kube.api_client()).create_namespaced_service_account("previewbot", account)
    token = kube.service_account_token("previewbot", "previewbot-web")
    config = kube.write_kubeconfig(workdir / "web-kubeconfig", token)
    (workdir / "web").mkdir()
    return Stack(env={**back.env, "PREVIEWBOT_KUBECONFIG": config}, logdir=workdir / "web")


@contextmanager
def running_apart(web: Stack, back: Stack, timeout: float) -> Iterator[tuple[Stack, Stack]]:
    """Start web (from ``web``), worker and watcher (from ``back``), wait until all answer; stop them after."""
    try:
        web.start("web")
        back.start("worker")
        back.start("watcher")
        wait_for(lambda: _up(web, back), timeout, 0.1, what="web, worker and watcher")
        yield back, web
    finally:
        web.stop_all()
        back.stop_all()


def _up(web: Stack, back: Stack) -> bool:
    for stack, name in ((web, "web"), (back, "worker"), (back, "watcher")):
        if stack.procs[name].poll() is not None:
            raise AssertionError(f"{name} exited:\n{stack.log(name)[-3000:]}")
    try:
        healthy = requests.get(f"http://127.0.0.1:{web.port}/healthz", timeout=2).ok
    except requests.RequestException:
        return False
    return healthy and "ready." in back.log("worker") and "listed" in back.log("watcher")
