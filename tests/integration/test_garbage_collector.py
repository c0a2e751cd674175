"""Garbage collection against the emulators, Redis and a real Celery worker: previews whose pull request
GitHub no longer shows as open go, open ones stay, stuck namespaces are reported with what blocks them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from kubernetes import client

from integrations.kube import WatchExpired
from preview import naming
from preview.garbage_collector import Reason, Result
from preview.lifecycle import Outcome
from preview.models import PullRef
from preview.settings import Settings, load
from sandbox.github import GitHubEmulator
from tests.helpers import rsa_keypair, wait_for
from workers.celery_app import QUEUE, make_celery
from workers.enqueue import Enqueuer
from workers.garbage_collector import InBackground, build
from workers.runtime import Runtime
from workers.watcher import Watcher

REPO = "acme/collected"
HOLD = "example.com/hold"


@pytest.fixture
def env(gh, bot_env: dict[str, str]) -> dict[str, str]:
    gh.add_repo(REPO)
    return {**bot_env, "PREVIEWBOT_GC_TERMINATING_SECONDS": "1"}


@pytest.fixture
def runtime(env: dict[str, str], redis_db: redis.Redis) -> Runtime:
    return Runtime(load(env))


@contextmanager
def worker_for(settings: Settings, redis_url: str) -> Iterator[Enqueuer]:
    """A real Celery worker (in a thread) on ``settings``, and the queue that feeds it."""
    app = make_celery(settings)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield Enqueuer(redis.Redis.from_url(redis_url), app, 600)


@pytest.fixture
def enqueuer(runtime: Runtime, redis_url: str) -> Iterator[Enqueuer]:
    with worker_for(runtime.settings, redis_url) as queue:
        yield queue


def deploy(runtime: Runtime, gh, number: int, repo: str = REPO, installation: int | None = None) -> str:
    sha = gh.open_pr(repo, number, branch=f"gc-{number}")["head"]["sha"]
    assert runtime.lifecycle.sync(PullRef(repo, number, installation), sha) is Outcome.DEPLOYED
    return naming.namespace_name(repo, number)


def namespace(kube, name: str) -> dict | None:
    return next((n for n in kube.objects("namespaces") if n["metadata"]["name"] == name), None)


def live(kube, name: str) -> bool:
    found = namespace(kube, name)
    return found is not None and not found["metadata"].get("deletionTimestamp")


def removed(result: Result) -> dict[str, Reason]:
    return {d.namespace: d.reason for d in result.removed}


def deployment_states(gh, repo: str, number: int) -> list[str]:
    found = [d for d in gh.deployments(repo) if d["environment"] == f"preview/pr-{number}"]
    return [s["state"] for d in found for s in gh.deployment_statuses(repo, d["id"])]


def writes(gh, repo: str) -> int:
    return sum(1 for method, path, _ in gh.requests if method != "GET" and path.startswith(f"/repos/{repo}/"))


def test_a_pr_closed_while_previewbot_was_down_loses_its_preview(runtime: Runtime, enqueuer: Enqueuer, gh, kube):
    closed, merged, kept = deploy(runtime, gh, 41), deploy(runtime, gh, 42), deploy(runtime, gh, 43)
    gh.close_pr(REPO, 41)  # no webhook delivered: only GitHub knows
    gh.close_pr(REPO, 42, merged=True)

    result = build(runtime, enqueuer).run()

    assert {closed: Reason.CLOSED, merged: Reason.MERGED}.items() <= removed(result).items()
    assert kept not in removed(result) and result.kept >= 1 and not result.dry_run
    assert {d.outcome for d in result.removed if d.namespace in (closed, merged)} == {"queued"}
    wait_for(lambda: namespace(kube, closed) is None and namespace(kube, merged) is None, 60, what="both removed")
    assert live(kube, kept)
    # through the normal teardown: the GitHub Deployment goes inactive and the comment says so
    wait_for(lambda: deployment_states(gh, REPO, 41)[-1:] == ["inactive"], 30, what="deployment inactive")
    wait_for(lambda: any("**Removed**" in c["body"] for c in gh.comments(REPO, 41)), 30, what="comment updated")
    assert "inactive" not in deployment_states(gh, REPO, 43)
    again = build(runtime, enqueuer).run()  # nothing left to remove; the open PR still stays
    assert closed not in removed(again) and merged not in removed(again) and kept not in removed(again)


def test_a_dry_run_deletes_nothing_and_reports_what_it_would(runtime: Runtime, gh, kube, redis_db: redis.Redis):
    ns = deploy(runtime, gh, 51)
    gh.close_pr(REPO, 51)
    kube.clear_requests()

    result = build(runtime, None, dry_run=True).run()

    assert result.dry_run and removed(result)[ns] is Reason.CLOSED
    assert next(d.outcome for d in result.removed if d.namespace == ns) == "dry run"
    assert live(kube, ns)
    assert not [r for r in kube.requests if r.verb == "delete"]
    assert redis_db.llen(QUEUE) == 0
    assert result.as_dict()["removed"] and result.as_dict()["dry_run"] is True


def test_a_missing_pull_request_loses_its_preview(runtime: Runtime, enqueuer: Enqueuer, gh, kube):
    ns = deploy(runtime, gh, 61)
    with gh.state.lock:
        del gh.state.pulls[(REPO, 61)]  # GitHub answers 404 for the pull request; the repository is still there

    result = build(runtime, enqueuer).run()

    assert removed(result)[ns] is Reason.PULL_MISSING
    wait_for(lambda: namespace(kube, ns) is None, 60, what="removed")
    wait_for(lambda: deployment_states(gh, REPO, 61)[-1:] == ["inactive"], 30, what="deployment inactive")


def test_a_deleted_repository_loses_its_previews_without_github_writes(
    runtime: Runtime, enqueuer: Enqueuer, gh, kube
) -> None:
    repo = "acme/vanished"
    gh.add_repo(repo)
    first, second = deploy(runtime, gh, 71, repo), deploy(runtime, gh, 72, repo)
    with gh.state.lock:
        del gh.state.repos[repo]  # 404 for everything in it
    before = writes(gh, repo)

    result = build(runtime, enqueuer).run()

    assert {first: Reason.REPO_INACCESSIBLE, second: Reason.REPO_INACCESSIBLE}.items() <= removed(result).items()
    wait_for(lambda: namespace(kube, first) is None and namespace(kube, second) is None, 60, what="purged")
    assert writes(gh, repo) == before


def test_a_repository_the_app_was_removed_from_loses_its_previews(
    bot_env: dict[str, str], redis_db: redis.Redis, redis_url: str, kube
) -> None:
    private, public = rsa_keypair()
    app_gh = GitHubEmulator(app_id=4242, app_public_key_pem=public).start()
    try:
        app_gh.add_installation(7, ["acme/app-web"])
        app_gh.add_installation(8, ["acme/app-api"])
        env = {k: v for k, v in bot_env.items() if k != "PREVIEWBOT_GITHUB_TOKEN"}
        env.update(
            PREVIEWBOT_GITHUB_API_URL=app_gh.url,
            PREVIEWBOT_GITHUB_APP_ID="4242",
            PREVIEWBOT_GITHUB_PRIVATE_KEY=private,
        )
        runtime = Runtime(load(env))
        lost = deploy(runtime, app_gh, 81, "acme/app-web", installation=7)
        kept = deploy(runtime, app_gh, 82, "acme/app-api", installation=8)
        with app_gh.state.lock:
            app_gh.state.installations[7].repos.remove("acme/app-web")  # the App no longer reaches it
        before = writes(app_gh, "acme/app-web")

        with worker_for(runtime.settings, redis_url) as queue:
            result = build(runtime, queue).run()
            assert removed(result).get(lost) is Reason.REPO_INACCESSIBLE and kept not in removed(result)
            wait_for(lambda: namespace(kube, lost) is None, 60, what="purged")
        assert live(kube, kept)
        assert writes(app_gh, "acme/app-web") == before
    finally:
        app_gh.stop()


def test_a_namespace_stuck_terminating_is_reported_with_its_blocker(
    runtime: Runtime, gh, kube, caplog: pytest.LogCaptureFixture
) -> None:
    ns = deploy(runtime, gh, 91)
    admin = client.CoreV1Api(kube.api_client())
    admin.create_namespaced_config_map(ns, {"metadata": {"name": "held", "finalizers": [HOLD]}})
    admin.delete_namespace(ns)
    collector = build(runtime, None, dry_run=True)

    def reported() -> tuple[str, ...] | None:
        found = next((s for s in collector.run().stuck if s.namespace == ns), None)
        if found is None or not any(b.startswith("NamespaceFinalizersRemaining") for b in found.blockers):
            return None
        return found.blockers

    with caplog.at_level(logging.WARNING, logger="preview.garbage_collector"):
        blockers = wait_for(reported, 30, interval=0.2, what="the stuck namespace reported")
    text = "; ".join(blockers)
    assert HOLD in text and "NamespaceContentRemaining" in text and "configmaps" in text
    assert any(r.levelno == logging.WARNING and ns in r.getMessage() and HOLD in r.getMessage() for r in caplog.records)
    assert ns not in removed(collector.run())  # terminating: reported, never torn down again

    admin.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    wait_for(lambda: namespace(kube, ns) is None, 60, what="namespace gone once released")


def test_the_watcher_runs_the_collector_on_its_timer(runtime: Runtime, enqueuer: Enqueuer, gh, kube) -> None:
    ns = deploy(runtime, gh, 101)
    gh.close_pr(REPO, 101)
    job = InBackground(build(runtime, enqueuer).run)
    watcher = Watcher(runtime.cluster, runtime.reporter, expired=WatchExpired, gc=job, gc_seconds=3600)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: namespace(kube, ns) is None, 60, what="removed by the watcher's collection")
        assert wait_for(lambda: job.last, 10, what="the run's result").removed
        assert job.runs == 1  # once per interval
    finally:
        watcher.stop()
        thread.join(90)
        job.join(30)
    assert not thread.is_alive()
