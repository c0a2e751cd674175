"""Starts previewbot's real processes (gunicorn, Celery worker, watcher) against the emulators."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.helpers import ROOT, free_port, wait_for

PROCESSES = {
    "web": [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--bind",
        "{bind}",
        "app.wsgi:application()",
    ],
    "worker": [sys.executable, "-m", "workers.worker", "--concurrency", "2"],
    "watcher": [sys.executable, "-m", "workers.watcher"],
}


@dataclass
class Stack:
    """The three processes of previewbot, with their logs in ``logdir``."""

    env: dict[str, str]
    logdir: Path
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/github"

    def log(self, name: str) -> str:
        return "".join(p.read_text() for p in sorted(self.logdir.glob(f"{name}.*.log")))

    def start(self, name: str) -> subprocess.Popen:
        self.starts[name] = self.starts.get(name, 0) + 1
        out = (self.logdir / f"{name}.{self.starts[name]}.log").open("w")
        argv = [a.format(bind=f"127.0.0.1:{self.port}") for a in PROCESSES[name]]
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def start_all(self) -> None:
        for name in PROCESSES:
            self.start(name)
        wait_for(self._web_up, 30, what="gunicorn")
        wait_for(lambda: "ready." in self.log("worker"), 60, what="celery worker ready")
        wait_for(lambda: "listed" in self.log("watcher"), 60, what="watcher listing")

    def _web_up(self) -> bool:
        if self.procs["web"].poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log('web')}")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)
