"""The stack every benchmark runs against: a private redis-server, both emulators and previewbot's three processes.

The emulators run in this process (so the benchmark can read their request logs and the Kubernetes store);
gunicorn, the Celery worker and the watcher run as subprocesses exactly as the Procfile starts them, with
their logs in a temporary directory. previewbot reaches Kubernetes as its own ServiceAccount, under the RBAC
of ``k8s/deploy``. :class:`Processes` is also what the end-to-end tests start.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis
import requests

from preview.rollout import object_sha, report_for
from sandbox.github import GitHubEmulator
from sandbox.kube import KubeEmulator
from sandbox.kube.previewbot import PREVIEWBOT_USER, previewbot_token
from sandbox.kube.store import Event

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
TOKEN = "bench-token"
KUBE_LATENCY = 0.005
GITHUB_LATENCY = 0.060
#: At ``speed=1`` the emulator's kubelet takes 2 s to "pull" the image and the template's readiness probe
#: waits ``initialDelaySeconds: 2``, so a 1-replica Deployment of the preview templates is Available ~4.6 s
#: after creation. A real cluster with the image cached takes ~1.5 s: ``speed=8/3`` reproduces that.
REAL_SPEED = 8 / 3


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A private redis-server on a free port (never a shared one) and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (make bench installs it)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*argv, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_until(up, 10, "redis-server")
    return proc, f"redis://127.0.0.1:{port}/0"


PROCESSES = {
    "web": [
        *(sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "4"),
        *("--bind", "{bind}", "app.wsgi:application()"),
    ],
    "worker": [sys.executable, "-m", "workers.worker", "--concurrency", "{concurrency}"],
    "watcher": [sys.executable, "-m", "workers.watcher"],
}


@dataclass
class Processes:
    """previewbot's three processes (gunicorn, Celery worker, watcher), with their logs in ``logdir``."""

    env: dict[str, str]
    logdir: Path
    port: int = field(default_factory=free_port)
    concurrency: int = 2
    #: settings for one process only (e.g. each its own metrics port), by process name
    only: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/github"

    def log(self, name: str) -> str:
        return "".join(p.read_text() for p in sorted(self.logdir.glob(f"{name}.*.log")))

    def start(self, name: str, as_name: str | None = None) -> subprocess.Popen:
        """Start process ``name``; ``as_name`` (e.g. ``watcher-b`` for a second watcher) names its handle and log."""
        key = as_name or name
        self.starts[key] = self.starts.get(key, 0) + 1
        out = (self.logdir / f"{key}.{self.starts[key]}.log").open("w")
        argv = [a.format(bind=f"127.0.0.1:{self.port}", concurrency=self.concurrency) for a in PROCESSES[name]]
        env = {**self.env, **self.only.get(key, {})}
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[key] = proc
        return proc

    def start_all(self, timeout: float = 60) -> None:
        for name in PROCESSES:
            self.start(name)
        wait_until(self._web_up, timeout, "gunicorn", 0.05)
        wait_until(lambda: "ready." in self._alive("worker"), timeout, "celery worker ready", 0.05)
        wait_until(lambda: "listed" in self._alive("watcher"), timeout, "watcher listing", 0.05)

    def _alive(self, name: str) -> str:
        if self.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited:\n{self.log(name)[-4000:]}")
        return self.log(name)

    def _web_up(self) -> bool:
        self._alive("web")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).ok
        except requests.RequestException:  # refused, or accepted before a worker process has booted
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)


class RolloutClock:
    """When each preview Deployment was rolled out, from the emulator's store as it changes.

    "Rolled out" is previewbot's own success rule (:func:`preview.rollout.report_for`): the controller saw
    the newest spec, every replica is updated and available, and no old one is left.
    """

    def __init__(self, emulator: KubeEmulator) -> None:
        self._lock = threading.Lock()
        self.done: dict[tuple[str, str], float] = {}  # (namespace, template sha) -> first rolled-out time
        self.templates: dict[str, list[str]] = {}  # namespace -> template shas in the order they were applied
        emulator.store.subscribe(self._seen)

    def _seen(self, event: Event) -> None:
        if event.key != "deployments.apps" or event.type == "DELETED" or event.namespace.startswith("kube-"):
            return
        sha = object_sha(event.obj, template=True) or ""
        report = report_for(event.obj)
        with self._lock:
            shas = self.templates.setdefault(event.namespace, [])
            if not shas or shas[-1] != sha:
                shas.append(sha)
            if report is not None and report.state.value == "success":
                self.done.setdefault((event.namespace, sha), time.time())

    def rolled_out(self, namespace: str, sha: str) -> float | None:
        with self._lock:
            return self.done.get((namespace, sha))

    def rollouts(self, namespace: str) -> int:
        """How many pod templates the namespace's Deployment was given (one rollout each)."""
        with self._lock:
            return len(self.templates.get(namespace, []))


