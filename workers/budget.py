"""A per-installation budget for content-creating GitHub requests, shared by every process via Redis.

GitHub's secondary rate limits allow about 80 content-creating requests a minute; previewbot
stays under a configurable share of that across all its workers and its watcher.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis

from preview.models import PullRef
from preview.ports import TemporaryError

WINDOW = 60


class WriteBudget:
    """``budget(ref)`` before a write; raises TemporaryError with the wait when the minute is spent."""

    def __init__(self, client: Redis, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._limit = per_minute
        self._clock = clock

    def __call__(self, ref: PullRef) -> None:
        now = self._clock()
        window = int(now // WINDOW)
        owner = ref.installation_id if ref.installation_id is not None else ref.repo.split("/", 1)[0]
        key = f"previewbot:budget:{owner}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW * 2)
        used, _ = pipe.execute()
        if used > self._limit:
            wait = WINDOW - (now % WINDOW)
            raise TemporaryError(f"GitHub write budget of {self._limit}/min spent for {owner}", delay=wait)
