"""Benchmark 5, API economy: Kubernetes requests per sync and GitHub requests per pull-request lifecycle.

One PR goes through open → ready → push → ready → close on a quiet stack. Kubernetes requests are
previewbot's ServiceAccount's (watch streams and the watcher's Lease renewals excluded), counted per
phase by verb and resource and compared with the objects the sync applied (the Namespace,
previewbot's RoleBinding in it on creation, and every object rendered from the templates). GitHub
requests are counted by endpoint (method and templated path) next to the minimum previewbot needs
for that lifecycle.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.critical_path import quiet, success_answered
from bench.stack import GITHUB_LATENCY, KUBE_LATENCY, REAL_SPEED, Stack, header, verdict, wait_until
from preview import naming

REPO = "acme/web-shop"
SHA = re.compile(r"[0-9a-f]{40}")
#: path segment → what the next (numeric or SHA) segment stands for
PLACEHOLDERS = {
    "pulls": "{number}",
    "issues": "{number}",
    "comments": "{comment_id}",
    "deployments": "{deployment_id}",
    "statuses": "{sha}",
}
P = "/repos/{owner}/{repo}"
#: The fewest GitHub requests one open → ready → push → ready → close lifecycle needs, and why.
MINIMUM: tuple[tuple[str, int, str], ...] = (
    (f"GET {P}/pulls/{{number}}", 3, "each of the 3 tasks re-reads head and state: a webhook is only a hint"),
    (f"GET {P}/contents/{{path}}", 2, ".preview.yml at each deployed head (a PR may change its own config)"),
    (f"GET {P}/issues/{{number}}/comments", 1, "find an existing previewbot comment once; its id is kept after"),
    (f"POST {P}/statuses/{{sha}}", 4, "pending, then success, on each of the 2 deployed commits"),
    (f"POST {P}/deployments", 2, "one GitHub Deployment per deployed commit"),
    (f"POST {P}/deployments/{{deployment_id}}/statuses", 5, "in_progress and success per commit; inactive at close"),
    (f"POST {P}/issues/{{number}}/comments", 1, "the PR's one comment, created at the first deploy"),
    (
        f"PATCH {P}/issues/comments/{{comment_id}}",
        4,
        "edited when the push starts deploying, when each commit is ready, when removed",
    ),
)
PHASES = ("open", "push", "close")


def endpoint(method: str, path: str) -> str:
    """``POST /repos/{owner}/{repo}/statuses/{sha}`` from a concrete request."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "repos":
        parts[2:4] = ["{owner}", "{repo}"]
    if "contents" in parts:
        parts = parts[: parts.index("contents") + 1] + ["{path}"]
    for i in range(4, len(parts)):
        if parts[i - 1] in PLACEHOLDERS and (parts[i].isdigit() or SHA.fullmatch(parts[i])):
            parts[i] = PLACEHOLDERS[parts[i - 1]]
    return f"{method} {'/'.join(parts)}"


@dataclass
class Phase:
    """What previewbot asked of both APIs during one step of the lifecycle."""

    kube: Counter[str] = field(default_factory=Counter)
    github: Counter[str] = field(default_factory=Counter)
    rendered: int = 0


def record(stack: Stack, since: float, ns: str) -> Phase:
    phase = Phase()
    applied = set()
    for r in stack.kube_requests():
        if r.at >= since and r.resource != "leases":  # the watcher's leader election: per process, not per sync
            phase.kube[f"{r.verb} {r.resource}"] += 1
            if r.verb == "apply":
                applied.add((r.resource, r.namespace, r.name))
    for arrived, _, method, path, _ in stack.github.timed_requests:
        if arrived >= since:
            phase.github[endpoint(method, path)] += 1
    phase.rendered = len(applied)
    return phase


def kube_quiet(stack: Stack, seconds: float = 1.5) -> bool:
    """No Kubernetes request by previewbot (watches and Lease renewals aside) for ``seconds``."""
    times = [r.finished for r in stack.kube_requests() if r.resource != "leases"]
    return not times or time.time() - max(times) >= seconds


