"""The statuses previewbot wrote for each pull request, newest first, in a bounded Redis list.

The Reporter appends (:class:`preview.reporting.StatusHistory`) after every status it writes; the
dashboard reads. Losing an entry is harmless, so a Redis error is logged, never raised.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from preview.models import PullRef, StatusReport

log = logging.getLogger(__name__)

LIMIT = 50
TTL_SECONDS = 30 * 24 * 3600


def history_key(repo: str, number: int) -> str:
    return f"previewbot:history:{repo}#{number}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One status as written: when (epoch seconds), for which commit, and what it said."""

    at: float
    sha: str
    state: str
    description: str
    url: str | None = None


class RedisStatusHistory:
    """At most :data:`LIMIT` entries per PR, kept :data:`TTL_SECONDS` after the last one."""

    def __init__(self, client: Redis, limit: int = LIMIT) -> None:
        self._redis = client
        self._limit = limit

    def append(self, ref: PullRef, sha: str, report: StatusReport, at: float) -> None:
        entry = {"at": at, "sha": sha, "state": str(report.state), "description": report.description}
        if report.target_url:
            entry["url"] = report.target_url
        key = history_key(ref.repo, ref.number)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.lpush(key, json.dumps(entry, separators=(",", ":")))
            pipe.ltrim(key, 0, self._limit - 1)
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
        except RedisError as exc:
            log.warning("status history not recorded (%s)", type(exc).__name__, extra={"repo": ref.repo})

    def read(self, repo: str, number: int) -> list[HistoryEntry]:
        """The PR's entries, newest first; malformed ones are skipped."""
        found = []
        for raw in self._redis.lrange(history_key(repo, number), 0, self._limit - 1):
            try:
                data = json.loads(raw)
                found.append(
                    HistoryEntry(
                        float(data["at"]), str(data["sha"]), str(data["state"]), str(data["description"]),
                        data.get("url") if isinstance(data.get("url"), str) else None,
                    )
                )
            except (ValueError, TypeError, KeyError):
                continue
        return found
