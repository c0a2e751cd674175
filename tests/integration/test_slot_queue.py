"""The Redis queue of PRs waiting for a preview slot, and decisions racing for the last slot."""

from __future__ import annotations

import threading

import redis

from preview.models import PullRef, PullRequest
from preview.reporting import Reporter
from preview.slots import Limits, Slots, Waiting
from tests.unit.fakes import FakeCluster, FakeGitHub, MemoryLedger
from workers.slot_queue import RedisSlotQueue, delivery_id

REPO = "acme/slots"


def test_queue_keeps_first_arrival_and_updates_the_commit(redis_db: redis.Redis) -> None:
    store = RedisSlotQueue(redis_db)
    store.add(Waiting(REPO, 1, "a" * 40))
    store.add(Waiting(REPO, 2, "b" * 40, 42))
    store.add(Waiting(REPO, 1, "c" * 40))  # a push while waiting
    first, second = store.queue()
    assert (first.number, first.sha, second.number, second.installation_id) == (1, "c" * 40, 2, 42)
    assert first.ticket < second.ticket
    assert delivery_id(first, 7) == f"slot:{REPO}#1:{'c' * 40}:{first.ticket}:7"
    assert store.drop(f"{REPO}#1") == (first, True)
    assert store.drop(f"{REPO}#1") == (None, False)
    store.add(Waiting(REPO, 1, "c" * 40))
    assert store.queue()[-1].ticket > second.ticket  # back in line, with a ticket (and wake-up) of its own


def test_reservations_expire(redis_db: redis.Redis) -> None:
    store = RedisSlotQueue(redis_db)
    store.reserve(f"{REPO}#1", 100.0)
    store.reserve(f"{REPO}#2", 300.0)
    assert store.reservations(200.0) == {f"{REPO}#2"}
    assert store.drop(f"{REPO}#2") == (None, True)
    assert store.reservations(200.0) == set()


def test_two_decisions_never_both_take_the_last_slot(redis_url: str, redis_db: redis.Redis) -> None:
    github = FakeGitHub()
    barrier = threading.Barrier(8)
    results: dict[int, tuple[int, int] | None] = {}

    class SlowCluster(FakeCluster):
        def list_namespaces(self, label_selector: str):  # noqa: ANN201
            found = super().list_namespaces(label_selector)
            threading.Event().wait(0.02)  # a decision takes a while: the others pile up behind the lock
            return found

    def decide(number: int) -> None:
        client = redis.Redis.from_url(redis_url)
        reporter = Reporter(github, MemoryLedger(), "preview")
        slots = Slots(Limits(total=1), RedisSlotQueue(client), SlowCluster(), reporter, lambda _w: None)
        pr = PullRequest(PullRef(REPO, number), f"{number:x}" * 40, "topic", "main", "open")
        barrier.wait()
        results[number] = slots.claim(pr)

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    admitted = [n for n, place in results.items() if place is None]
    assert len(results) == 8 and len(admitted) == 1
    places = sorted(place for place in results.values() if place is not None)
    assert places[-1] == (7, 7)
