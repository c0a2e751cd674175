"""Fair limits on live previews: the decision, the queue, and the lifecycle calling them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from preview import naming
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State, StatusReport
from preview.reporting import Reporter
from preview.settings import Settings
from preview.slots import Limits, Slots, Waiting, positions, startable
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

WEB, API = "acme/web", "acme/api"
SHA = {n: f"{n:x}" * 40 for n in range(1, 10)}


def waiting(repo: str, number: int, ticket: int) -> Waiting:
    return Waiting(repo, number, SHA[number], None, ticket)


# -- the decision ---------------------------------------------------------------------------------


def test_no_limits_start_everyone() -> None:
    queue = [waiting(WEB, 1, 1), waiting(WEB, 2, 2)]
    assert startable({f"{WEB}#9"}, queue, Limits()) == queue


def test_global_limit_starts_the_first_arrivals() -> None:
    queue = [waiting(API, 3, 7), waiting(WEB, 1, 5), waiting(WEB, 2, 6)]
    assert [w.number for w in startable({f"{WEB}#9"}, queue, Limits(total=3))] == [1, 2]
    assert startable({f"{WEB}#8", f"{WEB}#9"}, queue, Limits(total=2)) == []


def test_per_repo_limit_does_not_hold_up_other_repositories() -> None:
    queue = [waiting(WEB, 1, 1), waiting(API, 3, 2)]
    chosen = startable({f"{WEB}#9"}, queue, Limits(total=5, per_repo=1))
    assert [w.number for w in chosen] == [3]
    assert positions(queue, chosen) == {f"{WEB}#1": (1, 1)}


def test_positions_follow_arrival_among_those_still_waiting() -> None:
    queue = [waiting(WEB, 2, 4), waiting(WEB, 1, 3), waiting(API, 3, 9)]
    chosen = startable(set(), queue, Limits(total=1))
    assert [w.number for w in chosen] == [1]
    assert positions(queue, chosen) == {f"{WEB}#2": (1, 2), f"{API}#3": (2, 2)}


# -- the queue, with the lifecycle --------------------------------------------------------------------


class MemoryStore:
    """An in-memory :class:`preview.slots.SlotStore`."""

    def __init__(self) -> None:
        self.entries: dict[str, Waiting] = {}
        self.reserved: dict[str, float] = {}
        self.ticket = 0
        self.locks = 0

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.locks += 1
        yield

    def queue(self) -> list[Waiting]:
        return sorted(self.entries.values(), key=lambda w: w.ticket)

    def add(self, entry: Waiting) -> None:
        known = self.entries.get(entry.key)
        if known is None:
            self.ticket += 1
        self.entries[entry.key] = replace(entry, ticket=known.ticket if known else self.ticket)

    def drop(self, key: str) -> tuple[Waiting | None, bool]:
        entry = self.entries.pop(key, None)
        reserved = self.reserved.pop(key, None)
        return entry, entry is not None or reserved is not None

    def reserve(self, key: str, until: float) -> None:
        self.reserved[key] = until

    def reservations(self, now: float) -> set[str]:
        return {k for k, until in self.reserved.items() if until > now}


class World:
    def __init__(self, limits: Limits) -> None:
        self.github, self.cluster, self.store = FakeGitHub(), FakeCluster(), MemoryStore()
        self.woken: list[Waiting] = []
        self.now = 1000.0
        reporter = Reporter(self.github, MemoryLedger(), "preview")
        self.slots = Slots(limits, self.store, self.cluster, reporter, self.woken.append, clock=lambda: self.now)
        self.lc = Lifecycle(
            self.github,
            self.cluster,
            FakeRenderer(),
            reporter,
            Settings(),
            clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
            slots=self.slots,
        )

    def open(self, repo: str, number: int) -> Outcome:
        self.github.open(repo, number, SHA[number])
        return self.lc.sync(PullRef(repo, number), SHA[number])

    def last(self, number: int) -> StatusReport:
        return self.github.for_sha(SHA[number])[-1]

    def live(self, repo: str, number: int) -> bool:
        ns = self.cluster.read_namespace(naming.namespace_name(repo, number))
        return ns is not None and not ns.terminating


def queued(position: int, size: int) -> StatusReport:
    return StatusReport(State.PENDING, f"Queued: position {position} of {size}")


def test_beyond_the_limit_a_pr_waits_and_starts_when_a_slot_frees() -> None:
    world = World(Limits(total=2))
    assert world.open(WEB, 1) is Outcome.DEPLOYED
    assert world.open(WEB, 2) is Outcome.DEPLOYED
    assert world.open(WEB, 3) is Outcome.QUEUED
    assert world.open(API, 4) is Outcome.QUEUED
    assert world.last(3) == queued(1, 2) and world.last(4) == queued(2, 2)
    assert not world.live(WEB, 3)

    world.github.close(WEB, 1)
    assert world.lc.teardown(PullRef(WEB, 1)) is Outcome.TORN_DOWN
    assert [w.number for w in world.woken] == [3]
    assert world.last(4) == queued(1, 1)  # position written again once it changed
    assert world.open(WEB, 3) is Outcome.DEPLOYED  # the sync the freed slot queued
    assert world.last(3).description.startswith("Deploying")
    assert world.store.queue() == [Waiting(API, 4, SHA[4], None, 2)]


def test_pushes_to_a_live_preview_always_deploy() -> None:
    world = World(Limits(total=1))
    assert world.open(WEB, 1) is Outcome.DEPLOYED
    assert world.open(WEB, 2) is Outcome.QUEUED
    locks = world.store.locks
    world.github.open(WEB, 1, SHA[5])
    assert world.lc.sync(PullRef(WEB, 1), SHA[5]) is Outcome.DEPLOYED
    assert world.store.locks == locks  # a live preview never asks for a slot


def test_per_repo_limit() -> None:
    world = World(Limits(per_repo=1))
    assert world.open(WEB, 1) is Outcome.DEPLOYED
    assert world.open(WEB, 2) is Outcome.QUEUED
    assert world.open(API, 3) is Outcome.DEPLOYED


def test_a_reservation_counts_before_the_namespace_exists() -> None:
    world = World(Limits(total=1))
    pr = world.github.open(WEB, 1, SHA[1])
    assert world.slots.claim(pr) is None  # let in; its namespace is not applied yet
    assert world.open(WEB, 2) is Outcome.QUEUED
    assert world.slots.claim(pr) is None  # a retry of the same sync keeps its slot
    world.now += 10_000  # the reservation expired without a namespace
    assert world.open(WEB, 2) is Outcome.DEPLOYED


def test_closing_a_queued_pr_leaves_the_queue_and_resolves_its_status() -> None:
    world = World(Limits(total=1))
    world.open(WEB, 1)
    world.open(WEB, 2)
    world.open(WEB, 3)
    assert world.last(3) == queued(2, 2)
    world.github.close(WEB, 2)
    assert world.lc.sync(PullRef(WEB, 2), SHA[2]) is Outcome.ABSENT
    assert world.last(2).state is State.ERROR
    assert world.last(3) == queued(1, 1)
    assert [w.number for w in world.store.queue()] == [3]


def test_a_push_while_queued_keeps_the_place_and_supersedes_the_old_commit() -> None:
    world = World(Limits(total=1))
    world.open(WEB, 1)
    world.open(WEB, 2)
    world.open(WEB, 3)
    world.github.open(WEB, 2, SHA[6])
    assert world.lc.sync(PullRef(WEB, 2), SHA[6]) is Outcome.QUEUED
    assert world.github.for_sha(SHA[6])[-1] == queued(1, 2)
    assert world.last(2) == StatusReport(State.ERROR, "Superseded by 6666666")


def test_destroy_frees_the_slot() -> None:
    world = World(Limits(total=1))
    world.open(WEB, 1)
    world.open(WEB, 2)
    world.lc.stop(PullRef(WEB, 1))
    assert [w.number for w in world.woken] == [2]


@pytest.mark.parametrize("limits", [Limits(), Limits(total=0, per_repo=0)])
def test_without_limits_nothing_is_asked(limits: Limits) -> None:
    world = World(limits)
    for number in (1, 2, 3):
        assert world.open(WEB, number) is Outcome.DEPLOYED
    assert world.store.locks == 0


def test_the_expiry_sweep_wakes_a_pr_whose_turn_came_again() -> None:
    world = World(Limits(total=1))
    world.open(WEB, 1)
    world.open(WEB, 2)
    world.cluster.delete_namespace(naming.namespace_name(WEB, 1))  # gone without previewbot's teardown
    world.now += 10_000  # and its reservation expired
    assert world.woken == []
    world.lc.expire("keep")
    assert [w.number for w in world.woken] == [2]


def test_a_retry_of_a_pr_let_in_is_never_shown_queued() -> None:
    world = World(Limits(total=1))
    pr = world.github.open(WEB, 1, SHA[1])
    assert world.slots.claim(pr) is None
    world.open(WEB, 2)
    assert world.slots.claim(pr) is None
    assert all(not s.description.startswith("Queued") for s in world.github.for_sha(SHA[1]))
    assert world.last(2) == queued(1, 1)
