"""The CLI starts fast and the /_emulator control API plays a PR's life from another process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]


def _wait_for_url(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "http://127.0.0.1:" in line, line
    url = line.strip().rsplit(" ", 1)[-1]
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/_emulator/", timeout=0.2)
            return url
        except requests.ConnectionError:
            continue
    raise AssertionError("emulator did not answer in time")


def test_cli_and_control_api() -> None:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.github", "--port", "0", "--token", "tok", "--repo", "acme/web"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_url(proc, started + 5)
        auth = {"Authorization": "token tok"}
        assert requests.get(f"{url}/repos/acme/web", headers=auth, timeout=5).status_code == 200
        assert time.monotonic() - started < 5
        pr = requests.post(f"{url}/_emulator/pulls", json={"repo": "acme/web", "branch": "feat"}, timeout=5).json()
        sha = pr["head"]["sha"]
        requests.post(
            f"{url}/repos/acme/web/statuses/{sha}",
            headers=auth,
            json={"state": "pending", "context": "preview"},
            timeout=5,
        )
        assert [s["state"] for s in requests.get(f"{url}/_emulator/statuses/acme/web/{sha}", timeout=5).json()] == [
            "pending"
        ]
        new = requests.post(f"{url}/_emulator/pulls/acme/web/1/push", json={}, timeout=5).json()["sha"]
        assert requests.get(f"{url}/repos/acme/web/pulls/1", headers=auth, timeout=5).json()["head"]["sha"] == new
        closed = requests.post(f"{url}/_emulator/pulls/acme/web/1/close", json={"merged": True}, timeout=5).json()
        assert closed["merged"] and closed["state"] == "closed"
        requests.post(f"{url}/repos/acme/web/issues/1/comments", headers=auth, json={"body": "bye"}, timeout=5)
        assert requests.get(f"{url}/_emulator/comments/acme/web/1", timeout=5).json()[0]["body"] == "bye"
        assert requests.get(f"{url}/_emulator/deployments/acme/web", timeout=5).json() == []
        log = requests.get(f"{url}/_emulator/requests", timeout=5).json()
        assert ["GET", "/repos/acme/web/pulls/1", 200] in log
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0
