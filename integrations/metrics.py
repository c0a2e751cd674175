"""previewbot's Prometheus metrics: every name, type and label set, in one place.

Label values come from fixed sets only (anything else is counted as ``other``), so no caller and no
answer from GitHub or Kubernetes can add a series. The README's "Metrics" section lists which process
exposes what.

Processes that run several Python processes (gunicorn with more than one worker, the Celery worker's
pool) keep their values in files under ``PROMETHEUS_MULTIPROC_DIR`` and sum them when scraped. The
directory is read when this module is imported, so a process that wants it sets it first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # no ``*_created`` series: they double every series and no alert uses them


def multiprocess_dir() -> str | None:
    """The directory where this process keeps its values for summing, or None (values stay in memory)."""
    return os.environ.get(MULTIPROC_ENV) or None


if (_dir := multiprocess_dir()) is not None:
    os.makedirs(_dir, exist_ok=True)  # the files of the metrics below are opened right away

# -- label values -----------------------------------------------------------------------------------------

OTHER = "other"
TASKS = frozenset(
    {
        "sync_preview",
        "teardown_preview",
        "run_command",
        "checks_finished",
        "purge_repositories",
        "switch_traffic",
        "wake_preview",
        "settle_sleep",
    }
)
#: what a task run ended in: returned (``done``, or the named no-op), retried, or failed
OUTCOMES = frozenset({"done", "superseded", "not-waiting", "retry", "gave-up", "failed", "error", "time-limit"})
HTTP_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"})
KUBE_VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete"})
WATCHED_KINDS = frozenset({"namespaces", "deployments", "pods"})
PREVIEW_STATES = ("pending", "success", "failure", "error")
GC_REASONS = frozenset({"closed", "merged", "pull-missing", "repo-inaccessible"})


def _one_of(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


def _status_code(code: object) -> str:
    """An HTTP status as its three digits; ``unreachable`` when there was no answer."""
    if code in (None, 0, "unreachable"):
        return "unreachable"
    try:
        number = int(code)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return OTHER
    return str(number) if 100 <= number <= 599 else OTHER


# -- the metrics of the worker and the watcher ---------------------------------------------------------

WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
TASK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 240, 300)
ROLLOUT_BUCKETS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600)

QUEUE_WAIT = Histogram(
    "previewbot_queue_wait_seconds",
    "Time from the intake enqueueing a task to a worker starting it (first delivery).",
    buckets=WAIT_BUCKETS,
    registry=None,
)
TASK_DURATION = Histogram(
    "previewbot_task_duration_seconds",
    "Duration of task runs by task and outcome.",
    ("task", "outcome"),
    buckets=TASK_BUCKETS,
    registry=None,
)
WEBHOOK_TO_READY = Histogram(
    "previewbot_webhook_to_ready_seconds",
    "Time from the intake accepting a pull request's head to its success status being written.",
    buckets=ROLLOUT_BUCKETS,
    registry=None,
)
WEBHOOK_TO_FAILURE = Histogram(
    "previewbot_webhook_to_failure_seconds",
    "Time from the intake accepting a pull request's head to its failure status being written.",
    buckets=ROLLOUT_BUCKETS,
    registry=None,
)
PREVIEWS = Gauge(
    "previewbot_previews",
    "Previews the watcher follows, by the state of their commit status.",
    ("state",),
    multiprocess_mode="mostrecent",
    registry=None,
)
GITHUB_REQUESTS = Counter(
    "previewbot_github_requests",
    "HTTP answers from the GitHub API by method and status (unreachable: no answer).",
    ("method", "status"),
    registry=None,
)
GITHUB_RATE_LIMIT_REMAINING = Gauge(
    "previewbot_github_rate_limit_remaining",
    "x-ratelimit-remaining of the latest GitHub answer that carried it (NaN before the first).",
    multiprocess_mode="mostrecent",
    registry=None,
)
GITHUB_RATE_LIMIT_REMAINING.set(math.nan)
KUBE_REQUEST_ERRORS = Counter(
    "previewbot_kube_request_errors",
    "Kubernetes API requests that failed, by verb and HTTP status (unreachable: no answer).",
    ("verb", "code"),
    registry=None,
)
WATCH_RESTARTS = Counter(
    "previewbot_watch_restarts",
    "Watch streams restarted after an error or an expired resourceVersion, by kind.",
    ("kind",),
    registry=None,
)
WATCHER_LEADER = Gauge(
    "previewbot_watcher_leader",
    "1 while this watcher leads (watches and writes to GitHub), else 0.",
    multiprocess_mode="mostrecent",
    registry=None,
)
LEADER_CHANGES = Counter("previewbot_leader_changes", "Times this watcher started or stopped leading.", registry=None)
GC_DELETIONS = Counter(
    "previewbot_gc_deletions",
    "Previews the garbage collector queued for removal, by reason.",
    ("reason",),
    registry=None,
)
NAMESPACES_STUCK = Gauge(
    "previewbot_namespaces_stuck_terminating",
    "Preview namespaces Terminating longer than PREVIEWBOT_GC_TERMINATING_SECONDS, at the last GC run.",
    multiprocess_mode="mostrecent",
    registry=None,
)

# Gauges computed at scrape time from Redis (see the collectors in integrations/metrics_registry.py).
QUEUE_DEPTH = "previewbot_queue_depth"
BUDGET_PAUSED = "previewbot_github_budget_paused"
PENDING_OLDEST = "previewbot_pending_oldest_seconds"

_METRICS = (
    QUEUE_WAIT,
    TASK_DURATION,
    WEBHOOK_TO_READY,
    WEBHOOK_TO_FAILURE,
    PREVIEWS,
    GITHUB_REQUESTS,
    GITHUB_RATE_LIMIT_REMAINING,
    KUBE_REQUEST_ERRORS,
    WATCH_RESTARTS,
    WATCHER_LEADER,
    LEADER_CHANGES,
    GC_DELETIONS,
    NAMESPACES_STUCK,
)
_SHARED = {
    "previewbot_webhook_to_ready_seconds",
    "previewbot_webhook_to_failure_seconds",
    "previewbot_github_requests",
    "previewbot_github_rate_limit_remaining",
    "previewbot_kube_request_errors",
}
#: metric families (names without ``_total``) each process exposes
ROLES: dict[str, frozenset[str]] = {
    "web": frozenset({"previewbot_webhooks", QUEUE_DEPTH}),
    "worker": frozenset(
        {*_SHARED, "previewbot_queue_wait_seconds", "previewbot_task_duration_seconds", BUDGET_PAUSED, PENDING_OLDEST}
    ),
    "watcher": frozenset(
        {
            *_SHARED,
            "previewbot_previews",
            "previewbot_watch_restarts",
            "previewbot_watcher_leader",
            "previewbot_leader_changes",
            "previewbot_gc_deletions",
            "previewbot_namespaces_stuck_terminating",
            BUDGET_PAUSED,
            PENDING_OLDEST,
        }
    ),
}

# -- recording (called by the instrumented code) ------------------------------------------------------------


def github_answer(method: str, status: object) -> None:
    """One HTTP answer from GitHub (``status`` None: the request got none)."""
    GITHUB_REQUESTS.labels(_one_of(str(method).upper(), HTTP_METHODS), _status_code(status)).inc()


def github_remaining(remaining: object) -> None:
    """The ``x-ratelimit-remaining`` GitHub sent; anything that is not a number is ignored."""
    try:
        value = float(remaining)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    if value >= 0 and math.isfinite(value):
        GITHUB_RATE_LIMIT_REMAINING.set(value)


def kube_error(verb: str, code: object) -> None:
    """A Kubernetes API request that failed with HTTP ``code`` (None or 0: no answer)."""
    KUBE_REQUEST_ERRORS.labels(_one_of(verb, KUBE_VERBS), _status_code(code)).inc()


def watch_restart(kind: str) -> None:
    """A watch stream of ``kind`` starts over after an error or a 410."""
    WATCH_RESTARTS.labels(_one_of(kind, WATCHED_KINDS)).inc()


_leading = False


def watcher_leadership(leading: bool) -> None:
    """This watcher started (True) or stopped (False) leading; counts the change when it is one."""
    global _leading
    WATCHER_LEADER.set(1 if leading else 0)
    if _leading != leading:
        _leading = leading
        LEADER_CHANGES.inc()


def set_previews(counts: Mapping[str, int]) -> None:
    """How many previews are in each state now (``pending``, ``success``, ``failure``, ``error``); absent: 0."""
    known = {state: 0 for state in PREVIEW_STATES}
    for state, count in counts.items():
        if state in known:
            known[state] += int(count)
    for state, count in known.items():
        PREVIEWS.labels(state).set(count)


def gc_deletion(reason: str) -> None:
    """The garbage collector queued the removal of one preview for ``reason``."""
    GC_DELETIONS.labels(_one_of(str(reason), GC_REASONS)).inc()


def namespaces_stuck(count: int) -> None:
    """How many preview namespaces the last GC run found stuck in Terminating."""
    NAMESPACES_STUCK.set(max(0, int(count)))


def task_finished(task: str, outcome: str, seconds: float) -> None:
    """One run of previewbot task ``task`` (its short name) took ``seconds`` and ended in ``outcome``."""
    TASK_DURATION.labels(_one_of(task, TASKS), _one_of(outcome, OUTCOMES)).observe(max(0.0, seconds))


def queue_waited(seconds: float) -> None:
    QUEUE_WAIT.observe(max(0.0, seconds))


def rollout_finished(success: bool, seconds: float) -> None:
    """A commit's final status was written ``seconds`` after the intake accepted its head."""
    (WEBHOOK_TO_READY if success else WEBHOOK_TO_FAILURE).observe(max(0.0, seconds))


# -- the web process -----------------------------------------------------------------------------------------


def webhooks_counter() -> Counter:
    """``previewbot_webhooks_total{event, result}``; one per web app (the app counts its own answers)."""
    return Counter("previewbot_webhooks", "Webhook deliveries by event and result.", ("event", "result"), registry=None)
