"""Pacing of GitHub writes: the shared per-installation token bucket on a real Redis, against the GitHub emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import redis

from integrations.github_client import GitHubClient
from integrations.github_transport import connection_options
from preview.models import PullRef, State, StatusReport
from preview.ports import TemporaryError
from preview.reporting import Reporter
from preview.settings import load
from tests.conftest import TOKEN
from tests.helpers import ROOT
from workers.budget import WriteBudget
from workers.ledger import RedisLedger
from workers.outbox import RedisOutbox

REPO = "pace/app"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client(gh, budget: WriteBudget) -> GitHubClient:
    settings = load({"PREVIEWBOT_GITHUB_TOKEN": TOKEN, "PREVIEWBOT_GITHUB_API_URL": gh.url})
    return GitHubClient.from_settings(settings).with_budget(budget)


def test_an_idle_installation_spends_its_burst_at_once_then_waits_for_the_refill(redis_db: redis.Redis) -> None:
    clock = Clock()
    budget = WriteBudget(redis_db, per_minute=60, burst=10, clock=clock)
    one, other = PullRef("acme/a", 1, 11), PullRef("acme/a", 2, 22)
    for _ in range(10):
        budget.spend(one)  # an idle installation never waits
    with pytest.raises(TemporaryError) as spent:
        budget.spend(one)
    assert spent.value.delay == pytest.approx(1.0)  # one token a second at 60 a minute
    budget.spend(other)  # every installation has its own bucket
    clock.now += 3
    for _ in range(3):
        budget.spend(one)
    with pytest.raises(TemporaryError):
        budget.spend(one)
    clock.now += 3600
    for _ in range(10):
        budget.spend(one)  # refilled to the burst, never beyond
    with pytest.raises(TemporaryError):
        budget.spend(one)


def test_token_mode_budgets_by_owner(redis_db: redis.Redis) -> None:
    budget = WriteBudget(redis_db, per_minute=1, burst=1, clock=Clock())
    budget.spend(PullRef("acme/a", 1))
    with pytest.raises(TemporaryError):
        budget.spend(PullRef("acme/b", 1))
    budget.spend(PullRef("other/b", 1))


def test_first_writes_of_an_idle_installation_are_not_delayed(redis_db: redis.Redis, gh, monkeypatch) -> None:
    import github.Requester

    slept: list[float] = []
    monkeypatch.setattr(github.Requester.time, "sleep", slept.append)  # PyGithub's own spacing would sleep here
    gh.add_repo(REPO)
    sha = gh.open_pr(REPO, 1)["head"]["sha"]
    adapter = client(gh, WriteBudget(redis_db, per_minute=60, burst=10))
    for n in range(5):
        adapter.set_status(PullRef(REPO, 1), sha, "preview", StatusReport(State.PENDING, f"step {n}"))
    assert slept == []
    assert len(gh.statuses(REPO, sha)) == 5
    assert connection_options()["seconds_between_writes"] is None


def test_a_spent_budget_defers_writes_and_skips_superseded_progress(redis_db: redis.Redis, gh) -> None:
    gh.add_repo(REPO)
    sha = gh.open_pr(REPO, 2)["head"]["sha"]
    clock = Clock()
    outbox = RedisOutbox(redis_db)
    adapter = client(gh, WriteBudget(redis_db, per_minute=60, burst=4, clock=clock))
    reporter = Reporter(adapter, RedisLedger(redis_db), "preview", outbox=outbox, pending=outbox)
    ref = PullRef(REPO, 2)
    # a new commit's first report takes the whole burst: status, deployment, deployment status, comment
    reporter.report(ref, sha, StatusReport(State.PENDING, "Rolling out: 0/3 ready"), observed=True)
    for ready in (1, 2):
        reporter.report(ref, sha, StatusReport(State.PENDING, f"Rolling out: {ready}/3 ready"), observed=True)
    reporter.report(ref, sha, StatusReport(State.SUCCESS, "Preview ready", "https://pr-2.preview.test"), observed=True)
    assert [s["state"] for s in gh.statuses(REPO, sha)] == ["pending"]
    assert outbox.size() == 1  # one wanted state per commit: the newest, deferred, not dropped
    clock.now += 10  # the budget refills
    reporter.drain()
    shown = [(s["state"], s["description"]) for s in reversed(gh.statuses(REPO, sha))]
    assert sorted(shown, key=lambda s: s[0] == "success") == [
        ("pending", "Rolling out: 0/3 ready"),
        ("success", "Preview ready"),
    ]  # the intermediate progress was never written
    deployment = next(d for d in gh.deployments(REPO) if d["sha"] == sha)
    assert sorted(s["state"] for s in gh.deployment_statuses(REPO, deployment["id"])) == ["in_progress", "success"]
    assert outbox.size() == 0


PROBE = """
import json, sys
from integrations.github_client import GitHubClient
from preview.models import PullRef, State, StatusReport
from preview.ports import TemporaryError
from preview.settings import load
import redis
from workers.budget import WriteBudget

