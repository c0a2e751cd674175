"""Thin Celery tasks: plain arguments in, one PR at a time, every ending reported.

Retries are counted by previewbot itself (per task id, in Redis, so redeliveries after a
worker's death count too); Celery's own cap is off. A task that finds its PR busy comes back
shortly, without limit. A queued sync or teardown that a newer one for the same PR has
superseded does nothing. Temporary failures (Kubernetes or GitHub 5xx, Redis errors) are
retried with backoff up to ``max_retries``; then, like a task stopped by its time limits, the
commit gets a ``failure`` status naming the cause (deferred through the outbox if GitHub is
down, never dropped).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, fields

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from redis.exceptions import LockError, RedisError

from preview.commands import CommandRunner
from preview.intents import Intent, Op
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from workers.enqueue import latest_key, seen_key
from workers.observability import instrument_tasks, task_time_limited
from workers.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_BUSY_DELAY = 0.5
ATTEMPTS_TTL = 24 * 3600


@dataclass(frozen=True)
class Job:
    """The plain values every task receives (:meth:`preview.models.Command.as_message`)."""

    repo: str
    number: int
    installation_id: int | None = None
    sha: str | None = None
    delivery_id: str = ""
    comment_id: int = 0
    author: str = ""
    text: str = ""

    @classmethod
    def of(cls, message: dict[str, object]) -> Job:
        """Known fields only: a message from an older or newer version still runs."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in message.items() if k in names})  # type: ignore[arg-type]

    @property
    def ref(self) -> PullRef:
        return PullRef(self.repo, self.number, self.installation_id)


def backoff(failures: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with jitter: about ``base``, then 2·, 4·, 8·``base`` … seconds, at most ``cap``."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2.0**failures)


class Attempts:
    """How many times a task id started its work (retries and redeliveries alike), kept in Redis."""

    def __init__(self, runtime: Runtime, task_id: str) -> None:
        self._redis = runtime.redis
        self._key = f"previewbot:attempts:{task_id}"

    def start(self) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._key)
        pipe.expire(self._key, ATTEMPTS_TTL)
        return int(pipe.execute()[0])

    def finish(self) -> None:
        self._redis.delete(self._key)


def give_up(runtime: Runtime, job: Job, why: str) -> str:
    """End the job's commit in a ``failure`` status naming ``why`` (deferred if GitHub cannot take it)."""
    extra = {"repo": job.repo, "pr": job.number, "sha": job.sha}
    log.error("giving up: %s", why, extra=extra)
    if job.sha:
        try:
            runtime.reporter.report(job.ref, job.sha, StatusReport(State.FAILURE, why))
        except RedisError as exc:
            log.error("could not record the give-up status (%s)", type(exc).__name__, extra=extra)
    return "gave-up"


def _run(
    task: Task, runtime: Runtime, job: Job, action: Callable[[Lifecycle], Outcome | str], *, coalesce: bool = False
) -> str:
    """Run ``action`` under the PR's lock; retry transient failures with backoff; report giving up."""
    ref, settings = job.ref, runtime.settings
    extra = {"delivery": job.delivery_id, "repo": ref.repo, "pr": ref.number, "sha": job.sha, "task": task.name}
    attempt = 0  # runs that started under the lock, counted in Redis (lock-busy retries do not count)
    lock = runtime.redis.lock(
        f"previewbot:lock:{ref.repo}#{ref.number}", timeout=settings.lock_ttl_seconds, blocking=False
    )
    held = False
    try:
        if coalesce and _superseded(runtime, ref, task.request.id):
            log.info("superseded by a newer task for this PR", extra=extra)
            return "superseded"
        if not lock.acquire():
            log.info("another worker holds this PR; retrying shortly", extra=extra)
            raise task.retry(countdown=LOCK_BUSY_DELAY + random.random() / 2)
        held = True
        attempts = Attempts(runtime, task.request.id)
        attempt = attempts.start()
        if attempt > settings.max_retries + 1:  # earlier runs ended without an answer: their worker died
            return give_up(runtime, job, f"Gave up after {attempt - 1} attempts: the worker stopped during the task")
        outcome = action(runtime.lifecycle)
        attempts.finish()
        log.info("done: %s", outcome, extra=extra)
        runtime.reporter.drain(limit=20)
        return str(outcome)
    except (TemporaryError, RedisError) as exc:
        cause = exc if isinstance(exc, TemporaryError) else TemporaryError(f"Redis: {type(exc).__name__}")
        if attempt > settings.max_retries:
            return give_up(runtime, job, f"Gave up after {attempt} attempts: {cause}")
        delay = cause.delay if cause.delay is not None else backoff(max(attempt - 1, 0), *_backoff_range(runtime))
        log.warning("temporary failure (attempt %d), retry in %.1fs: %s", attempt, delay, cause, extra=extra)
        raise task.retry(countdown=delay) from None
    except SoftTimeLimitExceeded:
        return give_up(runtime, job, f"Gave up: the task ran longer than {settings.task_time_limit_seconds} s")
    except PermanentError as exc:
        log.error("permanent failure: %s", exc, extra=extra)
        return "failed"
    finally:
        if held:
            try:
                lock.release()
            except (LockError, RedisError):
                log.warning("lock expired before the task finished", extra=extra)


def _backoff_range(runtime: Runtime) -> tuple[float, float]:
    return runtime.settings.retry_backoff_seconds, runtime.settings.retry_backoff_max_seconds


