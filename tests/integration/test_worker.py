"""A real Celery worker (in a thread) consuming intake messages, against the emulators and Redis."""

from __future__ import annotations

import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from preview import naming
from preview.models import Command, CommandKind
from preview.settings import load
from tests.helpers import wait_for
from workers.celery_app import make_celery
from workers.enqueue import Enqueuer

REPO = "acme/api"


@pytest.fixture
def worker(gh, bot_env: dict[str, str], redis_url: str, redis_db: redis.Redis):
    gh.add_repo(REPO)
    settings = load(bot_env)
    app = make_celery(settings)
    enqueuer = Enqueuer(redis.Redis.from_url(redis_url), app, 600)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield enqueuer


def command(kind: CommandKind, number: int, sha: str) -> Command:
    return Command(kind, REPO, number, None, sha, str(uuid.uuid4()))


def test_sync_then_teardown(worker: Enqueuer, gh, kube) -> None:
    pr = gh.open_pr(REPO, 11, branch="topic")
    sha = pr["head"]["sha"]
    ns = naming.namespace_name(REPO, 11)
    assert worker.submit(command(CommandKind.SYNC, 11, sha))
    wait_for(lambda: kube.objects("deployments", ns), 30, what="deployment applied")
    wait_for(
        lambda: any(
            s["state"] == "pending" and s["description"].startswith("Deploying") for s in gh.statuses(REPO, sha)
        ),
        30,
        what="pending status",
    )
    patches = [r for r in kube.requests if r.namespace == ns and r.verb in ("apply", "patch")]
    assert patches, "server-side apply was used"
    gh.close_pr(REPO, 11)
    assert worker.submit(command(CommandKind.TEARDOWN, 11, sha))
    wait_for(lambda: not [n for n in kube.objects("namespaces") if n["metadata"]["name"] == ns], 30, what="gone")


def test_transient_kubernetes_errors_are_retried(worker: Enqueuer, gh, kube) -> None:
    pr = gh.open_pr(REPO, 12, branch="topic")
    ns = naming.namespace_name(REPO, 12)
    kube.inject_fault("get", "namespaces", 503, count=2)
    assert worker.submit(command(CommandKind.SYNC, 12, pr["head"]["sha"]))
    wait_for(lambda: kube.objects("deployments", ns), 60, what="deployment after retries")
    errors = [r for r in kube.requests if r.resource == "namespaces" and r.status == 503]
    assert len(errors) == 2


def test_quick_pushes_end_in_one_rollout_of_the_newest(worker: Enqueuer, gh, kube) -> None:
    pr = gh.open_pr(REPO, 13, branch="topic")
    shas = [pr["head"]["sha"], gh.push(REPO, 13), gh.push(REPO, 13)]
    ns = naming.namespace_name(REPO, 13)
    for sha in shas:
        assert worker.submit(command(CommandKind.SYNC, 13, sha))
    applied = lambda: [  # noqa: E731
        d
        for d in kube.objects("deployments", ns)
        if d["spec"]["template"]["metadata"]["annotations"]["previewbot.io/sha"]
    ]
    (deployment,) = wait_for(applied, 30, what="the newest head applied")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["previewbot.io/sha"] == shas[-1]
    assert len(wait_for(lambda: kube.objects("replicasets", ns), 30, what="its ReplicaSet")) == 1
    assert gh.statuses(REPO, shas[0]) == [] and gh.statuses(REPO, shas[1]) == []


def test_github_errors_are_retried_then_converge(worker: Enqueuer, gh, kube) -> None:
    pr = gh.open_pr(REPO, 14, branch="topic")
    ns = naming.namespace_name(REPO, 14)
    gh.inject_fault("GET", r"/repos/acme/api/pulls/14$", 502, count=5)
    assert worker.submit(command(CommandKind.SYNC, 14, pr["head"]["sha"]))
    wait_for(lambda: kube.objects("deployments", ns), 60, what="deployment after GitHub errors")
    failed = [r for r in gh.requests if r[1].endswith("/pulls/14") and r[2] == 502]
    assert len(failed) == 5
