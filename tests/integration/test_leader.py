"""Leader election over a real Lease: the official client against the Kubernetes emulator, as previewbot's
ServiceAccount (under ``k8s/deploy/base/rbac.yaml``), with 2 s leases (renew deadline 1.33 s, a try every 0.27 s).

Every wait polls with a deadline; the bounds asserted follow from the timing: a standby takes over a lease
it has seen unchanged for its duration, a leader gives up once it could not renew for the renew deadline.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from integrations.lease import KubeLease, LeaseRecord, StoredLease
from preview.settings import SettingsError, load
from tests.conftest import PREVIEWBOT_USER, previewbot_token
from tests.helpers import wait_for
from workers.leader import JITTER, LeaderElector, Timing

NAMESPACE, NAME = "previewbot", "previewbot-watcher"
TIMING = Timing.for_lease(2)
#: the longest a standby's look at the lease may lag behind a change (one try, with its jitter)
LOOK = TIMING.retry_period * (1 + JITTER)
SLACK = 0.5  # HTTP round trips and thread scheduling on a busy machine
MICROTIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Spy:
    """A lease store that records when each successful write was sent, and may run ``race`` after a read."""

    def __init__(self, lease: KubeLease) -> None:
        self.lease = lease
        self.writes: list[float] = []
        self.race: Callable[[], object] | None = None

    def __str__(self) -> str:
        return str(self.lease)

    def get(self, timeout: float) -> StoredLease | None:
        found = self.lease.get(timeout)
        race, self.race = self.race, None
        if race is not None:
            race()  # someone else writes between this candidate's read and its write
        return found

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease:
        return self._write(lambda: self.lease.create(record, timeout))

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease:
        return self._write(lambda: self.lease.update(record, resource_version, timeout))

    def _write(self, call: Callable[[], StoredLease]) -> StoredLease:
        sent = time.monotonic()
        stored = call()
        self.writes.append(sent)
        return stored


class Candidate:
    """One elector campaigning in a thread: stands by, leads until stopped (releasing the lease or, like a
    crashed process, just no longer renewing it) or until it loses the lease."""

    def __init__(self, elector: LeaderElector) -> None:
        self.elector = elector
        self.spy: Spy = elector.lease  # type: ignore[assignment]
        self.stop = threading.Event()
        self.release = True
        self.led_at: float | None = None
        self.lost_at: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if not self.elector.acquire(self.stop):
            return
        self.led_at = time.monotonic()
        if not self.elector.hold(self.stop):
            self.lost_at = time.monotonic()
        elif self.release:
            self.elector.release()

    def halt(self, *, release: bool) -> float:
        """Stop campaigning; the time renewals stopped."""
        self.release = release
        stopped = time.monotonic()
        self.stop.set()
        self.thread.join(10)
        return stopped


@pytest.fixture
def token(kube) -> str:
    return previewbot_token(kube)


@pytest.fixture(autouse=True)
def no_lease(kube, token: str) -> Iterator[None]:
    """Each test starts without the lease and without injected faults."""
    kube.clear_faults()
    try:
        client.CoordinationV1Api(kube.api_client()).delete_namespaced_lease(NAME, NAMESPACE)
    except ApiException as exc:
        if exc.status != 404:
            raise
    yield
    kube.clear_faults()


@pytest.fixture
def elector(kube, token: str) -> Callable[[str], LeaderElector]:
    def make(identity: str) -> LeaderElector:
        return LeaderElector(Spy(KubeLease(kube.api_client(token), NAMESPACE, NAME)), identity, TIMING)

    return make


@pytest.fixture
def campaign(elector: Callable[[str], LeaderElector]) -> Iterator[Callable[[str], Candidate]]:
    started: list[Candidate] = []

    def start(identity: str) -> Candidate:
        candidate = Candidate(elector(identity))
        started.append(candidate)
        candidate.thread.start()
        return candidate

    yield start
    for candidate in started:
        candidate.halt(release=False)


def stored_spec(kube) -> dict[str, Any]:
    (lease,) = [item for item in kube.objects("leases", NAMESPACE) if item["metadata"]["name"] == NAME]
    return lease["spec"]


def leading(candidate: Candidate) -> Candidate:
    wait_for(lambda: candidate.led_at, 5, what=f"{candidate.elector.identity} leads")
    return candidate


def standing_by(candidate: Candidate) -> Candidate:
    wait_for(lambda: candidate.elector.observed is not None, 5, what=f"{candidate.elector.identity} read the lease")
    return candidate


def test_one_leader_among_two(kube, campaign) -> None:
    a, b = campaign("a"), campaign("b")
    wait_for(lambda: a.led_at or b.led_at, 5, what="a leader")
    leader, standby = (a, b) if a.led_at else (b, a)
    until = time.monotonic() + 2 * TIMING.lease_duration  # through two lease durations of renewals
    while time.monotonic() < until:
        assert leader.elector.is_leader() and not standby.elector.is_leader() and standby.led_at is None
        time.sleep(0.05)  # sampling an invariant, not waiting for anything
    spec = stored_spec(kube)
    assert spec["holderIdentity"] == leader.elector.identity
    assert (spec["leaseDurationSeconds"], spec["leaseTransitions"]) == (2, 0)
    assert MICROTIME.match(spec["acquireTime"]) and MICROTIME.match(spec["renewTime"])
    assert spec["renewTime"] > spec["acquireTime"]
    assert len(leader.spy.writes) >= TIMING.lease_duration / TIMING.retry_period  # renewed all along


def test_standby_takes_over_a_lease_no_longer_renewed(kube, campaign) -> None:
    a = leading(campaign("a"))
    b = standing_by(campaign("b"))
    stopped = a.halt(release=False)  # like SIGKILL: the lease stays, unrenewed
    wait_for(lambda: b.led_at, TIMING.lease_duration + 2 * LOOK + 3, what="the standby takes over")
    assert b.led_at is not None
    took = b.led_at - stopped
    # not before the lease expired as the standby saw it, and at most two looks after that
    assert TIMING.lease_duration - LOOK - 0.1 < took < TIMING.lease_duration + 2 * LOOK + SLACK
    spec = stored_spec(kube)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


def test_graceful_release_hands_over_at_once(kube, campaign) -> None:
    a = leading(campaign("a"))
    b = standing_by(campaign("b"))
    stopped = a.halt(release=True)
    released = a.elector.observed
    assert released is not None and (released.record.holder, released.record.duration_seconds) == ("", 1)
    wait_for(lambda: b.led_at, 5, what="the standby takes over")
    assert b.led_at is not None and b.led_at - stopped < LOOK + SLACK  # no waiting for the lease to expire
    assert (stored_spec(kube)["holderIdentity"], stored_spec(kube)["leaseTransitions"]) == ("b", 1)


def test_a_leader_that_cannot_renew_stops_before_its_lease_expires(kube, campaign) -> None:
    a = leading(campaign("a"))
    wait_for(lambda: len(a.spy.writes) >= 2, 5, what="a renewal")
    kube.inject_fault("*", "leases", 503, count=1_000_000)  # every lease request fails from now on
    wait_for(lambda: a.lost_at, TIMING.renew_deadline + 3, what="the leader gives up")
    assert a.lost_at is not None and not a.elector.is_leader()
    since_renewal = a.lost_at - a.spy.writes[-1]
    assert TIMING.renew_deadline - 0.05 < since_renewal < TIMING.lease_duration  # before anyone may take over
    kube.clear_faults()
    b = campaign("b")  # the lease was not released: a new candidate waits for it to expire
    wait_for(lambda: b.led_at, TIMING.lease_duration + 2 * LOOK + 3, what="a new leader")
    assert stored_spec(kube)["holderIdentity"] == "b"


def test_a_conflict_is_a_lost_race_not_a_crash(kube, elector) -> None:
    a, b = elector("a"), elector("b")
    b.lease.race = a.try_acquire_or_renew  # type: ignore[attr-defined] - a creates the lease after b saw none
    assert b.try_acquire_or_renew() is False  # b's create: 409 AlreadyExists
    assert a.is_leader() and not b.is_leader()
    assert a.release()  # the lease is free again
    b.lease.race = a.try_acquire_or_renew  # type: ignore[attr-defined] - a takes it after b read it
    assert b.try_acquire_or_renew() is False  # b's update at the older resourceVersion: 409 Conflict
    assert a.is_leader() and not b.is_leader()
    assert b.try_acquire_or_renew() is False  # and now a's lease is valid
    assert stored_spec(kube)["holderIdentity"] == "a"
    conflicts = [r for r in kube.requests if r.user == PREVIEWBOT_USER and r.resource == "leases" and r.status == 409]
    assert {r.verb for r in conflicts} >= {"create", "update"}


def test_settings() -> None:
    base = {"PREVIEWBOT_GITHUB_TOKEN": "t"}
    settings = load(base)
    assert (settings.leader_election, settings.lease_namespace, settings.lease_name) == (
        True,
        "previewbot",
        "previewbot-watcher",
    )
    assert settings.lease_duration_seconds == 15
    assert load({**base, "PREVIEWBOT_SERVICE_ACCOUNT": "ops/bot"}).lease_namespace == "ops"
    custom = load(
        {
            **base,
            "PREVIEWBOT_LEADER_ELECTION": "false",
            "PREVIEWBOT_LEASE_NAMESPACE": "infra",
            "PREVIEWBOT_LEASE_NAME": "watcher.previewbot",
            "PREVIEWBOT_LEASE_DURATION_SECONDS": "4",
        }
    )
    assert (custom.leader_election, custom.lease_namespace, custom.lease_name) == (False, "infra", "watcher.previewbot")
    assert custom.lease_duration_seconds == 4
    for key, value in (
        ("PREVIEWBOT_LEADER_ELECTION", "maybe"),
        ("PREVIEWBOT_LEASE_NAMESPACE", "Not_A_Namespace"),
        ("PREVIEWBOT_LEASE_NAME", "no spaces"),
        ("PREVIEWBOT_LEASE_DURATION_SECONDS", "1"),
    ):
        with pytest.raises(SettingsError, match=key):
            load({**base, key: value})
    default = Timing.for_lease(15)
    assert (default.lease_duration, default.renew_deadline, default.retry_period) == (15, 10.0, 2.0)
