"""The metric definitions and collectors: fixed label sets, collectors computed at scrape time, roles."""

from __future__ import annotations

import math
import os
import re
import runpy
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from app.metrics import Metrics
from integrations import metrics, metrics_registry
from integrations.github_transport import CountingRetry
from integrations.kube import _verb
from preview.models import PullRef, State, StatusReport
from preview.reporting import Reporter
from preview.settings import SettingsError, load
from tests.helpers import ROOT
from tests.unit.fakes import FakeGitHub, MemoryLedger
from workers.budget import PAUSE_MEMORY, paused_installations
from workers.health_server import run_checks, serve_health
from workers.observability import outcome_of, task_time_limited


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def own(*collectors: object) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)  # type: ignore[arg-type]
    return registry


def sample(name: str, **labels: str) -> float:
    """The current value of one of this process's worker or watcher metrics (0 when absent)."""
    found = own(*metrics._METRICS).get_sample_value(name, labels)
    return found or 0.0


# -- collectors computed at scrape time ----------------------------------------------------------------------


def test_queue_depth_asks_once_per_scrape_and_stays_silent_without_an_answer() -> None:
    calls: list[int] = []
    answers = iter([7, None])

    def depth() -> int | None:
        calls.append(1)
        return next(answers)

    registry = own(metrics_registry.QueueDepth(depth))
    assert calls == []  # registering describes, it never reads Redis
    assert value(registry, "previewbot_queue_depth") == 7
    assert "previewbot_queue_depth " not in metrics_registry.render(registry).decode()
    assert len(calls) == 2


def test_redis_state_reports_the_oldest_pending_commit_and_paused_installations() -> None:
    answer: list[tuple[float, dict[str, bool]] | None] = [(42.5, {"17": True, "acme": False})]
    registry = own(metrics_registry.RedisState(lambda: answer[0]))
    assert value(registry, "previewbot_pending_oldest_seconds") == 42.5
    assert value(registry, "previewbot_github_budget_paused", installation="17") == 1
    assert value(registry, "previewbot_github_budget_paused", installation="acme") == 0
    answer[0] = None  # Redis did not answer: no sample
    assert "previewbot_pending_oldest_seconds " not in metrics_registry.render(registry).decode()


def test_paused_installations_keep_an_ended_pause_for_an_hour() -> None:
    now = 10_000.0
    scores = [(b"1", now + 30), (b"2", now - 10), ("3", now - PAUSE_MEMORY - 1)]
    assert paused_installations(scores, now) == {"1": True, "2": False}


# -- fixed label sets -----------------------------------------------------------------------------------------


def test_label_values_outside_the_fixed_sets_are_other() -> None:
    before = sample("previewbot_github_requests_total", method="other", status="other")
    metrics.github_answer("BREW", 999)
    assert sample("previewbot_github_requests_total", method="other", status="other") == before + 1
    before = sample("previewbot_kube_request_errors_total", verb="other", code="unreachable")
    metrics.kube_error("x\n}", None)
    assert sample("previewbot_kube_request_errors_total", verb="other", code="unreachable") == before + 1
    before = sample("previewbot_task_duration_seconds_count", task="other", outcome="other")
    metrics.task_finished("evil", 'x"}', 1.0)
    assert sample("previewbot_task_duration_seconds_count", task="other", outcome="other") == before + 1
    before = sample("previewbot_gc_deletions_total", reason="other")
    metrics.gc_deletion("because")
    assert sample("previewbot_gc_deletions_total", reason="other") == before + 1


def test_github_rate_limit_remaining_keeps_the_last_number_seen() -> None:
    metrics.github_remaining("4711")
    metrics.github_remaining(None)
    metrics.github_remaining(-1)  # PyGithub before any answer carried the header
    metrics.github_remaining("lots")
    assert sample("previewbot_github_rate_limit_remaining") == 4711


def test_previews_by_state_set_every_state() -> None:
    metrics.set_previews({"success": 3, "pending": 1, "bogus": 5})
    assert [sample("previewbot_previews", state=s) for s in metrics.PREVIEW_STATES] == [1, 3, 0, 0]
    metrics.set_previews({})
    assert [sample("previewbot_previews", state=s) for s in metrics.PREVIEW_STATES] == [0, 0, 0, 0]


