"""Small helpers shared by the emulator: clocks, identifiers and error bodies."""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from datetime import UTC, datetime

DOCS = "https://docs.github.com/rest"
HTML_BASE = "https://github.com"


def now() -> float:
    """Current wall-clock time in seconds."""
    return time.time()


def iso(ts: float | None) -> str | None:
    """Format a UNIX timestamp as GitHub does: ISO-8601 in UTC with a ``Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, ident: int) -> str:
    """Legacy GraphQL global id, e.g. ``MDQ6VXNlcjE=`` for User 1."""
    raw = f"0{len(kind)}:{kind}{ident}"
    return base64.b64encode(raw.encode()).decode()


def random_sha() -> str:
    """A random 40-hex commit SHA."""
    return secrets.token_hex(20)


def is_sha(value: str) -> bool:
    """True when ``value`` looks like a full commit SHA."""
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value.lower())


class IdSource:
    """Thread-safe increasing integer ids, one sequence per kind."""

    _STARTS = {
        "user": 5_000_001,
        "repo": 700_000_001,
        "pull": 1_900_000_001,
        "status": 31_000_000_001,
        "check_run": 24_000_000_001,
        "check_suite": 22_000_000_001,
        "deployment": 1_500_000_001,
        "deployment_status": 2_100_000_001,
        "comment": 2_300_000_001,
        "reaction": 270_000_001,
        "label": 6_600_000_001,
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, itertools.count[int]] = {}

    def next(self, kind: str) -> int:
        """Return the next id of ``kind``."""
        with self._lock:
            counter = self._counters.setdefault(kind, itertools.count(self._STARTS.get(kind, 1)))
            return next(counter)


def error_body(message: str, status: int, doc: str = DOCS, **extra: object) -> dict:
    """GitHub's usual error JSON."""
    body: dict = {"message": message, **extra, "documentation_url": doc, "status": str(status)}
    return body
