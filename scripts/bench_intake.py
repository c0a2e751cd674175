"""Benchmark of the webhook intake: latency per request and Redis commands per webhook.

Starts a private redis-server, builds the real app with the real enqueuer, and posts signed
``pull_request.synchronize`` payloads through Flask's test client (no network in between),
then prints p50/p95/p99 latency and the Redis commands the intake issued per webhook.
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid

import redis

from app import create_app
from preview.settings import load
from webhooks.signature import sign
from workers.celery_app import make_celery
from workers.enqueue import Enqueuer

N = 2000
SECRET = "bench-secret"


def _payload() -> bytes:
    return json.dumps(
        {
            "action": "synchronize",
            "number": 42,
            "pull_request": {"number": 42, "head": {"sha": "a" * 40, "ref": "topic"}, "state": "open"},
            "repository": {"full_name": "acme/web-shop"},
            "installation": {"id": 7},
            "filler": "x" * 20000,
        }
    ).encode()


def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        settings = load(
            {"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET, "PREVIEWBOT_REDIS_URL": url, "PREVIEWBOT_LOG_LEVEL": "ERROR"}
        )
        app = create_app(settings, Enqueuer(redis.Redis.from_url(url), make_celery(settings), 3600))
        web = app.test_client()
        body = _payload()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
        }
        web.post("/webhooks/github", data=body, headers={**headers, "X-GitHub-Delivery": "warm-up"})
        client.config_resetstat()
        times = []
        for _ in range(N):
            start = time.perf_counter()
            response = web.post(
                "/webhooks/github", data=body, headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())}
            )
            times.append(time.perf_counter() - start)
            assert response.status_code == 202
        stats = client.info("commandstats")
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items() if "config" not in k}
        inside = {k: v for k, v in calls.items() if k in ("exists", "lpush", "set")}
        trips = sum(v for k, v in calls.items() if k not in inside)
        times.sort()
        print(f"webhooks          {N} (payload {len(body)} bytes)")
        print(f"latency p50       {statistics.median(times) * 1000:.2f} ms")
        print(f"latency p95       {times[int(N * 0.95)] * 1000:.2f} ms")
        print(f"latency p99       {times[int(N * 0.99)] * 1000:.2f} ms")
        print(f"throughput        {N / sum(times):.0f} webhooks/s (one process)")
        outside = {k: v for k, v in calls.items() if k not in inside}
        print(f"redis round trips {trips / N:.2f} per webhook ({json.dumps(outside)})")
        print(f"inside the script {json.dumps(inside)}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
