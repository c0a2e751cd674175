"""The registries each process exposes, and the gauges computed from Redis at each scrape.

The metrics themselves and the functions that record them are in :mod:`integrations.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from integrations.metrics import _METRICS, BUDGET_PAUSED, PENDING_OLDEST, QUEUE_DEPTH, ROLES, multiprocess_dir

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# -- collectors computed at scrape time -----------------------------------------------------------------------


class QueueDepth(Collector):
    """``previewbot_queue_depth``: ``depth()`` (one LLEN) at each scrape; no sample when it returns None."""

    HELP = "Task messages waiting in the Celery queue in Redis."

    def __init__(self, depth: Callable[[], int | None]) -> None:
        self._depth = depth

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(QUEUE_DEPTH, self.HELP)

    def collect(self) -> Iterator[Metric]:
        value = self._depth()
        if value is not None:
            yield GaugeMetricFamily(QUEUE_DEPTH, self.HELP, value=value)


class RedisState(Collector):
    """``previewbot_pending_oldest_seconds`` and ``previewbot_github_budget_paused{installation}``.

    ``read()`` returns the age of the oldest pending commit (0 when none) and, per installation whose
    writes GitHub paused recently, whether the pause still holds; None when Redis did not answer (no
    sample then).
    """

    def __init__(self, read: Callable[[], tuple[float, Mapping[str, bool]] | None]) -> None:
        self._read = read

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                PENDING_OLDEST, "Seconds the oldest commit has been pending (since it went pending or a sweep looked)."
            ),
            GaugeMetricFamily(
                BUDGET_PAUSED,
                "1 while GitHub has paused an installation's writes, 0 in the hour after.",
                labels=["installation"],
            ),
        )

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        found = self._read()
        if found is None:
            return
        oldest, paused = found
        pending, budget = self._families()
        pending.add_metric([], max(0.0, oldest))
        for installation, held in sorted(paused.items()):
            budget.add_metric([installation], 1 if held else 0)
        yield pending
        yield budget


class _Only(Collector):
    """The families of ``collector`` named in ``names``."""

    def __init__(self, collector: Collector, names: frozenset[str]) -> None:
        self._collector = collector
        self._names = names

    def collect(self) -> Iterator[Metric]:
        return (family for family in self._collector.collect() if family.name in self._names)


def registry(role: str, *collectors: Collector, summed: bool = False) -> CollectorRegistry:
    """The metrics ``role`` (``worker`` or ``watcher``) exposes, plus ``collectors``.

    ``summed``: the values of every process writing to :func:`multiprocess_dir` (the Celery pool),
    else this process's own.
    """
    names = ROLES[role]
    found = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if summed and path is not None:
        found.register(_Only(MultiProcessCollector(None, path), names))
    else:
        for metric in _METRICS:
            if metric.describe()[0].name in names:
                found.register(metric)
    for collector in collectors:
        found.register(collector)
    return found


def web_registry(webhooks: Counter, *collectors: Collector) -> CollectorRegistry:
    """The web process's metrics: ``webhooks``, summed over gunicorn's workers when the directory is set."""
    found = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        found.register(_Only(MultiProcessCollector(None, path), ROLES["web"]))
    else:
        found.register(webhooks)
    for collector in collectors:
        found.register(collector)
    return found


def render(registry_: CollectorRegistry) -> bytes:
    """The Prometheus text format (``CONTENT_TYPE``) of ``registry_``."""
    return generate_latest(registry_)