def lifecycle(stack: Stack) -> dict[str, Phase]:
    ns = naming.namespace_name(REPO, 1)
    phases: dict[str, Phase] = {}
    # the watcher's start-up jobs (garbage collection, expiry sweep) list namespaces once: not part of a sync
    wait_until(lambda: kube_quiet(stack), 60, "the watcher's start-up jobs", 0.1)
    sha = stack.github.open_pr(REPO, 1)["head"]["sha"]
    for name, action in zip(PHASES, ("opened", "synchronize", "closed"), strict=True):
        since = time.time()
        if name == "push":
            sha = stack.github.push(REPO, 1)
        elif name == "close":
            stack.github.close_pr(REPO, 1, merged=True)
        stack.deliver(action, REPO, 1)
        if name == "close":
            gone = lambda: not [n for n in stack.kube.objects("namespaces") if n["metadata"]["name"] == ns]  # noqa: E731
            wait_until(gone, 90, "namespace deleted", 0.1)
        else:
            wait_until(lambda sha=sha: success_answered(stack, REPO, sha), 60, f"success on {sha[:7]}")
        quiet(stack, 1.5)
        phases[name] = record(stack, since, ns)
    return phases


def print_kube(phases: dict[str, Phase]) -> bool:
    print("\nKubernetes requests per sync (previewbot's ServiceAccount; watch streams and Lease renewals excluded)")
    keys = sorted({k for p in phases.values() for k in p.kube})
    print(f"  {'verb resource':32}" + "".join(f"{n:>8}" for n in PHASES))
    for key in keys:
        print(f"  {key:32}" + "".join(f"{phases[n].kube[key]:8d}" for n in PHASES))
    print(f"  {'total':32}" + "".join(f"{sum(phases[n].kube.values()):8d}" for n in PHASES))
    ok = True
    for name, label in (("open", "create"), ("push", "update")):
        total, rendered = sum(phases[name].kube.values()), phases[name].rendered
        met = total <= rendered + 2
        ok = ok and met
        print(f"  target {label} ≤ applied objects + 2 = {rendered} + 2: {total} requests → {verdict(met)}")
    print("  (the least: read the namespace, apply each object once, stamp the namespace with the applied commit)")
    return ok


def print_github(phases: dict[str, Phase]) -> bool:
    print("\nGitHub requests per PR lifecycle (open → ready → push → ready → close)")
    minimum = {e: (n, why) for e, n, why in MINIMUM}
    seen = {k for p in phases.values() for k in p.github}
    keys = [e for e, _, _ in MINIMUM] + sorted(seen - set(minimum))
    print(f"  {'endpoint':64}" + "".join(f"{n:>6}" for n in PHASES) + f"{'total':>6}{'min':>5}")
    for key in keys:
        counts = [phases[n].github[key] for n in PHASES]
        least, why = minimum.get(key, (0, "not needed"))
        flag = "" if sum(counts) <= least else "  ← more"
        print(f"  {key:64}" + "".join(f"{c:6d}" for c in counts) + f"{sum(counts):6d}{least:5d}{flag}")
    total = sum(sum(p.github.values()) for p in phases.values())
    reads = sum(c for p in phases.values() for k, c in p.github.items() if k.startswith("GET "))
    least = sum(n for _, n, _ in MINIMUM)
    least_reads = sum(n for e, n, _ in MINIMUM if e.startswith("GET "))
    print(
        f"  total {total} ({reads} reads, {total - reads} writes); minimum {least} ({least_reads} reads, "
        f"{least - least_reads} writes)"
    )
    print("  why the minimum:")
    for key, n, why in MINIMUM:
        print(f"    {n} × {key}: {why}")
    met = total <= least
    print(f"  target GitHub requests ≤ minimum {least}: {total} → {verdict(met)}")
    return met


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_economy", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry: one lifecycle either way")
    parser.add_argument("--kube-latency", type=float, default=KUBE_LATENCY, help="seconds per Kubernetes request")
    parser.add_argument("--github-latency", type=float, default=GITHUB_LATENCY, help="seconds per GitHub request")
    args = parser.parse_args(argv)
    header("API economy: requests per sync and per PR lifecycle", "bench.api_economy", argv)
    started = time.monotonic()
    with Stack(kube_latency=args.kube_latency, github_latency=args.github_latency, speed=REAL_SPEED) as stack:
        phases = lifecycle(stack)
    print_kube(phases)
    print_github(phases)
    print(f"\nran in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
