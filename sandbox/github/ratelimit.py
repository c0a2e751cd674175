"""Primary rate-limit bookkeeping per credential (the ``core`` resource)."""

from __future__ import annotations

from dataclasses import dataclass

from . import state as st
from .util import now

LIMIT = 5000  # the default core requests per credential per hour (see State.rate_limit)
WINDOW = 3600.0


@dataclass(frozen=True)
class Quota:
    """One credential's ``core`` quota."""

    limit: int
    remaining: int
    reset: int
    used: int

    def as_json(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "reset": self.reset}

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }


def _current(state: st.State, key: str) -> tuple[int, float]:
    used, reset = state.rate_used.get(key, (0, now() + WINDOW))
    if now() >= reset:
        used, reset = 0, now() + WINDOW
    return used, reset


def consume(state: st.State, key: str, cost: int = 1) -> Quota:
    """Count one request against ``key`` and return the quota after it."""
    with state.lock:
        used, reset = _current(state, key)
        limit = state.rate_limit
        used = min(used + cost, limit)
        state.rate_used[key] = (used, reset)
        return Quota(limit, limit - used, int(reset), used)


def peek(state: st.State, key: str) -> Quota:
    """The quota of ``key`` without counting a request."""
    with state.lock:
        used, reset = _current(state, key)
        return Quota(state.rate_limit, state.rate_limit - used, int(reset), used)


def exhausted(state: st.State, key: str) -> bool:
    """True when ``key`` has no requests left in this window."""
    return peek(state, key).remaining <= 0
