"""Intake benchmark: the real webhook intake against a bare Flask endpoint, both under gunicorn.

Starts a private redis-server and, one after the other, gunicorn with the Procfile's settings
serving (a) the real app and (b) ``bench.bare_app``, then posts the same signed ~28 KB
``pull_request`` ``synchronize`` delivery to each, every request with a fresh delivery id so
every one is queued. Prints requests/s, p50/p99 latency, the real/bare throughput ratio and
the Redis commands per webhook. ``--quick`` measures 3 s per target instead of 12 s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.loadgen import Figures, Load, run
from bench.stack import free_port, machine, start_redis, stop, wait_until
from webhooks.signature import sign
from workers import enqueue

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sandbox" / "github" / "reference_data" / "webhooks" / "examples" / "pull_request.synchronize.json"
PAYLOAD_SIZE = 28 * 1024
SECRET = "bench-webhook-secret"
QUEUE = "previewbot"
#: As the Procfile's ``web`` line: ``WEB_CONCURRENCY`` worker processes (2 by default) of ``WEB_THREADS`` threads
#: (4 by default), access log on.
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
THREADS = int(os.environ.get("WEB_THREADS", "4"))
#: Redis round trips the intake may make per webhook: the script, plus per-connection setup amortised.
MAX_TRIPS_PER_WEBHOOK = 1.01
#: Commands the enqueue script runs inside Redis (counted by Redis, but no round trip of their own).
SCRIPT_COMMANDS = frozenset(name.lower() for name in re.findall(r"redis\.call\('(\w+)'", enqueue._SCRIPT))


def payload(size: int = PAYLOAD_SIZE) -> bytes:
    """GitHub's ``pull_request.synchronize`` example, compact, with a long description grown to ``size`` bytes."""
    event = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    intro = event["pull_request"]["body"] or ""
    lines = [
        "## Summary",
        intro,
        "The README now explains the setup — including the optional cache — step by step.",
        "",
        "## Changes",
        *(f"- Section {n}: reworded, examples refreshed, links checked ✅" for n in range(1, 13)),
        "",
        "## Testing",
        "1. `make test` passes locally",
        "2. Rendered the README on the branch and read it top to bottom",
        "",
        "- [x] Docs updated",
        "- [x] No behaviour change",
        "",
        "<details><summary>CI log</summary>",
        "",
        "```",
    ]
    encoded, step = b"", 0
    while len(encoded) < size:
        step += 1
        lines.append(f"15:20:{step % 60:02d} step {step}: ok, 0 warnings, cache hit (café-lint 1.4.{step})")
        event["pull_request"]["body"] = "\n".join([*lines, "```", "</details>"])
        encoded = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return encoded


@contextlib.contextmanager
def private_redis(folder: Path) -> Iterator[tuple[str, redis.Redis]]:
    """A redis-server of our own on a free port, its files in ``folder``; yields its URL and a client."""
    proc, url = start_redis(folder)
    client = redis.Redis.from_url(url)
    try:
        yield url, client
    finally:
        client.close()
        stop(proc)


def _cpu_seconds(root: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``root`` and its children; None without /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(entry.name) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / tick
            found = True
    return total if found else None


@contextlib.contextmanager
def gunicorn(spec: str, env: dict[str, str], folder: Path) -> Iterator[tuple[int, Callable[[], float | None]]]:
    """gunicorn serving ``spec`` as the Procfile runs it, on a free port; yields the port and a CPU clock."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)]
    command += ["--worker-class", "gthread", "--threads", str(THREADS)]
    log = folder / f"gunicorn-{port}.log"
    with log.open("wb") as sink:
        command += ["--access-logfile", "-", spec]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)

    def up() -> bool:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"gunicorn {spec} exited with status {proc.returncode}:\n{tail}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    try:
        wait_until(up, 30, f"gunicorn {spec}", 0.05)
        yield port, lambda: _cpu_seconds(proc.pid)
    finally:
        stop(proc)


@dataclass(frozen=True)
class Target:
    """One target's figures and the server CPU it used per answered request (None without /proc)."""

    figures: Figures
    cpu_per_request: float | None


def _measure(spec: str, env: dict[str, str], body: bytes, args: argparse.Namespace, folder: Path) -> Target:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sign(body, SECRET),
    }
    with gunicorn(spec, env, folder) as (port, cpu):
        load = Load("127.0.0.1", port, "/webhooks/github", body, headers, unique="X-GitHub-Delivery")
        before = cpu()
        figures = run(load, connections=args.connections, seconds=args.seconds, warmup=args.warmup, generator=args.load)
        after = cpu()
    used = after - before if before is not None and after is not None else None
    return Target(figures, used / figures.accepted_total if used is not None and figures.accepted_total else None)


