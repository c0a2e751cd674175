"""Watcher failover through real processes: two watchers share a Lease, and the leader dies mid-rollout.

The standby must take over (it logs "leader elected") within 20 s of the leader's SIGKILL, and the commit must
end with exactly one ``success`` status and no status repeated.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest

from preview import naming
from sandbox.kube import KubeEmulator
from tests.conftest import previewbot_token
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

LEASE_SECONDS = 4
WATCHERS = ("watcher", "watcher-b")
PR = 50


@pytest.fixture(scope="module")
def kube() -> Iterator[KubeEmulator]:
    """Slower than the suite's emulator: a ``slow`` image becomes ready 12 s after it starts, time for a failover."""
    emulator = KubeEmulator(speed=5).start()
    previewbot_token(emulator)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def stack(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("e2e-failover")
    settings = {
        "PREVIEWBOT_LEASE_DURATION_SECONDS": str(LEASE_SECONDS),
        "PREVIEWBOT_PROGRESS_DEADLINE_SECONDS": "600",  # simulated seconds: past the slow image's 60
    }
    stack = make_stack(kube, gh, redis_url, workdir, 12, **settings)
    stack.start_all()  # web, worker and the first watcher, which finds no Lease, creates it and leads
    stack.start("watcher", as_name="watcher-b")
    wait_for(lambda: logged(stack, "watcher-b", "standing by"), 60, what="a standby watcher")
    yield stack
    stack.stop_all()


def logged(stack: Stack, name: str, prefix: str) -> list[dict]:
    """The JSON log entries of process ``name`` whose message starts with ``prefix``."""
    found = []
    for line in stack.log(name).splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and str(entry.get("message", "")).startswith(prefix):
            found.append(entry)
    return found


def statuses(gh, sha: str) -> list[tuple[str, str]]:
    return [(s["state"], s["description"]) for s in gh.statuses(REPO, sha) if s["context"] == "preview"]


def rolling_out(kube) -> bool:
    """The preview's pod runs, and is not ready yet."""
    pods = kube.objects("pods", naming.namespace_name(REPO, PR))
    return any(
        p.get("status", {}).get("phase") == "Running"
        and not any(c.get("ready") for c in p["status"].get("containerStatuses") or [])
        for p in pods
    )


def test_the_standby_takes_over_when_the_leader_dies_mid_rollout(gh, kube, stack: Stack) -> None:
    (leader,) = [name for name in WATCHERS if logged(stack, name, "leader elected")]
    (standby,) = [name for name in WATCHERS if name != leader]
    sha = gh.open_pr(REPO, PR, branch="slow-start")["head"]["sha"]  # image tag slow-…: ready late
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", "opened", REPO, PR)
    assert delivery.status_code == 202, delivery.response_body
    wait_for(lambda: statuses(gh, sha) and rolling_out(kube), 60, what="the rollout under way")
    assert all(state == "pending" for state, _ in statuses(gh, sha))

    stack.kill(leader, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: logged(stack, standby, "leader elected"), 20, what="the standby takes the lease")
    print(f"the standby led {time.monotonic() - killed:.1f} s after the leader was killed")
    assert not logged(stack, standby, "leadership lost")

    wait_for(lambda: ("success", "Preview ready") in statuses(gh, sha), 60, what="the rollout reported")
    until = time.monotonic() + 2 * LEASE_SECONDS  # a few drains and sweeps of the new leader
    while time.monotonic() < until:
        shown = statuses(gh, sha)
        assert [state for state, _ in shown].count("success") == 1, shown
        assert all(a != b for a, b in zip(shown, shown[1:], strict=False)), f"a status repeated: {shown}"
        time.sleep(0.2)  # sampling an invariant, not waiting for anything
    assert stack.procs[standby].poll() is None


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request, stack: Stack):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for name in ("worker", *WATCHERS):
            print(f"----- {name} -----\n{stack.log(name)[-4000:]}")
