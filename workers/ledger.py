"""Redis-backed memory of what previewbot last wrote to GitHub."""

from __future__ import annotations

from redis import Redis

TTL_SECONDS = 30 * 24 * 3600


class RedisLedger:
    """Implements :class:`preview.ports.ReportLedger`; survives watcher and worker restarts."""

    def __init__(self, client: Redis, prefix: str = "previewbot:ledger") -> None:
        self._redis = client
        self._prefix = prefix

    def get(self, key: str) -> str | None:
        value = self._redis.get(f"{self._prefix}:{key}")
        return value.decode() if isinstance(value, bytes) else value

    def put(self, key: str, value: str) -> None:
        self._redis.set(f"{self._prefix}:{key}", value, ex=TTL_SECONDS)

    def delete(self, key: str) -> None:
        self._redis.delete(f"{self._prefix}:{key}")
