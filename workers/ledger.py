"""Redis-backed memory of the last status reported per (repo, sha, context)."""

from __future__ import annotations

from redis import Redis

TTL_SECONDS = 30 * 24 * 3600


class RedisLedger:
    """Implements :class:`preview.ports.ReportLedger`; survives watcher and worker restarts."""

    def __init__(self, client: Redis, prefix: str = "previewbot:status") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, repo: str, sha: str, context: str) -> str:
        return f"{self._prefix}:{repo}:{sha}:{context}"

    def last(self, repo: str, sha: str, context: str) -> str | None:
        value = self._redis.get(self._key(repo, sha, context))
        return value.decode() if isinstance(value, bytes) else value

    def remember(self, repo: str, sha: str, context: str, fingerprint: str) -> None:
        self._redis.set(self._key(repo, sha, context), fingerprint, ex=TTL_SECONDS)
