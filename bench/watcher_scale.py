"""Watcher scale benchmark: the real watcher process following N live previews.

Starts a private redis-server, the Kubernetes and GitHub emulators in this process and
``python -m workers.watcher`` as a subprocess (as previewbot's ServiceAccount, under the RBAC of
``k8s/deploy``), creates N previews directly in the cluster, waits until the watcher has reported
every one, then measures its memory, how fast a finished rollout shows on GitHub, and the
Kubernetes requests it makes while nothing changes. Prints each figure with its target.

    python -m bench.watcher_scale [--previews N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench.stack import RolloutClock, machine, wait_until
from bench.watcher_fleet import DOMAIN, Fleet, Preview
from bench.watcher_procs import (
    GITHUB_LATENCY,
    KUBE_LATENCY,
    KUBE_SPEED,
    TOKEN,
    WRITE_BURST,
    WRITES_PER_MINUTE,
    Rss,
    WatcherProcess,
    start_redis,
    start_watcher,
)
from sandbox.github import GitHubEmulator
from sandbox.kube import KubeEmulator
from sandbox.kube.previewbot import PREVIEWBOT_USER, previewbot_token

RSS_TARGET_MB = 200.0
RATE_LIMIT = 15_000
LATENCY_TARGET = 1.0


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.watcher_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=None, help="live previews (default 1000, 200 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer previews, rollouts and a shorter steady window")
    options = parser.parse_args(argv)
    options.previews = options.previews or (200 if options.quick else 1000)
    options.window = 20.0 if options.quick else 60.0
    options.rollouts = 30 if options.quick else 80
    options.interval = 0.5 if options.quick else 0.75
    return options


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def quiet(gh: GitHubEmulator, seconds: float, timeout: float) -> None:
    """Wait until the GitHub emulator has had no request for ``seconds`` (the watcher's writes are done)."""

    def settled() -> bool:
        log = gh.timed_requests
        return not log or time.time() - log[-1][1] >= seconds

    wait_until(settled, timeout, "the watcher's GitHub writes to settle", interval=0.2)


def cold_start(fleet: Fleet, watcher: WatcherProcess, timeout: float) -> tuple[int, float]:
    """Wait until every preview shows success on GitHub; (how many did, seconds)."""
    started, left = time.monotonic(), list(fleet.previews)

    def done() -> bool:
        watcher.check()
        left[:] = [p for p in left if not fleet.reported(p)]
        return not left

    with contextlib.suppress(TimeoutError):  # the figures say how many were reported
        wait_until(done, timeout, "the watcher to report every preview", interval=0.5)
    return len(fleet.previews) - len(left), time.monotonic() - started


def rollouts(fleet: Fleet, clock: RolloutClock, count: int, interval: float) -> tuple[list[float], list[float], int]:
    """Roll out ``count`` new commits, one every ``interval`` seconds; (latencies, reactions, unreported)."""
    chosen = random.Random(1000).sample(fleet.previews, min(count, len(fleet.previews)))
    moved: list[Preview] = []
    next_at = time.monotonic()
    for preview in chosen:
        time.sleep(max(0.0, next_at - time.monotonic()))  # pacing of the load, not synchronisation
        next_at += interval
        moved.append(fleet.push(preview))
    with contextlib.suppress(TimeoutError):  # unreported rollouts are counted below
        wait_until(lambda: all(fleet.reported(p) for p in moved), 120, "the rollouts to be reported", interval=0.5)
    latencies, reactions = [], []
    for preview in moved:
        completed, post = clock.rolled_out(preview.namespace, preview.sha), fleet.success_answered(preview)
        if completed is not None and post is not None:
            reactions.append(post[0] - completed)
            latencies.append(post[1] - completed)
    return latencies, reactions, len(moved) - len(latencies)


def steady(rss: Rss, window: float) -> tuple[float, float]:
    """Sample the watcher's memory once a second for ``window`` seconds; (start, end) of the window."""
    start = time.time()
    while time.time() < start + window:
        rss.sample()
        time.sleep(min(1.0, max(0.0, start + window - time.time())))
    return start, time.time()


def kube_requests(kube: KubeEmulator, start: float, end: float) -> tuple[Counter[str], int]:
    """previewbot's non-watch requests by ``verb resource``, and its watch (re)connections, in a time range."""
    others: Counter[str] = Counter()
    watches = 0
    for request in kube.requests:
        if request.user != PREVIEWBOT_USER or not start <= request.at < end:
            continue
        if request.verb == "watch":
            watches += 1
        elif request.resource == "leases":
            others["leader election: " + request.verb] += 1
        else:
            others[f"{request.verb} {request.resource}"] += 1
    return others, watches


def run(options: argparse.Namespace, stack: ExitStack) -> None:
    n = options.previews
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="previewbot-watcher-scale-")))
    redis_url = start_redis(stack, workdir)
    # the real API server keeps at least 75 s of events for watches; 15 events a preview cover the setup burst
    kube = KubeEmulator(speed=KUBE_SPEED, history_window=max(1000, 15 * n)).start()
    stack.callback(kube.stop)
    kube.set_latency(KUBE_LATENCY)
    gh = GitHubEmulator().start()
    stack.callback(gh.stop)
    gh.add_token(TOKEN)
    # the cold start reports every preview at once (about 6 requests each): an installation's hourly quota as
    # GitHub Enterprise Cloud grants it, so the rollouts measured after it are not held by an exhausted quota
    gh.set_rate_limit(RATE_LIMIT)
    kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig", previewbot_token(kube))
    clock = RolloutClock(kube)

    began = time.monotonic()
    fleet = Fleet(kube, gh, n)
    fleet.create_all()
    rolled_out = lambda: all(clock.rolled_out(p.namespace, p.sha) for p in fleet.previews)  # noqa: E731
    wait_until(rolled_out, 600, "every preview to roll out")
    print(f"cluster: {n} previews created and rolled out in {time.monotonic() - began:.1f} s")

    watcher = start_watcher(stack, workdir, redis_url, gh.url, kubeconfig)
    rss = Rss(watcher.pid)
    listed_at = time.time()
    reported, seconds = cold_start(fleet, watcher, 600 if n > 300 else 180)
    print(
        f"cold start: the watcher listed the cluster and reported {reported}/{n} previews in {seconds:.1f} s "
        "(GitHub latency 0 during this phase)"
    )
    quiet(gh, 2.0, 120)
    rss.sample()
    gh.set_latency(GITHUB_LATENCY)

    window_start, window_end = steady(rss, options.window)
    others, watches = kube_requests(kube, window_start, window_end)
    github_in_window = [t for t in gh.timed_requests if window_start <= t[0] < window_end]
    latencies, reactions, unreported = rollouts(fleet, clock, options.rollouts, options.interval)
    watcher.check()
    rss.sample()
    lifetime, _ = kube_requests(kube, listed_at, time.time())
    report(options, fleet, rss, (others, watches, len(github_in_window)), (latencies, reactions, unreported), lifetime)


