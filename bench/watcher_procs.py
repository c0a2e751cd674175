"""Processes of the watcher scale benchmark: a private redis-server and the real watcher, plus small helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from bench.stack import start_redis as stack_start_redis
from bench.stack import stop
from bench.watcher_fleet import DOMAIN

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-watcher-token"
#: simulated durations unscaled: the kubelet "pulls" an image in 2 s, the readiness probe waits 2 s more
KUBE_SPEED = 1.0
KUBE_LATENCY = 0.005
GITHUB_LATENCY = 0.060
WRITES_PER_MINUTE = 1_000_000
WRITE_BURST = 100_000


def start_redis(stack: ExitStack, workdir: Path) -> str:
    """A private redis-server on a free port (stopped with ``stack``); its URL."""
    proc, url = stack_start_redis(workdir)
    stack.callback(stop, proc)
    return url


class WatcherProcess:
    """The watcher subprocess and its log."""

    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check(self) -> None:
        """Raise with the end of its log if the watcher has exited."""
        if self.proc.poll() is not None:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the watcher exited with {self.proc.returncode}:\n{tail}")


def start_watcher(stack: ExitStack, workdir: Path, redis_url: str, github_url: str, kubeconfig: str) -> WatcherProcess:
    """``python -m workers.watcher`` against the emulators, logging to ``workdir``; stopped with ``stack``."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(workdir),
        "PYTHONUNBUFFERED": "1",
        "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
        "PREVIEWBOT_GITHUB_API_URL": github_url,
        "PREVIEWBOT_REDIS_URL": redis_url,
        "PREVIEWBOT_KUBECONFIG": kubeconfig,
        "PREVIEWBOT_PREVIEW_DOMAIN": DOMAIN,
        "PREVIEWBOT_GITHUB_WRITES_PER_MINUTE": str(WRITES_PER_MINUTE),
        "PREVIEWBOT_GITHUB_WRITE_BURST": str(WRITE_BURST),
    }
    path = workdir / "watcher.log"
    log = path.open("w")
    stack.callback(log.close)
    argv = [sys.executable, "-m", "workers.watcher"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.callback(stop, proc)
    return WatcherProcess(proc, path)


class Rss:
    """The watcher's resident memory from ``/proc/<pid>/status``: sampled, peak (VmHWM) and last."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = []
        self.peak_mb = 0.0
        self.last_mb = 0.0

    def _read(self) -> dict[str, float]:
        found = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0]) / 1024
        return found

    def sample(self) -> float:
        found = self._read()
        self.last_mb, self.peak_mb = found["VmRSS"], max(self.peak_mb, found["VmHWM"])
        self.samples.append(self.last_mb)
        return self.last_mb

    @property
    def steady_mb(self) -> float:
        """The largest sample (the steady window's samples come after the cold start's one)."""
        return max(self.samples) if self.samples else 0.0
