"""Redis-backed queue of PRs waiting for a preview slot (see :mod:`preview.slots`), shared by every process.

Keys: ``previewbot:slots:queue`` (sorted set, PR key → ticket, the order of first arrival),
``previewbot:slots:entries`` (hash, PR key → the waiting commit as JSON), ``previewbot:slots:reserved``
(sorted set, PR key → when its reservation expires), ``previewbot:slots:ticket`` (the ticket counter)
and ``previewbot:slots:lock``: every admission decision and every advance of the queue runs under
this one lock (a redis-py lock with an expiry, so a process that dies holding it blocks nobody for long).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from redis import Redis
from redis.exceptions import LockError

from preview.models import Command, CommandKind
from preview.ports import TemporaryError
from preview.slots import Waiting, Wake
from workers.enqueue import Enqueuer, QueueUnavailable

PREFIX = "previewbot:slots"
#: Longest a decision may hold the lock (it lists namespaces once and writes a few Redis keys).
LOCK_SECONDS = 30
#: Longest a decision waits for the lock before the task is retried.
LOCK_WAIT_SECONDS = 10

_DROP = """
local entry = redis.call('HGET', KEYS[2], ARGV[1])
local removed = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
removed = removed + redis.call('ZREM', KEYS[3], ARGV[1])
return {entry or false, removed}
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisSlotQueue:
    """Implements :class:`preview.slots.SlotStore`."""

    def __init__(self, client: Redis, prefix: str = PREFIX) -> None:
        self._redis = client
        self._queue = f"{prefix}:queue"
        self._entries = f"{prefix}:entries"
        self._reserved = f"{prefix}:reserved"
        self._ticket = f"{prefix}:ticket"
        self._lock = f"{prefix}:lock"
        self._drop = client.register_script(_DROP)

    @contextmanager
    def locked(self) -> Iterator[None]:
        lock = self._redis.lock(self._lock, timeout=LOCK_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS)
        if not lock.acquire():
            raise TemporaryError("the preview slots are busy", delay=1)
        try:
            yield
        finally:
            with suppress(LockError):  # expired: the next holder's decision stands on its own
                lock.release()

    def queue(self) -> list[Waiting]:
        keys = [_text(k) for k in self._redis.zrange(self._queue, 0, -1)]
        if not keys:
            return []
        return [_decode(_text(raw)) for raw in self._redis.hmget(self._entries, keys) if raw is not None]

    def add(self, waiting: Waiting) -> None:
        key = waiting.key
        score = self._redis.zscore(self._queue, key)
        ticket = int(score) if score is not None else int(self._redis.incr(self._ticket))
        entry = {
            "repo": waiting.repo,
            "number": waiting.number,
            "sha": waiting.sha,
            "installation_id": waiting.installation_id,
            "ticket": ticket,
        }
        pipe = self._redis.pipeline()
        pipe.hset(self._entries, key, json.dumps(entry, separators=(",", ":")))
        pipe.zadd(self._queue, {key: ticket}, nx=True)
        pipe.execute()

    def drop(self, key: str) -> tuple[Waiting | None, bool]:
        raw, removed = self._drop(keys=[self._queue, self._entries, self._reserved], args=[key])
        return (_decode(_text(raw)) if raw else None), bool(removed)

    def reserve(self, key: str, until: float) -> None:
        self._redis.zadd(self._reserved, {key: until})

    def reservations(self, now: float) -> set[str]:
        self._redis.zremrangebyscore(self._reserved, "-inf", now)
        return {_text(k) for k in self._redis.zrange(self._reserved, 0, -1)}


def _decode(raw: str) -> Waiting:
    data = json.loads(raw)
    installation = data.get("installation_id")
    return Waiting(
        str(data["repo"]),
        int(data["number"]),
        str(data["sha"]),
        int(installation) if installation is not None else None,
        int(data.get("ticket", 0)),
    )


def delivery_id(waiting: Waiting, window: int) -> str:
    """One sync per queue entry, commit and window: processes advancing the queue at once queue it once.

    The window lets a later advance (the watcher's sweep) queue it again if that sync was lost or gave up.
    """
    return f"slot:{waiting.repo}#{waiting.number}:{waiting.sha}:{waiting.ticket}:{window}"


def wake_through(enqueuer: Enqueuer, window_seconds: int, clock: Callable[[], float] = time.time) -> Wake:
    """A :data:`preview.slots.Wake` that queues a sync of the PR whose turn came."""

    def wake(waiting: Waiting) -> bool:
        window = int(clock() // max(window_seconds, 1))
        delivery = delivery_id(waiting, window)
        ref = waiting.ref
        command = Command(CommandKind.SYNC, ref.repo, ref.number, ref.installation_id, waiting.sha, delivery, "slot")
        try:
            return enqueuer.submit(command)
        except QueueUnavailable as exc:
            raise TemporaryError(f"cannot queue the next preview: Redis {exc}") from None

    return wake


def wake_sleeping(enqueuer: Enqueuer, waiting: Waiting, clock: Callable[[], float] = time.time) -> bool:
    """Queue the wake of a sleeping preview whose turn came (``PREVIEWBOT_SLEEP_FREES_SLOT``), once per 30 s."""
    ref = waiting.ref
    delivery = f"slot-wake:{ref.repo}#{ref.number}:{int(clock() // 30)}"
    command = Command(CommandKind.WAKE, ref.repo, ref.number, ref.installation_id, None, delivery, "slot")
    try:
        return enqueuer.submit(command)
    except QueueUnavailable as exc:
        raise TemporaryError(f"cannot queue the next preview: Redis {exc}") from None
