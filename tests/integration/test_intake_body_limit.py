"""A real gunicorn worker refuses an oversized chunked body at 25 MB and keeps its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from tests.helpers import ROOT, free_port, wait_for

MB = 1_000_000
BODY = 100 * 1024 * 1024
BLOCK = 64 * 1024


@dataclass
class Web:
    url: str
    worker: int

    def status(self, key: str) -> int:
        """A ``/proc/<worker>/status`` size (``VmRSS``, ``VmHWM``) in bytes."""
        for line in Path(f"/proc/{self.worker}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"{key} not in /proc/{self.worker}/status")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


@pytest.fixture
def web(redis_url: str, tmp_path: Path) -> Iterator[Web]:
    """gunicorn with one sync worker, as in production, on the tests' own Redis."""
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "limit-secret",
        "PREVIEWBOT_REDIS_URL": redis_url,
    }
    argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "app.wsgi:application()"]
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{(tmp_path / 'web.log').read_text()}")
        try:
            return requests.get(f"{url}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        wait_for(up, 30, what="gunicorn")
        (worker,) = wait_for(lambda: children(proc.pid), 10, what="gunicorn worker")
        yield Web(url, worker)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_chunked_100mb_unsigned_body_is_refused_without_growing_the_worker(web: Web, redis_db: redis.Redis) -> None:
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d", "Content-Type": "application/json"}
    warm = requests.post(f"{web.url}/webhooks/github", data=b"{}", headers=headers, timeout=10)
    assert warm.status_code == 401
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        block = b"x" * BLOCK
        for _ in range(BODY // BLOCK):
            sent += BLOCK
            yield block

    before = web.status("VmRSS")
    response = requests.post(f"{web.url}/webhooks/github", data=body(), headers=headers, timeout=60)
    after, peak = web.status("VmRSS"), web.status("VmHWM")

    assert response.status_code == 413
    assert response.json() == {"result": "too-large", "message": "payload larger than 25 MB"}
    assert sent < BODY // 2, "the server went on reading past the limit"
    assert after - before < 30 * MB
    assert peak - before < 30 * MB, "the worker held more than the 25 MB limit at once"
    assert children_alive(web)
    assert redis_db.keys("previewbot:*") == []


def children_alive(web: Web) -> bool:
    return Path(f"/proc/{web.worker}").exists() and requests.get(f"{web.url}/healthz", timeout=5).ok
