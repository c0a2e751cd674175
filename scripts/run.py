"""``make run``: start Redis if needed, the emulators in sandbox mode, then the Procfile's processes.

Sandbox mode is chosen when neither GitHub credentials nor a kubeconfig are configured: the
Kubernetes and GitHub emulators stand in for the real services and everything listens on
127.0.0.1. With both configured, the processes serve for real.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".run"
SANDBOX_REPO = "acme/web-shop"
SANDBOX_SECRET = "sandbox-webhook-secret"
SANDBOX_TOKEN = "sandbox-token"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, ValueError):
        return False


def ensure_redis(env: dict[str, str]) -> subprocess.Popen | None:
    """Use the configured Redis if it answers, else start a private one on a free port."""
    url = env.get("PREVIEWBOT_REDIS_URL", "redis://localhost:6379/0")
    if _redis_answers(url):
        print(f"redis     {url} (already running)")
        env["PREVIEWBOT_REDIS_URL"] = url
        return None
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("previewbot: no Redis answers and redis-server is not installed")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="previewbot-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _redis_answers(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            sys.exit("previewbot: redis-server did not start")
        time.sleep(0.05)
    print(f"redis     {url} (started)")
    env["PREVIEWBOT_REDIS_URL"] = url
    return proc


def start_sandbox(env: dict[str, str], web_port: int) -> dict[str, str]:
    """Start both emulators in this process and point the children at them."""
    from sandbox.github import GitHubEmulator
    from sandbox.kube import KubeEmulator

    kube = KubeEmulator(speed=float(env.get("PREVIEWBOT_SANDBOX_SPEED", "5"))).start()
    github = GitHubEmulator().start()
    github.add_token(SANDBOX_TOKEN)
    github.add_repo(SANDBOX_REPO)
    STATE.mkdir(exist_ok=True)
    kubeconfig = kube.write_kubeconfig(str(STATE / "kubeconfig"))
    env.update(
        {
            "PREVIEWBOT_GITHUB_API_URL": github.url,
            "PREVIEWBOT_GITHUB_TOKEN": SANDBOX_TOKEN,
            "PREVIEWBOT_KUBECONFIG": kubeconfig,
            "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": env.get("PREVIEWBOT_GITHUB_WEBHOOK_SECRET", SANDBOX_SECRET),
            "PREVIEWBOT_PREVIEW_DOMAIN": env.get("PREVIEWBOT_PREVIEW_DOMAIN", "preview.localhost"),
            "PREVIEWBOT_URL_SCHEME": env.get("PREVIEWBOT_URL_SCHEME", "http"),
            "PREVIEWBOT_IMAGE_TEMPLATE": env.get("PREVIEWBOT_IMAGE_TEMPLATE", "example.org/{repo}:{sha}"),
            "PREVIEWBOT_PROGRESS_DEADLINE_SECONDS": env.get("PREVIEWBOT_PROGRESS_DEADLINE_SECONDS", "60"),
            # wake links of sleeping previews point at this web process
            "PREVIEWBOT_PUBLIC_URL": env.get("PREVIEWBOT_PUBLIC_URL", f"http://127.0.0.1:{web_port}"),
            "PREVIEWBOT_WAKE_LINK_SECRET": env.get("PREVIEWBOT_WAKE_LINK_SECRET", secrets.token_hex(16)),
            # one watcher, and the emulator has no namespace for a Lease
            "PREVIEWBOT_LEADER_ELECTION": env.get("PREVIEWBOT_LEADER_ELECTION", "false"),
        }
    )
    info = {
        "webhook_url": f"http://127.0.0.1:{web_port}/webhooks/github",
        "github_url": github.url,
        "kube_url": kube.url,
        "kubeconfig": kubeconfig,
        "webhook_secret": env["PREVIEWBOT_GITHUB_WEBHOOK_SECRET"].split(",")[0],
        "repo": SANDBOX_REPO,
    }
    (STATE / "sandbox.json").write_text(json.dumps(info, indent=2))
    print(f"github    {github.url} (emulator; token {SANDBOX_TOKEN!r}, repository {SANDBOX_REPO})")
    print(f"kube      {kube.url} (emulator; kubeconfig {kubeconfig})")
    return info


def pin_local_bind(env: dict[str, str]) -> int:
    """Resolve the web bind for ``make run`` and return its port.

    ``PORT`` only picks the port here: it becomes ``PREVIEWBOT_BIND=127.0.0.1:$PORT`` unless
    ``PREVIEWBOT_BIND`` is set, and is removed so the Procfile's ``web`` line (where ``PORT`` means
    0.0.0.0, as on Heroku) keeps to that address.
    """
    web_port = int(env.pop("PORT", "") or "8000")
    env.setdefault("PREVIEWBOT_BIND", f"127.0.0.1:{web_port}")
    return web_port


def metrics_env(env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each process's metrics settings: web's gunicorn workers sum their counts in a directory of web's own
    (``gunicorn.conf.py`` empties it at start); worker and watcher serve /metrics on 127.0.0.1 ports."""
    extra: dict[str, dict[str, str]] = {"web": {"PROMETHEUS_MULTIPROC_DIR": str(STATE / "metrics-web")}}
    host = env.get("PREVIEWBOT_METRICS_HOST") or "127.0.0.1"
    for name in ("worker", "watcher"):
        port = "0" if env.get("PREVIEWBOT_METRICS_PORT") == "0" else str(_free_port())
        extra[name] = {"PREVIEWBOT_METRICS_PORT": port, "PREVIEWBOT_METRICS_HOST": host}
        if port != "0":
            print(f"{name:<9} http://{host}:{port}/metrics (and /healthz, /readyz)")
    return extra


def read_procfile(path: Path) -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries.append((name.strip(), command.strip()))
    return entries


def _pump(name: str, stream: object) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{name:<8}| {line}")
        sys.stdout.flush()


def main() -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    has_github = bool(env.get("PREVIEWBOT_GITHUB_TOKEN") or env.get("PREVIEWBOT_GITHUB_APP_ID"))
    has_kube = bool(env.get("PREVIEWBOT_KUBECONFIG") or env.get("KUBERNETES_SERVICE_HOST"))
    if has_github != has_kube:
        sys.exit(
            "previewbot: configure both GitHub credentials and a kubeconfig to serve for real, "
            "or neither for sandbox mode"
        )
    redis_proc = ensure_redis(env)
    web_port = pin_local_bind(env)
    if not has_github:
        print("mode      sandbox (no GitHub credentials or kubeconfig configured)")
        info = start_sandbox(env, web_port)
        print(f"webhooks  {info['webhook_url']} (secret {info['webhook_secret']!r})")
        print("try       make demo   (plays a pull request through its whole life)")
    else:
        print(f"mode      live (GitHub API {env.get('PREVIEWBOT_GITHUB_API_URL', 'https://api.github.com')})")
        print(f"webhooks  http://{env['PREVIEWBOT_BIND']}/webhooks/github")
    per_process = metrics_env(env)
    children: list[subprocess.Popen] = []
    for name, command in read_procfile(ROOT / "Procfile"):
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=ROOT,
            env={**env, **per_process.get(name, {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True).start()
        children.append(proc)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    while not stopping.is_set() and all(p.poll() is None for p in children):
        stopping.wait(0.5)
    for proc in children:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in children:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    if redis_proc is not None:
        redis_proc.terminate()
    failed = [p.returncode for p in children if p.returncode not in (0, -signal.SIGTERM)]
    sys.exit(1 if failed and not stopping.is_set() else 0)


if __name__ == "__main__":
    main()
