"""Closed-loop HTTP load: ``wrk`` when it is on PATH, else client processes of this module.

Every connection sends its next request as soon as the previous answer is read, and keeps the
connection alive when the server allows it (gunicorn's sync workers close it after each answer,
so then every request opens a new one). Each request carries a fresh value in one header (the
delivery id), so no two requests are the same delivery.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path


@dataclass(frozen=True)
class Load:
    """What every request carries; the header named ``unique`` gets a fresh value per request."""

    host: str
    port: int
    path: str
    body: bytes
    headers: Mapping[str, str]
    unique: str
    expect: int = 202


@dataclass(frozen=True)
class Figures:
    """One measured window: answers with the expected status, failures, latency percentiles."""

    generator: str
    requests: int
    errors: int
    seconds: float
    p50: float
    p99: float
    client_cpu: float
    #: expected answers over warm-up and window together (what the server really handled)
    accepted_total: int

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds

    @property
    def client_cores(self) -> float:
        """Cores the generator kept busy during the window, on average."""
        return self.client_cpu / self.seconds


def run(load: Load, *, connections: int, seconds: float, warmup: float, generator: str = "auto") -> Figures:
    """Drive ``load`` over ``connections`` for ``warmup`` then ``seconds``; only the latter is measured."""
    wrk = shutil.which("wrk") if generator in ("auto", "wrk") else None
    if generator == "wrk" and wrk is None:
        raise SystemExit("wrk is not on PATH")
    if wrk:
        return _wrk(wrk, load, connections, seconds, warmup)
    return _processes(load, connections, seconds, warmup)


def _nearest_rank(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


def _send(conn: http.client.HTTPConnection, load: Load, headers: dict[str, str]) -> bool:
    try:
        conn.request("POST", load.path, load.body, headers)
        response = conn.getresponse()
        response.read()
        return response.status == load.expect
    except (OSError, http.client.HTTPException):
        conn.close()
        return False


def _client(load: Load, seconds: float, warmup: float, ready: Barrier, out: multiprocessing.Queue) -> None:
    """One connection: warm up, then time every request of the window; report through ``out``."""
    conn = http.client.HTTPConnection(load.host, load.port, timeout=30)
    headers = dict(load.headers)
    latencies = array("d")
    errors = accepted = 0
    ready.wait()
    start = time.monotonic() + warmup
    end = start + seconds
    cpu_start = 0.0
    measuring = False
    while (now := time.monotonic()) < end:
        if not measuring and now >= start:
            measuring, cpu_start = True, time.process_time()
        headers[load.unique] = str(uuid.uuid4())
        began = time.perf_counter()
        ok = _send(conn, load, headers)
        elapsed = time.perf_counter() - began
        accepted += ok
        if measuring:
            latencies.append(elapsed)
            errors += not ok
    cpu = time.process_time() - cpu_start if measuring else 0.0
    conn.close()
    out.put((latencies.tobytes(), errors, cpu, accepted))


def _processes(load: Load, connections: int, seconds: float, warmup: float) -> Figures:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(connections + 1)
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(load, seconds, warmup, ready, out)) for _ in range(connections)]
    for proc in procs:
        proc.start()
    try:
        ready.wait(timeout=60)
        reports = [out.get(timeout=warmup + seconds + 60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    latencies: list[float] = []
    for raw, *_ in reports:
        latencies.extend(array("d", raw))
    latencies.sort()
    return Figures(
        generator=f"Python http.client, {connections} processes with one connection each",
        requests=len(latencies),
        errors=sum(r[1] for r in reports),
        seconds=seconds,
        p50=_nearest_rank(latencies, 0.50),
        p99=_nearest_rank(latencies, 0.99),
        client_cpu=sum(r[2] for r in reports),
        accepted_total=sum(r[3] for r in reports),
    )


# Deliveries are "<run nonce>-<thread>-<counter>": unique within and across runs.
_LUA = """
local file = assert(io.open(BODY_PATH, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
HEADERS
local threads, made = {}, 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
  table.insert(threads, thread)
end
counter, wrong = 0, 0
function request()
  counter = counter + 1
  wrk.headers[UNIQUE] = string.format("%s-%d-%d", NONCE, tid, counter)
  return wrk.format()
end
function response(status, headers, body)
  if status ~= EXPECT then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local e, bad = summary.errors, 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("wrong") end
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + bad, latency:percentile(50), latency:percentile(99)))
end
"""
_RESULT = re.compile(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", re.MULTILINE)


def _lua(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_once(wrk: str, load: Load, connections: int, seconds: float, folder: Path) -> tuple[list[int], float]:
    """One wrk run: (requests, duration µs, failures, p50 µs, p99 µs) and the CPU seconds it used."""
    headers = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in load.headers.items())
    script = folder / "load.lua"
    script.write_text(
        _LUA.replace("BODY_PATH", _lua(str(folder / "body")))
        .replace("HEADERS", headers)
        .replace("UNIQUE", _lua(load.unique))
        .replace("NONCE", _lua(uuid.uuid4().hex[:12]))
        .replace("EXPECT", str(load.expect))
    )
    threads = max(1, min(connections, os.cpu_count() or 1))
    url = f"http://{load.host}:{load.port}{load.path}"
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = _RESULT.search(done.stdout)
    if match is None:
        raise RuntimeError(f"unexpected wrk output: {done.stdout[-500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return [int(v) for v in match.groups()], cpu


def _wrk(wrk: str, load: Load, connections: int, seconds: float, warmup: float) -> Figures:
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        folder = Path(tmp)
        (folder / "body").write_bytes(load.body)
        warm = _wrk_once(wrk, load, connections, warmup, folder)[0] if warmup > 0 else [0, 0, 0, 0, 0]
        (requests, duration, failures, p50, p99), cpu = _wrk_once(wrk, load, connections, seconds, folder)
    return Figures(
        generator=f"wrk, {connections} connections",
        requests=requests,
        errors=failures,
        seconds=duration / 1e6,
        p50=p50 / 1e6,
        p99=p99 / 1e6,
        client_cpu=cpu,
        accepted_total=requests - failures + warm[0] - warm[2],
    )
