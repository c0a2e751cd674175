"""A task stopped by its time limit ends in a status, not in silence (real worker process, prefork pool)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import REPO, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

LIMIT = 5


@pytest.fixture(scope="module")
def stack(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("e2e-limits")
    stack = make_stack(kube, gh, redis_url, workdir, 9, PREVIEWBOT_TASK_TIME_LIMIT_SECONDS=str(LIMIT))
    stack.start_all()
    yield stack
    stack.stop_all()


def test_a_task_past_its_time_limit_ends_in_a_failure_status(gh, kube, stack: Stack) -> None:
    from tests.e2e.conftest import SECRET

    sha = gh.open_pr(REPO, 40, branch="slow-cluster")["head"]["sha"]
    kube.set_latency(LIMIT + 3)  # every Kubernetes answer now takes longer than the task may run
    try:
        delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", "opened", REPO, 40)
        assert delivery.status_code == 202
        failed = lambda: [s for s in gh.statuses(REPO, sha) if s["state"] == "failure"]  # noqa: E731
        (status, *_) = wait_for(failed, 60, what="a failure status after the time limit")
    finally:
        kube.set_latency(0)
    assert status["description"] == f"Gave up: the task ran longer than {LIMIT} s"