def test_leader_changes_count_transitions_only() -> None:
    metrics.watcher_leadership(False)
    before = sample("previewbot_leader_changes_total")
    metrics.watcher_leadership(True)
    metrics.watcher_leadership(True)
    assert sample("previewbot_watcher_leader") == 1
    metrics.watcher_leadership(False)
    assert sample("previewbot_watcher_leader") == 0
    assert sample("previewbot_leader_changes_total") == before + 2


def test_each_process_shows_its_own_metrics() -> None:
    def names(role: str) -> set[str]:
        return {family.name for family in metrics_registry.registry(role).collect()}

    assert "previewbot_task_duration_seconds" in names("worker")
    assert "previewbot_watcher_leader" not in names("worker")
    assert "previewbot_watcher_leader" in names("watcher")
    assert not {"previewbot_queue_wait_seconds", "previewbot_task_duration_seconds"} & names("watcher")


def test_no_created_series() -> None:
    metrics.queue_waited(0.2)
    assert "_created" not in metrics_registry.render(metrics_registry.registry("worker")).decode()


# -- instrumentation helpers -------------------------------------------------------------------------------


def test_counting_retry_counts_every_answer_and_every_attempt_without_one() -> None:
    before = sample("previewbot_github_requests_total", method="POST", status="201")
    retry = CountingRetry(total=3, status_forcelist=(502,), allowed_methods=frozenset({"GET"}))
    assert not retry.is_retry("POST", 201)
    assert sample("previewbot_github_requests_total", method="POST", status="201") == before + 1
    unreachable = sample("previewbot_github_requests_total", method="GET", status="unreachable")
    again = retry.increment("GET", "/repos", error=ConnectionError("refused"))
    assert isinstance(again, CountingRetry)  # urllib3 keeps the class on every new attempt
    assert sample("previewbot_github_requests_total", method="GET", status="unreachable") == unreachable + 1


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("GET", "/api/v1/namespaces", "list"),
        ("GET", "/api/v1/namespaces/pr-1-web", "get"),
        ("GET", "/api/v1/namespaces/pr-1-web/pods", "list"),
        ("GET", "/apis/apps/v1/deployments", "list"),
        ("GET", "/apis/apps/v1/namespaces/pr-1-web/deployments/web", "get"),
        ("PATCH", "/api/v1/namespaces/pr-1-web", "patch"),
        ("DELETE", "/api/v1/namespaces/pr-1-web", "delete"),
        ("POST", "/api/v1/namespaces", "create"),
    ],
)
def test_kube_verbs(method: str, path: str, verb: str) -> None:
    assert _verb(method, path) == verb


@pytest.mark.parametrize(
    ("state", "retval", "outcome"),
    [
        ("SUCCESS", "deployed", "done"),
        ("SUCCESS", "superseded", "superseded"),
        ("SUCCESS", "gave-up", "gave-up"),
        ("SUCCESS", "purged 3", "done"),
        ("RETRY", None, "retry"),
        ("FAILURE", ValueError(), "error"),
    ],
)
def test_task_outcomes(state: str, retval: object, outcome: str) -> None:
    assert outcome_of(state, retval) == outcome


def test_reporter_tells_final_statuses_only_once_written() -> None:
    seen: list[tuple[str, State]] = []
    github = FakeGitHub()
    reporter = Reporter(github, MemoryLedger(), "preview", on_final=lambda ref, sha, state: seen.append((sha, state)))
    ref = PullRef("acme/web", 1)
    reporter.report(ref, "a" * 40, StatusReport(State.PENDING, "Deploying"))
    reporter.report(ref, "a" * 40, StatusReport(State.SUCCESS, "Preview ready", "https://x"))
    reporter.report(ref, "a" * 40, StatusReport(State.SUCCESS, "Preview ready", "https://x"))  # unchanged
    assert seen == [("a" * 40, State.SUCCESS)]


def test_a_failing_observer_never_fails_the_write() -> None:
    def boom(*_args: object) -> None:
        raise RuntimeError("observer")

    reporter = Reporter(FakeGitHub(), MemoryLedger(), "preview", on_final=boom)
    assert reporter.report(PullRef("acme/web", 1), "b" * 40, StatusReport(State.FAILURE, "Rollout failed"))


# -- web -----------------------------------------------------------------------------------------------------


