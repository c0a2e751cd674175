"""Benchmark 1, critical path: webhook accepted → ``success`` status, for a new PR and for a push to it.

Each repetition opens a PR (then pushes to it), delivers the signed webhook and waits for the success
status, one at a time on a quiet stack. The time is split from the emulators' request logs, the
worker's JSON log and the Kubernetes store:

* queue wait: webhook accepted (202) → the worker's ``Task … received`` log line;
* task start-up: received → the task's first API request;
* sync: first request → last Kubernetes apply answered, split into GitHub reads, Kubernetes API time,
  GitHub writes made before that apply, and the rest (rendering, Redis, Python);
* rollout: last apply → the Deployment is rolled out (previewbot's own success rule, seen in the store);
* report: rolled out → the ``success`` status answered by GitHub.

previewbot's own share is the total minus the rollout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.stack import GITHUB_LATENCY, KUBE_LATENCY, REAL_SPEED, Stack, header, verdict, wait_until
from preview import naming

WRITES = ("POST", "PATCH", "PUT", "DELETE")
#: previewbot's default write budget (burst 10, 60 a minute) is full again 10 s after it was spent
REFILL_SECONDS = 10.0
REPORT_TARGET = 0.5
OWN_TARGET = 1.0


@dataclass
class Sample:
    """One webhook → success measurement (seconds, wall clock)."""

    figures: dict[str, float] = field(default_factory=dict)
    early_writes: list[str] = field(default_factory=list)  # GitHub writes before the sync's last apply
    writes: int = 0  # GitHub writes the webhook led to, until all settled


ROWS = (
    ("intake", "webhook POST → 202 (not in the total)"),
    ("queue", "queue wait: accepted → task received"),
    ("startup", "task start-up: received → first request"),
    ("gh_reads", "  GitHub reads"),
    ("kube", "  Kubernetes API"),
    ("gh_writes", "  GitHub writes before the last apply"),
    ("other", "  rest (render, Redis, Python)"),
    ("sync", "sync: first request → last apply"),
    ("rollout", "rollout: last apply → rolled out"),
    ("deployment_rollout", "  (Deployment apply → rolled out)"),
    ("report", "report: rolled out → success answered"),
    ("report_writes", "  GitHub writes in the report"),
    ("total", "total: accepted → success answered"),
    ("own", "previewbot's share: total − rollout"),
)


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def received_at(lines: list[str], after: float) -> float | None:
    """When the worker logged receiving the first sync task after ``after``."""
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or "sync_preview" not in str(entry.get("message", "")):
            continue
        if str(entry["message"]).endswith("received") and (at := _epoch(str(entry["time"]))) >= after - 0.01:
            return at
    return None


def success_answered(stack: Stack, repo: str, sha: str) -> float | None:
    """When GitHub answered the POST that created the first ``success`` status of ``sha``."""
    states = [s["state"] for s in stack.github.statuses(repo, sha)]
    if "success" not in states:
        return None
    path = f"/repos/{repo}/statuses/{sha}"
    posts = sorted(
        b for _, b, method, p, code in stack.github.timed_requests if method == "POST" and p == path and code < 300
    )
    return posts[states.index("success")] if len(posts) == len(states) else None


def quiet(stack: Stack, seconds: float = 1.0, timeout: float = 30) -> None:
    """Wait until GitHub has seen no request for ``seconds`` (the outbox is drained)."""

    def still() -> bool:
        times = stack.github.timed_requests
        return not times or time.time() - times[-1][1] >= seconds

    wait_until(still, timeout, "GitHub writes to settle", 0.1)


def measure(stack: Stack, repo: str, action: str, number: int, sha: str) -> Sample:
    """Deliver one webhook and split the time until its success status."""
    ns = naming.namespace_name(repo, number)
    sent = time.time()
    delivery = stack.deliver(action, repo, number)
    accepted = time.time()
    if delivery.status_code != 202:
        raise RuntimeError(f"webhook answered {delivery.status_code}: {delivery.response_body}")
    done = wait_until(lambda: success_answered(stack, repo, sha), 60, f"success on {sha[:7]}")
    rolled = stack.clock.rolled_out(ns, sha)
    if rolled is None:
        raise RuntimeError(f"success reported for {sha[:7]} but the emulator never rolled it out")
    quiet(stack)
    kube = [r for r in stack.kube_requests() if r.at >= accepted and ns in r.path and r.at <= rolled]
    applies = [r for r in kube if r.verb == "apply"]
    last_apply = max(r.finished for r in applies)
    deployment_apply = max(r.finished for r in applies if r.resource == "deployments")
    github = [r for r in stack.github.timed_requests if accepted <= r[0] <= done]
    first = min([r.at for r in kube] + [r[0] for r in github])
    received = received_at(stack.worker_log_lines(), accepted)
    in_sync = [r for r in github if r[0] <= last_apply]
    reads = sum(b - a for a, b, method, *_ in in_sync if method == "GET")
    writes = sum(b - a for a, b, method, *_ in in_sync if method in WRITES)
    kube_time = sum(r.finished - r.at for r in kube if r.at <= last_apply)
    f = {
        "intake": accepted - sent,
        "queue": max(0.0, (received if received else first) - accepted),
        "startup": first - received if received else 0.0,
        "gh_reads": reads,
        "kube": kube_time,
        "gh_writes": writes,
        "other": max(0.0, last_apply - first - reads - writes - kube_time),
        "sync": last_apply - first,
        "rollout": rolled - last_apply,
        "deployment_rollout": rolled - deployment_apply,
        "report": done - rolled,
        "report_writes": sum(b - a for a, b, method, *_ in github if method in WRITES and a >= rolled),
        "total": done - accepted,
        "own": done - accepted - (rolled - last_apply),
    }
    early = [f"{method} {path}" for _, _, method, path, _ in in_sync if method in WRITES]
    writes_made = [r for r in stack.github.timed_requests if r[0] >= accepted and r[2] in WRITES]
    return Sample(f, early, len(writes_made))


def summarise(name: str, samples: list[Sample]) -> dict[str, float]:
    """Print the table of one scenario; return its worst figures."""
    print(f"\n{name}: {len(samples)} repetitions (seconds)")
    print(f"  {'':44} {'median':>8} {'worst':>8}")
    worst: dict[str, float] = {}
    for key, label in ROWS:
        values = [s.figures[key] for s in samples]
        worst[key] = max(values)
        print(f"  {label:44} {statistics.median(values):8.3f} {worst[key]:8.3f}")
    print("  totals: " + " ".join(f"{s.figures['total']:.2f}" for s in samples))
    print("  GitHub writes per webhook: " + " ".join(str(s.writes) for s in samples))
    early = [s for s in samples if s.early_writes]
    if early:
        print(f"  GitHub writes before the last Kubernetes apply: YES, in {len(early)} of {len(samples)}:")
        for write in early[0].early_writes:
            print(f"    {write}")
    else:
        print("  GitHub writes before the last Kubernetes apply: none")
    worst["early"] = float(len(early))
    return worst


def warm_up(stack: Stack, processes: int) -> list[float]:
    """One PR per worker process at once, so every process has imported its clients before the measurements.

    Returns accepted → first request of each (the cold start a fresh worker process pays once).
    """
    repo = "acme/warm-up"
    stack.github.add_repo(repo)
    stack.github.add_installation(999, [repo])
    shas = {n: stack.github.open_pr(repo, n)["head"]["sha"] for n in range(1, processes + 1)}
    accepted: dict[int, float] = {}

    def send(number: int) -> None:
        stack.deliver("opened", repo, number)
        accepted[number] = time.time()

    threads = [threading.Thread(target=send, args=(n,)) for n in shas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sha in shas.values():
        wait_until(lambda sha=sha: success_answered(stack, repo, sha), 60, f"warm-up success on {sha[:7]}")
    quiet(stack)
    firsts = {}
    for arrived, _, method, path, _ in stack.github.timed_requests:
        for number in shas:
            if method == "GET" and path == f"/repos/{repo}/pulls/{number}":
                firsts.setdefault(number, arrived)
    return [firsts[n] - accepted[n] for n in shas if n in firsts]


def run(stack: Stack, reps: int, refill: float, log: Callable[[str], None]) -> dict[str, list[Sample]]:
    """Each repetition: a PR in a repository (installation) of its own, opened, then pushed to.

    Before each push the installation rests until its write budget is full again, as on a quiet installation.
    """
    scenarios: dict[str, list[Sample]] = {"new PR (opened)": [], "push (synchronize)": []}
    last_write: dict[str, float] = {}
    for number in range(1, reps + 1):
        repo = f"acme/shop-{number}"
        sha = stack.github.open_pr(repo, 1, branch=f"topic-{number}")["head"]["sha"]
        scenarios["new PR (opened)"].append(measure(stack, repo, "opened", 1, sha))
        last_write[repo] = stack.github.timed_requests[-1][1]
    for number in range(1, reps + 1):
        repo = f"acme/shop-{number}"
        rest = last_write[repo] + refill - time.time()
        if rest > 0:
            time.sleep(rest)  # pacing, not synchronisation: let the installation's write budget refill
        sha = stack.github.push(repo, 1)
        scenarios["push (synchronize)"].append(measure(stack, repo, "synchronize", 1, sha))
        log(f"  repetition {number}/{reps} done")
    return scenarios


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.critical_path", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repetitions instead of 5")
    parser.add_argument("--reps", type=int, default=None, help="repetitions of each scenario")
    parser.add_argument("--kube-latency", type=float, default=KUBE_LATENCY, help="seconds per Kubernetes request")
    parser.add_argument("--github-latency", type=float, default=GITHUB_LATENCY, help="seconds per GitHub request")
    parser.add_argument("--speed", type=float, default=REAL_SPEED, help="Kubernetes emulator speed")
    parser.add_argument("--refill", type=float, default=REFILL_SECONDS, help="rest before a push (budget refill)")
    args = parser.parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    header("critical path: webhook → success status", "bench.critical_path", argv)
    print(
        f"setup:     Kubernetes emulator speed {args.speed:.2f} (1-replica rollout ~1.5 s), "
        f"{args.kube_latency * 1000:.0f} ms per Kubernetes request, {args.github_latency * 1000:.0f} ms per "
        "GitHub request; gunicorn 2 workers, Celery 1 worker × 2 processes, watcher"
    )
    started = time.monotonic()
    repos = tuple(f"acme/shop-{n}" for n in range(1, reps + 1))
    latency = {"kube_latency": args.kube_latency, "github_latency": args.github_latency}
    with Stack(**latency, speed=args.speed, repos=repos) as stack:
        print(f"stack up in {time.monotonic() - started:.1f} s")
        cold = warm_up(stack, stack.concurrency)
        scenarios = run(stack, reps, args.refill, print)
    print(
        "\ncold start (first task of each worker process, not judged): accepted → first request "
        + ", ".join(f"{c:.3f} s" for c in cold)
    )
    print("\nResults (targets judged on the worst repetition):")
    for name, samples in scenarios.items():
        worst = summarise(name, samples)
        report_ok, own_ok = worst["report"] <= REPORT_TARGET, worst["own"] <= OWN_TARGET
        report = f"worst {worst['report']:.3f} s → {verdict(report_ok)}"
        print(f"  target success ≤ {REPORT_TARGET} s after rolled out: {report}")
        print(
            f"  target webhook → success ≤ rollout + {OWN_TARGET:.0f} s: worst share {worst['own']:.3f} s → "
            f"{verdict(own_ok)}"
        )
        print(f"  target no GitHub write before the last apply: → {verdict(worst['early'] == 0)}")
    print(f"\nran in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