def report(
    options: argparse.Namespace,
    fleet: Fleet,
    rss: Rss,
    steady_figures: tuple[Counter[str], int, int],
    rollout_figures: tuple[list[float], list[float], int],
    lifetime: Counter[str],
) -> None:
    others, watches, github_requests = steady_figures
    latencies, reactions, unreported = rollout_figures
    window = options.window
    lease = sum(n for k, n in others.items() if k.startswith("leader election"))
    non_watch = sum(others.values()) - lease
    print()
    print(f"1. watcher RSS with {len(fleet.previews)} previews (VmRSS of the process)")
    print(
        f"   steady state: {rss.steady_mb:.1f} MB; peak (VmHWM): {rss.peak_mb:.1f} MB; "
        f"after the rollouts: {rss.last_mb:.1f} MB"
    )
    print(f"   target < {RSS_TARGET_MB:.0f} MB: {verdict(max(rss.steady_mb, rss.peak_mb) < RSS_TARGET_MB)}")
    print(
        f"2. rollout Available -> success status answered, over {len(latencies)} rollouts "
        f"(one every {options.interval} s)"
    )
    if latencies:
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        print(f"   p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        print(
            "   of which the watcher's reaction (Available -> POST sent): "
            f"p50 {percentile(reactions, 50) * 1000:.0f} ms, "
            f"p99 {percentile(reactions, 99) * 1000:.0f} ms; the rest is GitHub's {GITHUB_LATENCY * 1000:.0f} ms"
        )
        missing = f" ({unreported} rollouts never reported)" if unreported else ""
        print(f"   target p99 < {LATENCY_TARGET:.0f} s: {verdict(p99 < LATENCY_TARGET and not unreported)}{missing}")
    else:
        print(f"   no rollout was reported: MISSED ({unreported} rollouts)")
    print(f"3. Kubernetes requests by the watcher in steady state ({window:.0f} s, nothing changing)")
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(others.items())) or "none"
    print(f"   non-watch: {non_watch} ({non_watch * 60 / window:.1f}/min; {detail}); watch (re)connections: {watches}")
    print(f"   GitHub requests in the window: {github_requests}")
    print(
        f"   of these, leader election's Lease renewals: {lease} ({lease * 60 / window:.1f}/min, one every retry "
        "period whatever the number of previews)"
    )
    print(f"   target: none but the watch streams (and the Lease): {verdict(non_watch == 0)}")
    whole = ", ".join(f"{k}: {v}" for k, v in sorted(lifetime.items())) or "none"
    print(f"   non-watch requests over the watcher's whole run (lists at start, periodic sweeps): {whole}")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    options = _options(argv)
    command = "python -m bench.watcher_scale" + (" --quick" if options.quick else "")
    if argv is None and "--previews" in sys.argv or argv and "--previews" in argv:
        command += f" --previews {options.previews}"
    print(f"watcher scale benchmark: {options.previews} previews in up to 10 repositories of one owner")
    print(f"machine: {machine()}")
    print(
        f"setup: Kubernetes emulator at speed {KUBE_SPEED:g} (the kubelet's own timings), "
        f"{KUBE_LATENCY * 1000:.0f} ms per request; GitHub emulator {GITHUB_LATENCY * 1000:.0f} ms per request; "
        f"preview domain {DOMAIN}"
    )
    print(
        f"GitHub write budget raised to {WRITES_PER_MINUTE:,}/min, burst {WRITE_BURST:,}: "
        f"and GitHub's quota to {RATE_LIMIT:,} requests an hour: this benchmark measures the watcher, not GitHub pacing"
    )
    print(f"reproduce: {command}")
    with ExitStack() as stack:
        run(options, stack)


if __name__ == "__main__":
    main()
