"""In-process counters exposed in Prometheus text format.

Label values come from fixed sets only: a caller can add to a count but never create a series.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Literal, get_args

from webhooks.events import HANDLED_EVENTS

#: Every ``result`` the intake answers with.
Result = Literal[
    "queued",
    "duplicate",
    "ignored",
    "pong",
    "bad-body",
    "too-large",
    "bad-signature",
    "bad-headers",
    "unsupported-media-type",
    "bad-payload",
    "unavailable",
]
RESULTS: frozenset[str] = frozenset(get_args(Result))
#: ``event`` label values: the events previewbot handles, and ``other`` for the rest and unsigned requests.
EVENTS: frozenset[str] = HANDLED_EVENTS | {"other"}


class Metrics:
    """Thread-safe counters of webhook outcomes (per gunicorn worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._webhooks: Counter[tuple[str, str]] = Counter()

    def webhook(self, event: str, result: str) -> None:
        """Count one answer; values outside the fixed sets are counted as ``other``."""
        key = (event if event in EVENTS else "other", result if result in RESULTS else "other")
        with self._lock:
            self._webhooks[key] += 1

    def render(self) -> str:
        lines = [
            "# HELP previewbot_webhooks_total Webhook deliveries by event and result.",
            "# TYPE previewbot_webhooks_total counter",
        ]
        with self._lock:
            for (event, result), count in sorted(self._webhooks.items()):
                lines.append(f'previewbot_webhooks_total{{event="{event}",result="{result}"}} {count}')
        return "\n".join(lines) + "\n"
