"""/metrics, /healthz and /readyz of the real processes, scraped after real work.

Web runs as the Flask app (test client) and as gunicorn with two workers summing their counts; the worker
runs as ``python -m workers.worker`` with a pool of two processes and its own metrics port; the watcher
runs in this process behind :func:`workers.health_server.serve_health`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from bench.stack import start_redis, stop
from integrations import metrics_registry
from preview.models import Command, CommandKind, PullRef, State
from preview.settings import load
from tests.helpers import ROOT, free_port, wait_for
from webhooks.signature import sign
from workers.budget import WriteBudget
from workers.celery_app import make_celery
from workers.enqueue import Enqueuer, accepted_key
from workers.health_server import checks_for, serve_health
from workers.observability import FinalStatusTimer, redis_state
from workers.outbox import RedisOutbox
from workers.runtime import Runtime
from workers.watcher import Watcher

SECRET = "metrics-secret"
REPO = "acme/observed"


def total(text: str, name: str, **labels: str) -> float | None:
    """The sum of the samples called ``name`` whose labels include ``labels``; None when there is none."""
    found = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    ]
    return sum(found) if found else None


def scrape(url: str) -> str:
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    return response.text


def deliver(client: FlaskClient, gh, number: int) -> None:
    body = json.dumps(gh.webhook_payload("pull_request", "opened", REPO, number)).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, SECRET),
        "Content-Type": "application/json",
    }
    response = client.post("/webhooks/github", data=body, headers=headers)
    assert response.status_code == 202, response.json


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    base = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(log.parent)}
    with log.open("w") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env={**base, "PYTHONUNBUFFERED": "1", **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def worker_port(gh, kube, bot_env: dict[str, str], redis_db: redis.Redis, tmp_path: Path) -> Iterator[int]:
    """``python -m workers.worker`` with a pool of two processes, serving metrics on a free port."""
    port = free_port()
    env = {**bot_env, "PREVIEWBOT_METRICS_PORT": str(port), "PREVIEWBOT_METRICS_HOST": "127.0.0.1"}
    log = tmp_path / "worker.log"
    proc = start_process([sys.executable, "-m", "workers.worker", "--concurrency", "2"], env, log)

    def up() -> bool:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, 30, what="the worker's health port")
    yield port
    stop_process(proc)


def test_three_webhooks_counted_by_web_worker_and_watcher(
    gh, kube, bot_env: dict[str, str], redis_url: str, redis_db: redis.Redis, worker_port: int
) -> None:
    gh.add_repo(REPO)
    shas = [gh.open_pr(REPO, number, branch=f"topic-{number}")["head"]["sha"] for number in (1, 2, 3)]
    settings = load({**bot_env, "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET})
    web = create_app(settings, Enqueuer(redis.Redis.from_url(redis_url), make_celery(settings), 600)).test_client()
    runtime = Runtime(settings)
    watcher = Watcher(runtime.cluster, runtime.reporter)
    watching = threading.Thread(target=watcher.run, daemon=True)
    watcher_server = serve_health(free_port(), checks_for(settings), registry=metrics_registry.registry("watcher"))
    assert watcher_server is not None
    watcher_url = f"http://127.0.0.1:{watcher_server.port}"
    ready_before = total(scrape(f"{watcher_url}/metrics"), "previewbot_webhook_to_ready_seconds_count") or 0
    try:
        watching.start()
        for number in (1, 2, 3):
            deliver(web, gh, number)
        text = web.get("/metrics").get_data(as_text=True)
        assert total(text, "previewbot_webhooks_total", event="pull_request", result="queued") == 3
        assert total(text, "previewbot_queue_depth") is not None

        worker = f"http://127.0.0.1:{worker_port}"
        wait_for(
            lambda: total(scrape(f"{worker}/metrics"), "previewbot_task_duration_seconds_count", outcome="done") == 3,
            60,
            what="three sync runs summed over the worker's pool processes",
        )
        wait_for(
            lambda: all("success" in [s["state"] for s in gh.statuses(REPO, sha)] for sha in shas),
            60,
            what="three previews ready",
        )
        text = scrape(f"{worker}/metrics")
        assert total(text, "previewbot_task_duration_seconds_count", task="sync_preview", outcome="done") == 3
        assert total(text, "previewbot_queue_wait_seconds_count") == 3
        assert total(text, "previewbot_github_requests_total", method="GET", status="200")
        assert total(text, "previewbot_github_requests_total", method="POST", status="201")
        assert total(text, "previewbot_pending_oldest_seconds") is not None
        assert 0 < (total(text, "previewbot_github_rate_limit_remaining") or 0) <= 5000
        assert "previewbot_watcher_leader" not in text
        assert total(web.get("/metrics").get_data(as_text=True), "previewbot_queue_depth") == 0

        text = scrape(f"{watcher_url}/metrics")
        assert total(text, "previewbot_webhook_to_ready_seconds_count") == ready_before + 3
        assert 0 < (total(text, "previewbot_github_rate_limit_remaining") or 0) <= 5000

        for base in (worker, watcher_url):
            assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
            ready = requests.get(f"{base}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"redis": "ok", "kubernetes": "ok", "github": "ok"}
    finally:
        watcher.stop()
        watching.join(30)
        watcher_server.close()


def test_readiness_names_an_unreachable_redis(bot_env: dict[str, str]) -> None:
    settings = load({**bot_env, "PREVIEWBOT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    server = serve_health(free_port(), checks_for(settings))
    assert server is not None
    try:
        answer = requests.get(f"http://127.0.0.1:{server.port}/readyz", timeout=10)
        assert answer.status_code == 503
        assert answer.json()["reason"].startswith("redis: unreachable")
        assert answer.json()["checks"]["kubernetes"] == "ok"
        assert requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5).status_code == 200
    finally:
        server.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """A redis-server of this test alone, which the test stops."""
    assert shutil.which("redis-server"), "redis-server is not installed (make test installs it)"
    proc, url = start_redis(tmp_path)
    yield proc, url
    stop(proc)


def test_web_readyz_answers_503_with_a_reason_once_redis_stops(private_redis: tuple[subprocess.Popen, str]) -> None:
    proc, url = private_redis
    settings = load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET, "PREVIEWBOT_REDIS_URL": url})
    client = create_app(settings).test_client()
    assert client.get("/readyz").status_code == 200
    proc.terminate()
    proc.wait(10)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json == {"status": "unavailable", "reason": "redis: no answer to PING"}
    assert client.get("/healthz").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)  # still answers, without the queue's depth
    assert "previewbot_queue_depth " not in text


def test_gunicorn_workers_sum_their_counts(redis_url: str, redis_db: redis.Redis, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    port = free_port()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET,
        "PREVIEWBOT_REDIS_URL": redis_url,
    }
    argv = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "2"]
    log = tmp_path / "web.log"
    proc = start_process([*argv, "--bind", f"127.0.0.1:{port}", "app.wsgi:application()"], env, log)
    base = f"http://127.0.0.1:{port}"
    body = b'{"zen": "Design for failure.", "hook_id": 1}'
    sent = 0

    def ping() -> None:
        nonlocal sent
        headers = {
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
            "Connection": "close",
        }
        assert requests.post(f"{base}/webhooks/github", data=body, headers=headers, timeout=5).status_code == 200
        sent += 1

    def workers_counting() -> set[str]:
        return {p.name for p in directory.glob("counter_*.db")}

    def up() -> bool:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            return requests.get(f"{base}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(up, 30, what="gunicorn")

        def both_counted() -> bool:
            ping()
            return len(workers_counting()) >= 2

        wait_for(both_counted, 30, interval=0, what="both gunicorn workers answering webhooks")
        for _ in range(4):  # whichever worker answers, it shows the sum
            text = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=5).text
            assert total(text, "previewbot_webhooks_total", event="ping", result="pong") == sent
            assert total(text, "previewbot_queue_depth") == 0

        # a worker that dies keeps its counts in the sum; its replacement adds its own
        victim = int(sorted(workers_counting())[0].removeprefix("counter_").removesuffix(".db"))
        os.kill(victim, signal.SIGKILL)

        def replacement_counted() -> bool:
            ping()
            return len(workers_counting()) >= 3

        wait_for(replacement_counted, 30, interval=0, what="the replacement worker answering webhooks")
        text = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=5).text
        assert total(text, "previewbot_webhooks_total", event="ping", result="pong") == sent
    finally:
        stop_process(proc)


def test_budget_pauses_and_the_oldest_pending_commit_are_read_from_redis(redis_db: redis.Redis) -> None:
    clock = [1_000_000.0]
    budget = WriteBudget(redis_db, 60, 10, clock=lambda: clock[0])
    read = redis_state(redis_db, clock=lambda: clock[0])
    assert read() == (0.0, {})
    budget.pause(PullRef("acme/web", 1, 17), 30)
    budget.pause(PullRef("acme/web", 1, 17), 5)  # never moves a pause earlier
    RedisOutbox(redis_db).mark("pending-commit", clock[0] - 50)
    assert read() == (50.0, {"17": True})
    clock[0] += 31
    assert read() == (81.0, {"17": False})
    clock[0] += 3600
    assert read()[1] == {}


def test_a_head_is_timed_from_its_first_acceptance_to_its_final_status_once(
    redis_url: str, redis_db: redis.Redis
) -> None:
    settings = load({"PREVIEWBOT_REDIS_URL": redis_url})
    enqueuer = Enqueuer(redis_db, make_celery(settings), 600)
    sha = "c" * 40
    ref = PullRef("acme/web", 5)
    sync = lambda: Command(CommandKind.SYNC, ref.repo, 5, None, sha, str(uuid.uuid4()), "pull_request")  # noqa: E731
    assert enqueuer.submit(sync())
    first = redis_db.get(accepted_key(ref.repo, 5, sha))
    assert first is not None
    assert enqueuer.submit(sync())  # a later event about the same head keeps the first acceptance
    assert redis_db.get(accepted_key(ref.repo, 5, sha)) == first
    registry = metrics_registry.registry("worker")
    before = registry.get_sample_value("previewbot_webhook_to_failure_seconds_count") or 0
    timer = FinalStatusTimer(redis_db)
    timer(ref, sha, State.FAILURE)
    timer(ref, sha, State.FAILURE)  # a repaired or repeated final status is not a second rollout
    assert registry.get_sample_value("previewbot_webhook_to_failure_seconds_count") == before + 1
    assert redis_db.get(accepted_key(ref.repo, 5, sha)) is None