def _seen(runtime: Runtime, ref: PullRef, comment_id: int) -> str | None:
    value = runtime.redis.get(seen_key(ref.repo, ref.number, comment_id))
    return value.decode() if isinstance(value, bytes) else value


def _superseded(runtime: Runtime, ref: PullRef, task_id: str | None) -> bool:
    latest = runtime.redis.get(latest_key(ref.repo, ref.number))
    if latest is None or task_id is None:
        return False
    return (latest.decode() if isinstance(latest, bytes) else latest) != task_id


def register(app: Celery, runtime: Runtime) -> None:
    """Define previewbot's tasks on ``app``; each takes the keyword arguments of :class:`Job`."""
    instrument_tasks()  # previewbot_task_duration_seconds and previewbot_queue_wait_seconds

    class PreviewTask(Task):
        """Reports a commit whose task was killed by the hard time limit."""

        def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001 - Celery's signature
            if isinstance(exc, TimeLimitExceeded):
                task_time_limited(self.name, runtime.settings.task_hard_time_limit_seconds)
            if isinstance(exc, TimeLimitExceeded) and kwargs.get("sha"):
                job = Job.of(kwargs)
                why = f"Gave up: the task was stopped after {runtime.settings.task_hard_time_limit_seconds} s"
                report = StatusReport(State.FAILURE, why)
                try:  # from the worker's main process: record only, the watcher or the next task shows it
                    runtime.reporter.submit(Intent.of(Op.DECIDE, job.ref, job.sha, report, 0.0), attempt=False)
                except RedisError as error:
                    log.error("could not record the give-up status (%s)", type(error).__name__)

    def task(name: str) -> Callable:
        return app.task(
            bind=True, name=f"previewbot.{name}", acks_late=True, shared=False, max_retries=None, base=PreviewTask
        )

    @task("sync_preview")
    def sync_preview(self: Task, **message: object) -> str:
        """Deploy or update the PR's preview at its current head (tears down if it gets none)."""
        job = Job.of(message)
        return _run(self, runtime, job, lambda lc: lc.sync(job.ref, job.sha), coalesce=True)

    @task("teardown_preview")
    def teardown_preview(self: Task, **message: object) -> str:
        """Delete the PR's preview (re-deploys instead if the PR was reopened meanwhile)."""
        job = Job.of(message)
        return _run(self, runtime, job, lambda lc: lc.teardown(job.ref, job.sha), coalesce=True)

    @task("run_command")
    def run_command(self: Task, **message: object) -> str:
        """Run a ``/preview`` command from a PR comment."""
        job = Job.of(message)
        runner = CommandRunner(runtime.lifecycle, runtime.reporter, seen_head=lambda ref, cid: _seen(runtime, ref, cid))
        return _run(self, runtime, job, lambda _lc: runner.run(job.ref, job.comment_id, job.author, job.text))

    @task("checks_finished")
    def checks_finished(self: Task, **message: object) -> str:
        """A check or status finished on ``sha``: re-sync the PR whose deploy waits for it, if any."""
        job = Job.of(message)
        try:
            waiting = runtime.lifecycle.waiting_pull(job.repo, job.sha) if job.sha else None
        except RedisError as exc:
            raise self.retry(countdown=backoff(self.request.retries, *_backoff_range(runtime))) from exc
        if waiting is None:
            return "not-waiting"
        job = Job.of({**message, "number": waiting})
        return _run(self, runtime, job, lambda lc: lc.sync(job.ref, job.sha))

    @task("switch_traffic")
    def switch_traffic(self: Task, **message: object) -> str:
        """Blue-green: point the PR's Services at the ready commit ``sha`` and remove the old one."""
        job = Job.of(message)
        return _run(self, runtime, job, lambda lc: lc.switch(job.ref, job.sha or ""))

    @task("settle_sleep")
    def settle_sleep(self: Task, **message: object) -> str:
        """Put the PR's idle preview to sleep, or finish a sleep or wake left half done (the idle sweep)."""
        job = Job.of(message)
        settle = runtime.sleeper.settle
        return _run(self, runtime, job, lambda _lc: "slept" if settle(job.ref, runtime.settings.keep_label) else "done")

    @task("wake_preview")
    def wake_preview(self: Task, **message: object) -> str:
        """Scale the PR's sleeping preview back up (the dashboard's Wake button, a wake link)."""
        job = Job.of(message)
        return _run(self, runtime, job, lambda _lc: runtime.sleeper.wake(job.ref))

    @task("purge_repositories")
    def purge_repositories(self: Task, **message: object) -> str:
        """The App lost access to these (comma-separated) repositories: delete their previews."""
        job = Job.of(message)
        try:
            count = sum(runtime.lifecycle.purge(name) for name in job.repo.split(",") if name)
        except (TemporaryError, RedisError) as exc:
            if self.request.retries >= runtime.settings.max_retries:
                log.error("gave up purging %s: %s", job.repo, exc, extra={"delivery": job.delivery_id})
                return "gave-up"
            delay = getattr(exc, "delay", None) or backoff(self.request.retries, *_backoff_range(runtime))
            raise self.retry(countdown=delay) from None
        log.info("purged %d previews", count, extra={"delivery": job.delivery_id, "repo": job.repo})
        return f"purged {count}"
