"""In-process counters exposed in Prometheus text format."""

from __future__ import annotations

import threading
from collections import Counter


class Metrics:
    """Thread-safe counters of webhook outcomes (per gunicorn worker process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._webhooks: Counter[tuple[str, str]] = Counter()

    def webhook(self, event: str, result: str) -> None:
        with self._lock:
            self._webhooks[(event or "-", result)] += 1

    def render(self) -> str:
        lines = [
            "# HELP previewbot_webhooks_total Webhook deliveries by event and result.",
            "# TYPE previewbot_webhooks_total counter",
        ]
        with self._lock:
            for (event, result), count in sorted(self._webhooks.items()):
                lines.append(f'previewbot_webhooks_total{{event="{event}",result="{result}"}} {count}')
        return "\n".join(lines) + "\n"