url, redis_url, token, repo, sha = sys.argv[1:6]
settings = load({"PREVIEWBOT_GITHUB_TOKEN": token, "PREVIEWBOT_GITHUB_API_URL": url})
adapter = GitHubClient.from_settings(settings).with_budget(WriteBudget(redis.Redis.from_url(redis_url), 60, 10))
ref = PullRef(repo, 3)
result = {"read": adapter.get_pull(ref).head_sha == sha}
try:
    adapter.set_status(ref, sha, "preview", StatusReport(State.PENDING, "from another process"))
    result["write"] = "made"
except TemporaryError as exc:
    result["write"], result["delay"] = "deferred", exc.delay
print(json.dumps(result))
"""


def test_retry_after_is_honoured_by_every_process(redis_db: redis.Redis, redis_url: str, gh) -> None:
    gh.add_repo(REPO)
    sha = gh.open_pr(REPO, 3)["head"]["sha"]
    adapter = client(gh, WriteBudget(redis_db, per_minute=60, burst=10))
    gh.inject_fault("POST", r"/statuses/", 403, count=1, retry_after=30)
    with pytest.raises(TemporaryError) as limited:
        adapter.set_status(PullRef(REPO, 3), sha, "preview", StatusReport(State.PENDING, "hit the limit"))
    assert limited.value.delay == 30
    writes_before = [r for r in gh.requests if r[0] == "POST"]
    same_db = redis_url.rsplit("/", 1)[0] + f"/{redis_db.connection_pool.connection_kwargs['db']}"
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, gh.url, same_db, TOKEN, REPO, sha],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["read"] is True  # reads are never held back
    assert result["write"] == "deferred" and 25 < result["delay"] <= 30
    assert [r for r in gh.requests if r[0] == "POST"] == writes_before  # the other process did not even try


def test_an_exhausted_rate_limit_pauses_writes_until_its_reset(redis_db: redis.Redis, gh) -> None:
    from sandbox.github.ratelimit import LIMIT

    gh.add_repo(REPO)
    sha = gh.open_pr(REPO, 4)["head"]["sha"]
    adapter = client(gh, WriteBudget(redis_db, per_minute=60, burst=10))
    reset = time.time() + 120
    with gh.state.lock:
        gh.state.rate_used[TOKEN] = (LIMIT - 1, reset)  # the next answer says x-ratelimit-remaining: 0
    try:
        adapter.get_pull(PullRef(REPO, 4))
        with pytest.raises(TemporaryError) as paused:
            adapter.set_status(PullRef(REPO, 4), sha, "preview", StatusReport(State.PENDING, "after the last request"))
        assert 100 < (paused.value.delay or 0) <= 121
    finally:
        with gh.state.lock:
            gh.state.rate_used.pop(TOKEN, None)
