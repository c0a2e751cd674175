"""What the worker and the watcher measure beyond single calls: task runs, waits, rollouts, Redis state.

* Task runs (``previewbot_task_duration_seconds``) and queue waits (``previewbot_queue_wait_seconds``)
  come from Celery's ``task_prerun``/``task_postrun`` signals in the process that runs the task; the
  wait is measured from the ``previewbot_enqueued_at`` header the intake puts on each message.
* Rollouts (``previewbot_webhook_to_ready_seconds`` / ``…_to_failure_seconds``): the intake records when
  it first accepted a sync of a head (in the same Redis round trip as the enqueue, in Redis's clock);
  :class:`FinalStatusTimer`, the reporter's ``on_final`` hook, takes that record when the head's final
  status is written and observes the time elapsed on the same clock. Each head is observed once.
* ``previewbot_pending_oldest_seconds`` and ``previewbot_github_budget_paused`` are read from Redis at
  each scrape (:func:`redis_state`), so every process reports the same shared truth.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping

from redis import Redis
from redis.exceptions import RedisError

from integrations import metrics
from preview.models import PullRef, State
from workers.budget import PAUSED, paused_installations
from workers.enqueue import ENQUEUED_AT, accepted_key
from workers.outbox import PENDING

log = logging.getLogger(__name__)

TASK_PREFIX = "previewbot."
#: task return values that name what the run did without doing anything
_NO_OPS = frozenset({"superseded", "not-waiting", "gave-up", "failed"})


# -- tasks ---------------------------------------------------------------------------------------------------


class _Runs:
    """Start times of the task runs in progress in this process, by task id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}

    def start(self, task_id: str) -> None:
        with self._lock:
            self._started[task_id] = time.monotonic()

    def stop(self, task_id: str) -> float | None:
        with self._lock:
            started = self._started.pop(task_id, None)
        return None if started is None else time.monotonic() - started


_runs = _Runs()


def outcome_of(state: str | None, retval: object) -> str:
    """The ``outcome`` label of a run Celery reports as ``state`` with ``retval``."""
    if state == "RETRY":
        return "retry"
    if state != "SUCCESS":
        return "error"
    return str(retval) if retval in _NO_OPS else "done"


def _prerun(sender: object = None, task_id: str | None = None, task: object = None, **_kw: object) -> None:
    name = getattr(task, "name", "") or ""
    if not name.startswith(TASK_PREFIX) or task_id is None:
        return
    _runs.start(task_id)
    request = getattr(task, "request", None)
    enqueued = getattr(request, ENQUEUED_AT, None)
    if enqueued is not None and not getattr(request, "retries", 0):  # a retry waited for its countdown
        with contextlib.suppress(TypeError, ValueError):  # a header someone else wrote
            metrics.queue_waited(time.time() - float(enqueued))


def _postrun(
    sender: object = None,
    task_id: str | None = None,
    task: object = None,
    retval: object = None,
    state: str | None = None,
    **_kw: object,
) -> None:
    name = getattr(task, "name", "") or ""
    if not name.startswith(TASK_PREFIX) or task_id is None:
        return
    seconds = _runs.stop(task_id)
    if seconds is not None:
        metrics.task_finished(name.removeprefix(TASK_PREFIX), outcome_of(state, retval), seconds)


def instrument_tasks() -> None:
    """Measure every previewbot task run in this process (Celery's signals are process-wide; idempotent)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_prerun, weak=False, dispatch_uid="previewbot.metrics.prerun")
    task_postrun.connect(_postrun, weak=False, dispatch_uid="previewbot.metrics.postrun")


def task_time_limited(name: str, seconds: float) -> None:
    """A run of task ``name`` was killed by the hard time limit after ``seconds`` (its pool process is gone)."""
    metrics.task_finished(name.removeprefix(TASK_PREFIX), "time-limit", seconds)


# -- rollouts ------------------------------------------------------------------------------------------------

# KEYS: the accepted record. Returns {accepted, now} in Redis's clock and deletes the record; nil when absent.
_TAKE = """
local accepted = redis.call('GET', KEYS[1])
if not accepted then return nil end
redis.call('DEL', KEYS[1])
local now = redis.call('TIME')
return {accepted, now[1] .. '.' .. string.format('%06d', tonumber(now[2]))}
"""


class FinalStatusTimer:
    """``Reporter.on_final``: observes how long after its acceptance a head got its final status."""

    def __init__(self, client: Redis) -> None:
        self._take = client.register_script(_TAKE)

    def __call__(self, ref: PullRef, sha: str, state: State) -> None:
        try:
            found = self._take(keys=[accepted_key(ref.repo, ref.number, sha)])
        except RedisError as exc:
            log.debug("could not read the acceptance time of %s@%s: %s", ref, sha[:7], type(exc).__name__)
            return
        if not found or state not in (State.SUCCESS, State.FAILURE):
            return  # never accepted by the intake (a command, a sweep), or superseded/removed (``error``)
        accepted, now = (float(v.decode() if isinstance(v, bytes) else v) for v in found)
        metrics.rollout_finished(state is State.SUCCESS, now - accepted)


# -- Redis state at scrape time ------------------------------------------------------------------------------


def redis_state(
    client: Redis, clock: Callable[[], float] = time.time
) -> Callable[[], tuple[float, Mapping[str, bool]] | None]:
    """The reader of :class:`integrations.metrics_registry.RedisState`: one pipelined round trip per scrape."""

    def read() -> tuple[float, Mapping[str, bool]] | None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.zrange(PENDING, 0, 0, withscores=True)
            pipe.zrange(PAUSED, 0, -1, withscores=True)
            oldest, paused = pipe.execute()
        except RedisError as exc:
            log.warning("metrics: Redis did not answer (%s)", type(exc).__name__)
            return None
        now = clock()
        age = now - oldest[0][1] if oldest else 0.0
        return age, paused_installations(paused, now)

    return read
