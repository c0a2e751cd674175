"""Metrics after a pull request's life through real processes: each process's /metrics shows what happened.

web, worker and watcher each serve their own metrics (the worker's and the watcher's on a port of their own);
after open → ready → push → ready → close, the counts must match what the test did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import free_port, wait_for

PR = 60


@pytest.fixture(scope="module")
def stack(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("e2e-metrics")
    stack = make_stack(kube, gh, redis_url, workdir, 10)
    stack.only = {name: {"PREVIEWBOT_METRICS_PORT": str(free_port())} for name in ("worker", "watcher")}
    (workdir / "metrics-web").mkdir()
    stack.only["web"] = {"PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics-web")}  # gunicorn's 2 processes, summed
    stack.start_all()
    yield stack
    stack.stop_all()


def scrape(url: str) -> dict[str, float]:
    """Every sample of a Prometheus text page, by its name and labels as written."""
    samples = {}
    for line in requests.get(url, timeout=5).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    found = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(re.search(rf'{k}="{re.escape(v)}"', rest) for k, v in labels.items()):
            found += value
    return found


def port(stack: Stack, name: str) -> str:
    return stack.only[name]["PREVIEWBOT_METRICS_PORT"]


def success(gh, sha: str) -> bool:
    return any(s["state"] == "success" for s in gh.statuses(REPO, sha))


def test_metrics_count_a_pull_requests_life(gh, kube, stack: Stack) -> None:
    def deliver(action: str) -> None:
        delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", action, REPO, PR)
        assert delivery.status_code == 202, delivery.response_body

    first = gh.open_pr(REPO, PR, branch="metrics")["head"]["sha"]
    deliver("opened")
    wait_for(lambda: success(gh, first), 60, what="first head ready")
    second = gh.push(REPO, PR)
    deliver("synchronize")
    wait_for(lambda: success(gh, second), 60, what="second head ready")
    gh.close_pr(REPO, PR)
    deliver("closed")
    namespace = naming.namespace_name(REPO, PR)
    wait_for(lambda: namespace not in {n["metadata"]["name"] for n in kube.objects("namespaces")}, 60, what="gone")

    web = scrape(f"http://127.0.0.1:{stack.port}/metrics")
    assert total(web, "previewbot_webhooks_total", event="pull_request", result="queued") == 3

    worker_url = f"http://127.0.0.1:{port(stack, 'worker')}/metrics"
    ran = lambda task: total(scrape(worker_url), "previewbot_task_duration_seconds_count", task=task)  # noqa: E731
    wait_for(lambda: ran("sync_preview") >= 2 and ran("teardown_preview") >= 1, 30, what="the worker's task counts")
    worker = scrape(worker_url)
    assert total(worker, "previewbot_queue_wait_seconds_count") >= 3
    assert total(worker, "previewbot_github_requests_total") > 0

    watcher_url = f"http://127.0.0.1:{port(stack, 'watcher')}/metrics"
    ready = lambda: total(scrape(watcher_url), "previewbot_webhook_to_ready_seconds_count")  # noqa: E731
    wait_for(lambda: ready() == 2, 30, what="two heads timed from webhook to ready")
    watcher = scrape(watcher_url)
    assert total(watcher, "previewbot_webhook_to_failure_seconds_count") == 0
    assert total(watcher, "previewbot_watcher_leader") == 1
    for name in ("worker", "watcher"):
        health = requests.get(f"http://127.0.0.1:{port(stack, name)}/readyz", timeout=10)
        assert health.status_code == 200, health.text
