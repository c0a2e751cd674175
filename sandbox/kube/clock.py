"""Wall-clock helpers in the API server's timestamp format."""

from __future__ import annotations

import datetime as dt


def rfc3339(ts: float | None = None) -> str:
    """``2024-05-01T12:00:00Z`` for a POSIX time (default: now)."""
    when = dt.datetime.now(dt.UTC) if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str | None) -> float | None:
    """POSIX time of an RFC 3339 timestamp, or None."""
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None