def _commands(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    return {name: n for name, n in calls.items() if name not in ("info", "config|resetstat")}


def _versions(client: redis.Redis) -> str:
    from importlib.metadata import version

    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "pure Python"
    return (
        f"Python {platform.python_version()}, gunicorn {version('gunicorn')}, Flask {version('flask')}, "
        f"redis-py {version('redis')} ({parser} parser), redis-server {client.info('server')['redis_version']}"
    )


def _reproduce(argv: list[str]) -> str:
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(ROOT) if python.is_absolute() else python
    return shlex.join([str(python), "-m", "bench.intake", *argv])


def _row(name: str, target: Target) -> str:
    figures, cpu = target.figures, target.cpu_per_request
    server = f"{cpu * 1000:.2f} ms" if cpu is not None else "n/a"
    return (
        f"  {name:<24}{figures.rate:>7.0f} req/s   p50 {figures.p50 * 1000:6.2f} ms   p99 {figures.p99 * 1000:6.2f} ms"
        f"   server CPU {server}/request   ({figures.requests} requests, {figures.errors} failed)"
    )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per target instead of 12 s")
    parser.add_argument("--seconds", type=float, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each window")
    parser.add_argument("--connections", type=int, default=2 * WORKERS, help="concurrent connections (2 per worker)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto", help="load generator")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (3.0 if args.quick else 12.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    return args


def main(argv: list[str] | None = None) -> None:
    """Run both targets and print the figures."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parse(argv)
    body = payload()
    load_before = os.getloadavg()[0]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREVIEWBOT_")}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp, private_redis(Path(tmp)) as (url, client):
        bare = _measure("bench.bare_app:application()", base_env, body, args, Path(tmp))
        real_env = {**base_env, "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET, "PREVIEWBOT_REDIS_URL": url}
        client.config_resetstat()
        real = _measure("app.wsgi:application()", real_env, body, args, Path(tmp))
        commands = _commands(client)
        queued = client.llen(QUEUE)
        versions = _versions(client)
    accepted = real.figures.accepted_total
    trips = {name: n for name, n in commands.items() if name not in SCRIPT_COMMANDS}
    per_webhook = sum(trips.values()) / max(1, accepted)
    ratio = real.figures.rate / bare.figures.rate if bare.figures.rate else float("nan")
    print("Webhook intake benchmark")
    print(f"  payload    {len(body):,} bytes: GitHub's pull_request synchronize example, with a long description")
    print("  requests   signed (X-Hub-Signature-256), each with its own X-GitHub-Delivery, so every one is queued")
    print(f"  server     gunicorn, {WORKERS} workers × {THREADS} threads, access log on (the Procfile's web process)")
    print(f"  load       {real.figures.generator}; {args.warmup:g} s warm-up, {args.seconds:g} s measured per target")
    print(f"  machine    {machine()}; 1-min load average {load_before:.2f} before the run")
    print(f"  software   {versions}")
    print()
    print(_row("bare Flask (reads, 202)", bare))
    print(_row("real intake (queues)", real))
    print(f"  throughput ratio real/bare   {ratio:.2f}")
    print(f"  Redis round trips per webhook {per_webhook:.3f}  {json.dumps(trips, sort_keys=True)}")
    inside = {name: n for name, n in commands.items() if name in SCRIPT_COMMANDS}
    print(f"  run inside the script         {json.dumps(inside, sort_keys=True)}")
    print(f"  messages queued in Redis      {queued} for {accepted} answers 202 (warm-up included)")
    shares = f"{bare.figures.client_cores:.2f} (bare) and {real.figures.client_cores:.2f} (real)"
    print(f"  the generator shares the {os.cpu_count()} cores with gunicorn and Redis: it kept {shares} cores busy,")
    print("  so both rates are below what the server alone would do")
    print()
    checks = [
        ("every request answered 202", bare.figures.errors == 0 and real.figures.errors == 0),
        ("every 202 queued exactly one message", queued == accepted),
        (f"at most {MAX_TRIPS_PER_WEBHOOK} Redis round trips per webhook", per_webhook <= MAX_TRIPS_PER_WEBHOOK),
    ]
    for what, ok in checks:
        print(f"  target: {what:<48}{'met' if ok else 'MISSED'}")
    print()
    print(f"reproduce (from the repository root): {_reproduce(argv)}")


if __name__ == "__main__":
    main()
