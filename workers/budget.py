"""A per-installation budget for content-creating GitHub requests, shared by every process via Redis.

A token bucket per installation (or, in token mode, per repository owner): a burst of ``burst``
writes goes out at once, and tokens come back at ``per_minute`` a minute. An idle installation
therefore never waits; a busy one waits only once its burst is spent. GitHub's own answers stop
every process's writes for the installation: a ``Retry-After`` (secondary rate limit) or an
exhausted ``x-ratelimit-remaining`` pauses the bucket until the time GitHub named. Reads are
never charged. A write that cannot go out raises :class:`TemporaryError` with the wait, so the
outbox keeps it (newest state per commit) until the budget allows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis

from preview.models import PullRef
from preview.ports import TemporaryError

PREFIX = "previewbot:budget:"
#: installation → until when GitHub paused its writes (epoch seconds), kept an hour past the end for metrics
PAUSED = "previewbot:budget-paused"
PAUSE_MEMORY = 3600

# KEYS: bucket hash, pause key. ARGV: now, tokens per second, burst. Returns the wait in seconds (0: spent one).
_SPEND = """
local now = tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return tostring(paused - now) end
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""

# KEYS: pause key, index of pauses. ARGV: until (epoch seconds), ttl in ms, owner, now, memory (s).
# Only ever moves the pause later.
_PAUSE = """
local resume = tonumber(ARGV[1])
if resume > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local memory = tonumber(ARGV[5])
  redis.call('ZADD', KEYS[2], resume, ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[4]) - memory)
  redis.call('EXPIRE', KEYS[2], math.ceil(resume - tonumber(ARGV[4]) + memory))
end
return 1
"""


def owner_of(ref: PullRef) -> str:
    """Whose budget a request spends: the App installation, or the repository owner in token mode."""
    return str(ref.installation_id) if ref.installation_id is not None else ref.repo.split("/", 1)[0]


class WriteBudget:
    """``spend(ref)`` before a write (raises TemporaryError with the wait); ``pause`` after GitHub said stop."""

    def __init__(
        self, client: Redis, per_minute: int, burst: int = 10, clock: Callable[[], float] = time.time
    ) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a write budget needs at least one write a minute and a burst of one")
        self._rate = per_minute / 60.0
        self._burst = burst
        self._clock = clock
        self._spend = client.register_script(_SPEND)
        self._pause = client.register_script(_PAUSE)

    def spend(self, ref: PullRef) -> None:
        owner = owner_of(ref)
        keys = [f"{PREFIX}{owner}", f"{PREFIX}{owner}:paused"]
        wait = float(self._spend(keys=keys, args=[repr(self._clock()), repr(self._rate), self._burst]))
        if wait > 0:
            raise TemporaryError(f"GitHub write budget spent for {owner}; next write in {wait:.1f}s", delay=wait)

    __call__ = spend

    def pause(self, ref: PullRef, seconds: float) -> None:
        """No write for ``ref``'s installation for ``seconds``, in any process (GitHub asked us to wait)."""
        seconds = max(0.0, min(float(seconds), 3600.0))
        now = self._clock()
        owner = owner_of(ref)
        args = [repr(now + seconds), int(seconds * 1000) + 1000, owner, repr(now), PAUSE_MEMORY]
        self._pause(keys=[f"{PREFIX}{owner}:paused", PAUSED], args=args)


def paused_installations(scores: list[tuple[bytes | str, float]], now: float) -> dict[str, bool]:
    """``{installation: still paused}`` from the members and scores of :data:`PAUSED` (ZRANGE WITHSCORES)."""
    found: dict[str, bool] = {}
    for member, until in scores:
        if until > now - PAUSE_MEMORY:
            found[member.decode() if isinstance(member, bytes) else member] = until > now
    return found
