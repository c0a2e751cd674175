"""Redis-backed outbox of wanted GitHub writes and index of pending commits, shared by every process.

The outbox is one hash (key → newest intent); an entry is removed only if it still holds the
intent that was shown, so a newer one written meanwhile survives. The pending index is a sorted
set scored by the time a commit first went pending, for the sweep that resolves stuck ones.
"""

from __future__ import annotations

from redis import Redis

OUTBOX = "previewbot:outbox"
PENDING = "previewbot:pending"

_DONE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisOutbox:
    """Implements :class:`preview.intents.Outbox` and :class:`preview.intents.PendingIndex`."""

    def __init__(self, client: Redis, prefix: str = "") -> None:
        self._redis = client
        self._outbox = prefix + OUTBOX
        self._pending = prefix + PENDING
        self._done = client.register_script(_DONE)

    # -- Outbox ----------------------------------------------------------------------------------

    def put(self, key: str, value: str) -> None:
        self._redis.hset(self._outbox, key, value)

    def get(self, key: str) -> str | None:
        value = self._redis.hget(self._outbox, key)
        return None if value is None else _text(value)

    def done(self, key: str, value: str) -> bool:
        return bool(self._done(keys=[self._outbox], args=[key, value]))

    def items(self, limit: int) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for key, value in self._redis.hscan_iter(self._outbox, count=min(limit, 1000)):
            found.append((_text(key), _text(value)))
            if len(found) >= limit:
                break
        return found

    def claim(self, key: str, seconds: float) -> bool:
        return bool(self._redis.set(f"{self._outbox}:claim:{key}", "1", nx=True, px=int(seconds * 1000)))

    def release(self, key: str) -> None:
        self._redis.delete(f"{self._outbox}:claim:{key}")

    def size(self) -> int:
        return int(self._redis.hlen(self._outbox))

    # -- PendingIndex ----------------------------------------------------------------------------

    def mark(self, member: str, since: float) -> None:
        self._redis.zadd(self._pending, {member: since}, nx=True)

    def clear(self, member: str) -> None:
        self._redis.zrem(self._pending, member)

    def older_than(self, moment: float, limit: int) -> list[str]:
        return [_text(m) for m in self._redis.zrangebyscore(self._pending, "-inf", moment, start=0, num=limit)]

    def touch(self, member: str, moment: float) -> None:
        self._redis.zadd(self._pending, {member: moment}, xx=True)
