"""Tasks under busy PRs, outages, Redis errors and bursts: no push is lost, no commit is left pending.

A real Celery worker (in a thread) consumes intake messages; Kubernetes and GitHub are the
emulators (with injected faults), Redis is the session's private server.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from integrations.kube import WatchExpired
from preview import naming
from preview.models import Command, CommandKind, PullRef, State, StatusReport
from preview.settings import load
from tests.helpers import wait_for
from workers.celery_app import make_celery
from workers.enqueue import Enqueuer
from workers.requeue import resync_through
from workers.runtime import Runtime
from workers.watcher import Watcher

REPO = "acme/trusty"
FAST_RETRIES = {"PREVIEWBOT_RETRY_BACKOFF_SECONDS": "0.05", "PREVIEWBOT_RETRY_BACKOFF_MAX_SECONDS": "0.2"}


class Bot:
    """A worker (and optionally a watcher) on one set of settings."""

    def __init__(self, env: dict[str, str], redis_url: str) -> None:
        self.settings = load(env)
        self.runtime = Runtime(self.settings)
        self.app = make_celery(self.settings, self.runtime)
        self.enqueuer = Enqueuer(redis.Redis.from_url(redis_url), self.app, 600)
        self.watcher: Watcher | None = None

    def sync(self, number: int, sha: str, repo: str = REPO) -> None:
        assert self.enqueuer.submit(Command(CommandKind.SYNC, repo, number, None, sha, str(uuid.uuid4())))

    def watch(self) -> threading.Thread:
        self.watcher = Watcher(
            self.runtime.cluster,
            self.runtime.reporter,
            expired=WatchExpired,
            stale_pending_seconds=self.settings.stale_pending_seconds,
            resync=resync_through(self.enqueuer, self.settings.stale_pending_seconds),
        )
        thread = threading.Thread(target=self.watcher.run, daemon=True)
        thread.start()
        return thread


@pytest.fixture
def bot(request, gh, kube, bot_env: dict[str, str], redis_url: str, redis_db: redis.Redis) -> Iterator[Bot]:
    gh.add_repo(REPO)
    marker = request.node.get_closest_marker("env")
    env = {**bot_env, **FAST_RETRIES, **(marker.args[0] if marker else {})}
    bot = Bot(env, redis_url)
    thread = bot.watch() if request.node.get_closest_marker("watcher") else None
    try:
        with start_worker(bot.app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield bot
    finally:
        gh.clear_faults()
        kube.clear_faults()
        if bot.watcher is not None and thread is not None:
            bot.watcher.stop()
            thread.join(90)


def states(gh, sha: str, repo: str = REPO) -> list[str]:
    return [s["state"] for s in gh.statuses(repo, sha)]


def deployment_states(gh, sha: str, repo: str = REPO) -> list[str]:
    found = [d for d in gh.deployments(repo) if d["sha"] == sha]
    return [s["state"] for d in found for s in gh.deployment_statuses(repo, d["id"])]


def applied_sha(kube, number: int) -> str | None:
    found = kube.objects("deployments", naming.namespace_name(REPO, number))
    return found[0]["spec"]["template"]["metadata"]["annotations"]["previewbot.io/sha"] if found else None


def test_a_sync_waiting_10s_for_a_busy_pr_is_deployed(bot: Bot, gh, kube, redis_db: redis.Redis) -> None:
    sha = gh.open_pr(REPO, 1, branch="busy")["head"]["sha"]
    held = redis_db.lock(f"previewbot:lock:{REPO}#1", timeout=10)
    assert held.acquire()
    bot.sync(1, sha)
    wait_for(lambda: applied_sha(kube, 1) == sha, 40, what="deployed once the PR was free")


@pytest.mark.env({"PREVIEWBOT_MAX_RETRIES": "8"})
def test_four_kubernetes_errors_in_a_row_converge(bot: Bot, gh, kube) -> None:
    sha = gh.open_pr(REPO, 2, branch="flaky")["head"]["sha"]
    kube.inject_fault("get", "namespaces", 500, count=4)
    bot.sync(2, sha)
    wait_for(lambda: applied_sha(kube, 2) == sha, 40, what="deployed after four 500s")
    assert len([r for r in kube.requests if r.resource == "namespaces" and r.status == 500]) == 4


@pytest.mark.env({"PREVIEWBOT_MAX_RETRIES": "2"})
def test_a_kubernetes_outage_ends_in_a_named_failure(bot: Bot, gh, kube) -> None:
    sha = gh.open_pr(REPO, 3, branch="outage")["head"]["sha"]
    kube.inject_fault("get", "namespaces", 500, count=1000)
    bot.sync(3, sha)
    wait_for(lambda: "failure" in states(gh, sha), 40, what="a failure status")
    last = gh.statuses(REPO, sha)[-1]
    assert last["state"] == "failure"
    assert last["description"].startswith("Gave up after 3 attempts: read namespace")
    assert "HTTP 500" in last["description"]


@pytest.mark.env({"PREVIEWBOT_MAX_RETRIES": "1"})
def test_a_give_up_while_github_is_down_is_posted_when_it_is_back(bot: Bot, gh, kube) -> None:
    sha = gh.open_pr(REPO, 4, branch="dark")["head"]["sha"]
    kube.inject_fault("get", "namespaces", 500, count=1000)
    gh.inject_fault("POST", r"/statuses/", 503, count=1000)
    bot.sync(4, sha)
    outbox = bot.runtime.reporter.outbox
    wait_for(lambda: outbox.items(10), 60, what="the give-up kept in the outbox")
    assert states(gh, sha) == []
    gh.clear_faults()
    kube.clear_faults()
    other = gh.open_pr(REPO, 5, branch="next")["head"]["sha"]
    bot.sync(5, other)  # the next task shows what was deferred
    wait_for(lambda: "failure" in states(gh, sha), 40, what="the give-up posted")
    assert gh.statuses(REPO, sha)[-1]["description"].startswith("Gave up after 2 attempts")


def test_a_redis_error_inside_a_task_is_retried(bot: Bot, gh, kube, redis_db: redis.Redis) -> None:
    sha = gh.open_pr(REPO, 6, branch="blip")["head"]["sha"]
    poisoned = f"previewbot:ledger:stopped:{REPO}#6"
    redis_db.hset(poisoned, "x", "1")  # GET on a hash: WRONGTYPE, an error from Redis itself
    bot.sync(6, sha)
    retried = lambda: [k for k in redis_db.scan_iter("previewbot:attempts:*") if int(redis_db.get(k) or 0) >= 2]  # noqa: E731
    wait_for(retried, 30, what="the task retried after the Redis error")
    redis_db.delete(poisoned)
    wait_for(lambda: applied_sha(kube, 6) == sha, 30, what="deployed after the Redis error")


def test_ten_pushes_in_a_second_end_in_one_rollout_of_the_newest(bot: Bot, gh, kube) -> None:
    sha = gh.open_pr(REPO, 7, branch="burst")["head"]["sha"]
    bot.sync(7, sha)
    shas = [sha]
    for _ in range(9):
        shas.append(gh.push(REPO, 7))
        bot.sync(7, shas[-1])
    wait_for(lambda: applied_sha(kube, 7) == shas[-1], 40, what="the newest head applied")
    ns = naming.namespace_name(REPO, 7)

    def rolled() -> list[str]:
        sets = kube.objects("replicasets", ns)
        return [rs["spec"]["template"]["metadata"]["annotations"]["previewbot.io/sha"] for rs in sets]

    wait_for(lambda: shas[-1] in rolled(), 30, what="the newest head's ReplicaSet")
    rolled = rolled()  # type: ignore[assignment]
    assert rolled.count(shas[-1]) == 1
    assert len(rolled) <= 2  # at most one intermediate head, read before the later pushes
    for middle in shas[1:-1]:
        assert set(states(gh, middle)) <= {"error"}  # never deployed; at most marked superseded


@pytest.mark.watcher
@pytest.mark.env({"PREVIEWBOT_GITHUB_WRITES_PER_MINUTE": "3"})
def test_a_tiny_write_budget_delays_but_every_preview_ends_ready(bot: Bot, gh, kube) -> None:
    repo = "thrifty/app"  # an owner of its own: the budget is per installation (or owner)
    gh.add_repo(repo)
    sha = gh.open_pr(repo, 8, branch="budget")["head"]["sha"]
    bot.sync(8, sha, repo)
    wait_for(lambda: "success" in states(gh, sha, repo), 150, what="success within the budget")
    wait_for(lambda: "success" in deployment_states(gh, sha, repo), 90, what="deployment status caught up")
    wait_for(lambda: any("Ready" in c["body"] for c in gh.comments(repo, 8)), 90, what="comment caught up")
    assert states(gh, sha, repo).count("success") == 1


@pytest.mark.watcher
def test_a_failed_deployment_status_write_is_repaired(bot: Bot, gh, kube) -> None:
    sha = gh.open_pr(REPO, 9, branch="repair")["head"]["sha"]
    gh.inject_fault("POST", r"/deployments/\d+/statuses$", 500, count=8)
    bot.sync(9, sha)
    wait_for(lambda: "success" in states(gh, sha), 60, what="success")
    wait_for(lambda: deployment_states(gh, sha)[-1:] == ["success"], 60, what="deployment status repaired")


@pytest.mark.watcher
@pytest.mark.env({"PREVIEWBOT_STALE_PENDING_SECONDS": "10"})
def test_commits_left_pending_are_settled_from_the_truth(bot: Bot, gh, kube) -> None:
    """As if tasks had died right after posting "Deploying…": the sweep finds and settles each commit."""
    deploying = StatusReport(State.PENDING, "Deploying…")
    lost = gh.open_pr(REPO, 10, branch="lost")["head"]["sha"]
    old = gh.open_pr(REPO, 11, branch="moved-on")["head"]["sha"]
    closed = gh.open_pr(REPO, 12, branch="closed")["head"]["sha"]
    for number, sha in ((10, lost), (11, old), (12, closed)):
        bot.runtime.reporter.report(PullRef(REPO, number), sha, deploying)
    gh.push(REPO, 11)
    gh.close_pr(REPO, 12)
    wait_for(lambda: states(gh, lost)[-1:] == ["success"], 90, what="the lost head deployed")
    wait_for(lambda: states(gh, old)[-1:] == ["error"], 90, what="the old head marked superseded")
    wait_for(lambda: states(gh, closed)[-1:] == ["error"], 90, what="the closed PR's head resolved")
    assert gh.statuses(REPO, old)[-1]["description"].startswith("Superseded by")
    assert gh.statuses(REPO, closed)[-1]["description"] == "Preview removed: pull request closed"