def test_web_metrics_count_answers_and_read_the_queue_at_scrape_time() -> None:
    depth = iter([3])
    web = Metrics(queue_depth=lambda: next(depth))
    for _ in range(3):
        web.webhook("pull_request", "queued")
    web.webhook("push", "weird")
    text = web.render()
    assert 'previewbot_webhooks_total{event="pull_request",result="queued"} 3.0' in text
    assert 'previewbot_webhooks_total{event="other",result="other"} 1.0' in text
    assert "previewbot_queue_depth 3.0" in text
    assert "previewbot_task_duration_seconds" not in text  # the worker's, not web's


# -- health checks -------------------------------------------------------------------------------------------


def test_readiness_names_the_failing_check_and_bounds_slow_ones() -> None:
    release = threading.Event()
    ready, answer = run_checks({"redis": lambda: None, "github": lambda: "unreachable (ConnectTimeout)"})
    assert not ready
    assert answer["reason"] == "github: unreachable (ConnectTimeout)"
    assert answer["checks"] == {"redis": "ok", "github": "unreachable (ConnectTimeout)"}
    ready, answer = run_checks({"kubernetes": lambda: release.wait(5) and None}, timeout=0.1)
    release.set()
    assert not ready and answer["reason"] == "kubernetes: no answer within 0.1 s"
    assert run_checks({"redis": lambda: None}) == (True, {"status": "ok", "checks": {"redis": "ok"}})


# -- processes ----------------------------------------------------------------------------------------------


def test_process_entry_points_create_no_metric_before_choosing_their_directory() -> None:
    """The worker points PROMETHEUS_MULTIPROC_DIR at its own directory before any metric exists."""
    code = (
        "import sys, scripts.cli, workers.worker, workers.watcher; "
        "print(sorted(m for m in sys.modules if m.startswith(('integrations.metrics', 'prometheus_client'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_gunicorn_hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    directory = tmp_path / "metrics"
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    hooks["on_starting"](None)  # nothing set: nothing to do
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    hooks["on_starting"](None)
    assert sorted(os.listdir(directory)) == ["keep.txt"]
    (directory / "gauge_livesum_77.db").write_bytes(b"")
    hooks["child_exit"](None, type("Worker", (), {"pid": 77})())
    assert sorted(os.listdir(directory)) == ["keep.txt"]


def test_nan_before_github_answers() -> None:
    code = "from integrations import metrics; print(metrics.GITHUB_RATE_LIMIT_REMAINING._value.get())"
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert math.isnan(float(out.stdout))


def test_metrics_port_settings() -> None:
    assert load({}).metrics_port is None and load({}).metrics_host == "0.0.0.0"
    assert load({"PREVIEWBOT_METRICS_PORT": "0", "PREVIEWBOT_METRICS_HOST": "127.0.0.1"}).metrics_port == 0
    bad = ({"PREVIEWBOT_METRICS_PORT": "70000"}, {"PREVIEWBOT_METRICS_PORT": "x"}, {"PREVIEWBOT_METRICS_HOST": "a b"})
    for env in bad:
        with pytest.raises(SettingsError, match=next(iter(env))):
            load(env)


def test_a_port_of_zero_or_one_taken_starts_nothing(caplog: pytest.LogCaptureFixture) -> None:
    assert serve_health(0, {}) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve_health(taken.getsockname()[1], {}, host="127.0.0.1") is None
    assert "going on without them" in caplog.text


def test_a_run_stopped_by_the_hard_time_limit_counts_as_time_limit() -> None:
    before = sample("previewbot_task_duration_seconds_count", task="sync_preview", outcome="time-limit")
    task_time_limited("previewbot.sync_preview", 270)
    assert sample("previewbot_task_duration_seconds_count", task="sync_preview", outcome="time-limit") == before + 1


def test_the_readme_documents_every_metric_and_only_those() -> None:
    """The README's metrics table names each family a process exposes, with the process that exposes it."""
    from integrations.metrics import ROLES
    from tests.helpers import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Metrics and health") :]
    section = section[: section.index("\n## ", 1)]
    rows = re.findall(r"^\| `(previewbot_[a-z_]+)` \|[^|]*\|[^|]*\| ([a-z, ]+) \|", section, re.MULTILINE)
    documented = {name.removesuffix("_total"): {p.strip() for p in where.split(",")} for name, where in rows}
    exposed: dict[str, set[str]] = {}
    for role, families in ROLES.items():
        for family in families:
            exposed.setdefault(family, set()).add(role)
    assert documented == exposed
