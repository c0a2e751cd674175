"""Benchmark 4, burst: 1,000 webhooks over 100 PRs (10 pushes each, shuffled, 10 % redelivered) with 4 workers.

The PRs are spread over App installations of 10 PRs each (each its own repository), so every installation
sees 100 webhooks and its own write budget. Four sender threads deliver the events as fast as the intake
answers (each PR's pushes in order, PRs interleaved at random), and redeliver 10 % of them (same delivery
id and body) later. Then the benchmark waits until every PR shows ``success`` on its newest head and checks
what the burst left behind: nothing lost, at most 2 rollouts per PR, no duplicate GitHub write, and GitHub
writes within the per-installation budget (burst + rate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

from bench.api_economy import endpoint
from bench.critical_path import WRITES, quiet
from bench.stack import GITHUB_LATENCY, KUBE_LATENCY, REAL_SPEED, Stack, header, verdict
from preview import naming
from preview.naming import Annotations
from workers.celery_app import QUEUE

PUSHES = 10
PER_INSTALLATION = 10
SENDERS = 4
#: previewbot's default write budget per installation (PREVIEWBOT_GITHUB_WRITES_PER_MINUTE / _WRITE_BURST)
RATE, BURST = 60, 10
#: tolerance for the time between a write spending its token and reaching GitHub
SLACK = 0.25


@dataclass(frozen=True)
class Item:
    """One thing a sender does: deliver a PR's next event, or redeliver an earlier delivery."""

    pr: tuple[str, int]
    action: str  # opened | synchronize | redeliver
    delivery: str


def plan(prs: list[tuple[str, int]], duplicates: float, rng: random.Random) -> list[list[Item]]:
    """Per sender, the items in sending order: each PR's events in order, PRs shuffled together."""
    order = [pr for pr in prs for _ in range(PUSHES)]
    rng.shuffle(order)
    sent: Counter[tuple[str, int]] = Counter()
    lanes: list[list[Item]] = [[] for _ in range(SENDERS)]
    for pr in order:
        action = "opened" if sent[pr] == 0 else "synchronize"
        sent[pr] += 1
        lanes[prs.index(pr) % SENDERS].append(Item(pr, action, str(uuid.uuid4())))
    for lane in lanes:
        keyed: list[tuple[float, Item]] = [(float(i), item) for i, item in enumerate(lane)]
        for i in rng.sample(range(len(lane)), round(len(lane) * duplicates)):
            keyed.append((rng.uniform(i + 0.1, len(lane)), Item(lane[i].pr, "redeliver", lane[i].delivery)))
        lane[:] = [item for _, item in sorted(keyed, key=lambda k: k[0])]
    return lanes


Answer = tuple[str, int, str, float]  # action, HTTP status, result, when answered


def send(stack: Stack, lane: list[Item], shas: dict[tuple[str, int], list[str]], answers: list[Answer]) -> None:
    """Deliver one sender's items in order (a push moves the PR's head first, as on GitHub)."""
    for item in lane:
        repo, number = item.pr
        if item.action == "redeliver":
            delivery = stack.github.redeliver(item.delivery)
        else:
            if item.action == "synchronize":
                shas[item.pr].append(stack.github.push(repo, number))
            delivery = stack.deliver(item.action, repo, number, delivery_id=item.delivery)
        try:
            result = str(json.loads(delivery.response_body).get("result"))
        except (ValueError, AttributeError):
            result = delivery.response_body[:40]
        answers.append((item.action, delivery.status_code, result, time.time()))