@dataclass
class Stack:
    """Emulators, Redis and previewbot's processes for one benchmark; use as a context manager."""

    kube_latency: float = KUBE_LATENCY
    github_latency: float = GITHUB_LATENCY
    speed: float = REAL_SPEED
    concurrency: int = 2
    repos: tuple[str, ...] = ("acme/web-shop",)
    installations: bool = True  # each repository in an App installation of its own (webhooks carry its id)
    settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="previewbot-bench-")
        self.workdir = Path(self._tmp.name)
        self._redis_proc: subprocess.Popen | None = None

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._redis_proc, self.redis_url = start_redis(self.workdir)
        self.redis = redis.Redis.from_url(self.redis_url)
        self.kube = KubeEmulator(speed=self.speed).start()
        self.kube.set_latency(self.kube_latency)
        self.clock = RolloutClock(self.kube)
        self.github = GitHubEmulator().start()
        self.github.add_token(TOKEN)
        for number, repo in enumerate(self.repos, start=1):
            self.github.add_repo(repo)
            if self.installations:
                self.github.add_installation(1000 + number, [repo])
        self.github.set_latency(self.github_latency)
        kubeconfig = self.kube.write_kubeconfig(self.workdir / "kubeconfig", previewbot_token(self.kube))
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(self.workdir),
            "PYTHONUNBUFFERED": "1",
            "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET,
            "PREVIEWBOT_GITHUB_TOKEN": TOKEN,
            "PREVIEWBOT_GITHUB_API_URL": self.github.url,
            "PREVIEWBOT_REDIS_URL": self.redis_url,
            "PREVIEWBOT_KUBECONFIG": kubeconfig,
            "PREVIEWBOT_PREVIEW_DOMAIN": "preview.example.com",
            "PREVIEWBOT_IMAGE_TEMPLATE": "registry.example.com/{repo}:{short_sha}",
            "PREVIEWBOT_LOG_LEVEL": "INFO",
            "PREVIEWBOT_METRICS_PORT": "0",  # no metrics servers: a benchmark reads the emulators' logs
            **self.settings,
        }
        self.processes = Processes(env=env, logdir=self.workdir, concurrency=self.concurrency)
        self.processes.start_all()

    def stop(self) -> None:
        processes = getattr(self, "processes", None)
        if processes is not None:
            processes.stop_all()
        for emulator in (getattr(self, "github", None), getattr(self, "kube", None)):
            if emulator is not None:
                emulator.stop()
        if self._redis_proc is not None:
            self._redis_proc.terminate()
            self._redis_proc.wait(10)
        self._tmp.cleanup()

    def deliver(self, action: str, repo: str, number: int, delivery_id: str | None = None) -> Any:
        """Sign and send a ``pull_request`` webhook as GitHub would, built from the emulator's current state."""
        return self.github.deliver(
            self.processes.webhook_url, SECRET, "pull_request", action, repo, number, delivery_id=delivery_id
        )

    def kube_requests(self) -> list[Any]:
        """Requests previewbot's ServiceAccount made (watches excluded: they are streams, not calls)."""
        return [r for r in self.kube.requests if r.user == PREVIEWBOT_USER and r.verb != "watch"]

    def worker_log_lines(self) -> list[str]:
        return self.processes.log("worker").splitlines()


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def machine() -> str:
    """Cores, CPU model, Python and OS of this machine, for the printed figures."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    cores = f"{os.cpu_count()} cores" + (f" ({model})" if model else "")
    return f"{cores}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def stop(proc: subprocess.Popen) -> None:
    """Terminate ``proc`` (kill it after 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def header(title: str, module: str, argv: list[str] | None) -> None:
    """Print the benchmark's title, this machine and the command that reproduces the run."""
    args = sys.argv[1:] if argv is None else argv
    print(f"== {title} ==")
    print(f"machine:   {machine()}")
    print(f"reproduce: .venv/bin/python -m {module}{''.join(' ' + a for a in args)}")
