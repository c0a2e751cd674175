"""The web process's metrics on ``/metrics``: webhook answers and the depth of the task queue.

Label values come from fixed sets only: a caller can add to a count but never create a series. With
``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, see ``gunicorn.conf.py``) the counts of
every worker process are summed; without it each process shows its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from integrations import metrics, metrics_registry
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
CONTENT_TYPE = metrics_registry.CONTENT_TYPE


class Metrics:
    """Webhook outcomes of one app, and ``previewbot_queue_depth`` from ``queue_depth()`` at each scrape."""

    def __init__(self, queue_depth: Callable[[], int | None] | None = None) -> None:
        self._webhooks = metrics.webhooks_counter()
        extra = [metrics_registry.QueueDepth(queue_depth)] if queue_depth is not None else []
        self._registry = metrics_registry.web_registry(self._webhooks, *extra)

    def webhook(self, event: str, result: str) -> None:
        """Count one answer; values outside the fixed sets are counted as ``other``."""
        self._webhooks.labels(event if event in EVENTS else "other", result if result in RESULTS else "other").inc()

    def render(self) -> str:
        """The Prometheus text format (:data:`CONTENT_TYPE`)."""
        return metrics_registry.render(self._registry).decode()