def unfinished(stack: Stack, prs: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """PRs whose newest head is not yet shown as ``success`` and applied in its namespace."""
    applied = {
        n["metadata"]["name"]: n["metadata"].get("annotations", {}).get(Annotations.APPLIED_SHA)
        for n in stack.kube.objects("namespaces")
    }
    left = []
    for repo, number in prs:
        head = stack.github.pull(repo, number)["head"]["sha"]
        states = stack.github.statuses(repo, head)
        if not states or states[-1]["state"] != "success" or applied.get(naming.namespace_name(repo, number)) != head:
            left.append((repo, number))
    return left


def budget_excess(times: list[float], rate: float, burst: int) -> tuple[float, int, float]:
    """Largest (writes − allowance) over every window of consecutive writes, with its count and length."""
    worst = (float("-inf"), 0, 0.0)
    for i in range(len(times)):
        for j in range(i, len(times)):
            window = times[j] - times[i]
            excess = (j - i + 1) - (burst + rate / 60 * (window + SLACK))
            if excess > worst[0]:
                worst = (excess, j - i + 1, window)
    return worst


def duplicates(stack: Stack, prs: list[tuple[str, int]], shas: dict[tuple[str, int], list[str]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for repo, number in prs:
        for sha in shas[(repo, number)]:
            states = [(s["state"], s["description"]) for s in stack.github.statuses(repo, sha)]
            found["status repeated"] += sum(a == b for a, b in zip(states, states[1:], strict=False))
            found["left pending"] += bool(states) and states[-1][0] == "pending"
        found["extra comments"] += max(0, len(stack.github.comments(repo, number)) - 1)
    for repo in {repo for repo, _ in prs}:
        per_sha = Counter(d["sha"] for d in stack.github.deployments(repo))
        found["extra deployments"] += sum(n - 1 for n in per_sha.values())
    return found


def check(label: str, ok: bool, figure: str) -> bool:
    print(f"  {label:58} {figure:>22} → {verdict(ok)}")
    return ok


def report(
    stack: Stack,
    prs: list[tuple[str, int]],
    shas: dict[tuple[str, int], list[str]],
    answers: list[Answer],
    left: list[tuple[str, int]],
    times: tuple[float, float, float, float],
    rate: int,
    burst: int,
) -> None:
    first, last, done, settled = times
    print("\nNothing lost")
    new = [a for a in answers if a[0] != "redeliver"]
    again = [a for a in answers if a[0] == "redeliver"]
    queued = sum(a[1] == 202 and a[2] == "queued" for a in new)
    duplicate = sum(a[1] == 200 and a[2] == "duplicate" for a in again)
    check("every delivery queued (202)", queued == len(new), f"{queued}/{len(new)}")
    check("every redelivery answered duplicate (200)", duplicate == len(again), f"{duplicate}/{len(again)}")
    check("every PR: success on its newest head, applied at it", not left, f"{len(prs) - len(left)}/{len(prs)}")
    queue = int(stack.redis.llen(QUEUE))
    check("task queue empty at the end", queue == 0, f"{queue} left")
    failed = sum("giving up" in line or "permanent failure" in line for line in stack.worker_log_lines())
    check("no task gave up or failed", failed == 0, f"{failed} log lines")
    dups = duplicates(stack, prs, shas)
    check("no commit left pending", dups["left pending"] == 0, f"{dups['left pending']} commits")
    print("\nNo wasted work")
    rollouts = Counter(stack.clock.rollouts(naming.namespace_name(*pr)) for pr in prs)
    spread = ", ".join(f"{n}: {c} PRs" for n, c in sorted(rollouts.items()))
    check("at most 2 rollouts per PR", max(rollouts) <= 2, spread)
    for key, label in (
        ("status repeated", "no status repeated on a commit"),
        ("extra deployments", "one GitHub Deployment per commit"),
        ("extra comments", "one comment per PR"),
    ):
        check(label, dups[key] == 0, f"{dups[key]} duplicates")
    print("\nGitHub budget")
    requests = stack.github.timed_requests
    worst = (float("-inf"), 0, 0.0, "")
    for repo in sorted({repo for repo, _ in prs}):
        times_ = sorted(
            a for a, _, method, path, _ in requests if method in WRITES and path.startswith(f"/repos/{repo}/")
        )
        excess, n, window = budget_excess(times_, rate, burst)
        worst = max(worst, (excess, n, window, repo))
    figure = f"worst: {worst[1]} in {worst[2]:.1f} s"
    check(f"writes within {burst} + {rate}/min per installation", worst[0] <= 0, figure)
    writes = sum(1 for r in requests if r[2] in WRITES)
    reads = sum(1 for r in requests if r[2] == "GET")
    print(f"  GitHub writes per PR: {writes / len(prs):.1f} ({writes} in all); reads per PR: {reads / len(prs):.1f}")
    per_endpoint = Counter(
        endpoint(r[2], r[3]).replace(" /repos/{owner}/{repo}", " ") for r in requests if r[2] in WRITES
    )
    print("  writes by kind: " + ", ".join(f"{k} {v}" for k, v in per_endpoint.most_common()))
    print("\nTime")
    print(f"  webhooks sent in {last - first:.1f} s; drained (every PR ready) {done - last:.1f} s after the last one")
    print(
        f"  first webhook → every PR ready: {done - first:.1f} s; → all GitHub writes settled: {settled - first:.1f} s"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 PRs instead of 100")
    parser.add_argument("--prs", type=int, default=None, help="number of PRs (10 webhooks each)")
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of deliveries sent twice")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the interleaving")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the drain")
    args = parser.parse_args(argv)
    count = args.prs or (20 if args.quick else 100)
    header(f"burst: {count * PUSHES} webhooks over {count} PRs", "bench.burst", argv)
    rate = int(os.environ.get("PREVIEWBOT_GITHUB_WRITES_PER_MINUTE", RATE))
    burst = int(os.environ.get("PREVIEWBOT_GITHUB_WRITE_BURST", BURST))
    installations = max(1, count // PER_INSTALLATION)
    repos = tuple(f"org-{k}/shop" for k in range(1, installations + 1))
    prs = [(repos[j % installations], j // installations + 1) for j in range(count)]
    print(
        f"setup:     {installations} installations × {count // installations} PRs, {args.workers} worker "
        f"processes, budget {burst} + {rate}/min per installation, {KUBE_LATENCY * 1000:.0f} ms per Kubernetes "
        f"and {GITHUB_LATENCY * 1000:.0f} ms per GitHub request, Kubernetes emulator speed {REAL_SPEED:.2f}"
    )
    lanes = plan(prs, args.duplicates, random.Random(args.seed))
    started = time.monotonic()
    with Stack(concurrency=args.workers, repos=repos, speed=REAL_SPEED) as stack:
        print(f"stack up in {time.monotonic() - started:.1f} s")
        shas = {pr: [stack.github.open_pr(*pr)["head"]["sha"]] for pr in prs}
        answers: list[Answer] = []
        threads = [threading.Thread(target=send, args=(stack, lane, shas, answers)) for lane in lanes]
        first = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        last = max(a[3] for a in answers)
        print(f"sent {len(answers)} webhooks in {last - first:.1f} s ({len(answers) / (last - first):.0f}/s)")
        deadline = time.time() + args.timeout
        while (left := unfinished(stack, prs)) and time.time() < deadline:
            time.sleep(0.5)  # polling interval of the drain check
        done = time.time()
        quiet(stack, 3.0, timeout=args.timeout)
        settled = time.time()
        report(stack, prs, shas, answers, left, (first, last, done, settled), rate, burst)
    print(f"\nran in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
