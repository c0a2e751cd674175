"""Thin Celery tasks: plain arguments in, one PR at a time, typed errors decide retries."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery, Task
from redis.exceptions import LockError

from preview.commands import CommandRunner
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from workers.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_BUSY_DELAY = 1.0


@dataclass(frozen=True)
class Job:
    """The plain values every task receives (:meth:`preview.models.Command.as_message` plus ``failures``)."""

    repo: str
    number: int
    installation_id: int | None = None
    sha: str | None = None
    delivery_id: str = ""
    failures: int = 0
    comment_id: int = 0
    author: str = ""
    text: str = ""

    @property
    def ref(self) -> PullRef:
        return PullRef(self.repo, self.number, self.installation_id)


def backoff(failures: int, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds, at most ``cap``."""
    return random.uniform(0.5, 1.0) * min(cap, 2.0 ** (failures + 1))


def _run(task: Task, runtime: Runtime, job: Job, action: Callable[[Lifecycle], Outcome | str]) -> str:
    """Run ``action`` under the PR's lock; retry transient failures with backoff, report giving up."""
    ref, sha = job.ref, job.sha
    extra = {"delivery": job.delivery_id, "repo": ref.repo, "pr": ref.number, "sha": sha, "task": task.name}
    lock = runtime.redis.lock(
        f"previewbot:lock:{ref.repo}#{ref.number}", timeout=runtime.settings.lock_ttl_seconds, blocking=False
    )
    if not lock.acquire():
        log.info("another worker holds this PR; retrying shortly", extra=extra)
        raise task.retry(countdown=LOCK_BUSY_DELAY + random.random(), max_retries=None)
    try:
        outcome = action(runtime.lifecycle)
        log.info("done: %s", outcome, extra=extra)
        return str(outcome)
    except TemporaryError as exc:
        if job.failures >= runtime.settings.max_retries:
            log.error("giving up after %d attempts: %s", job.failures + 1, exc, extra=extra)
            if sha:
                report = StatusReport(State.FAILURE, f"Gave up after {job.failures + 1} attempts: {exc}")
                runtime.reporter.report(ref, sha, report)
            return "gave-up"
        delay = exc.delay if exc.delay is not None else backoff(job.failures)
        log.warning("temporary failure, retry in %.1fs: %s", delay, exc, extra=extra)
        kwargs = {**task.request.kwargs, "failures": job.failures + 1}
        raise task.retry(countdown=delay, kwargs=kwargs, max_retries=None) from None
    except PermanentError as exc:
        log.error("permanent failure: %s", exc, extra=extra)
        return "failed"
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("lock expired before the task finished", extra=extra)


def register(app: Celery, runtime: Runtime) -> None:
    """Define previewbot's tasks on ``app``; each takes the keyword arguments of :class:`Job`."""

    def task(name: str) -> Callable:
        return app.task(bind=True, name=f"previewbot.{name}", acks_late=True, shared=False)

    @task("sync_preview")
    def sync_preview(self: Task, **message: object) -> str:
        """Deploy or update the PR's preview at its current head (tears down if it gets none)."""
        job = Job(**message)  # type: ignore[arg-type]
        return _run(self, runtime, job, lambda lc: lc.sync(job.ref, job.sha))

    @task("teardown_preview")
    def teardown_preview(self: Task, **message: object) -> str:
        """Delete the PR's preview (re-deploys instead if the PR was reopened meanwhile)."""
        job = Job(**message)  # type: ignore[arg-type]
        return _run(self, runtime, job, lambda lc: lc.teardown(job.ref, job.sha))

    @task("run_command")
    def run_command(self: Task, **message: object) -> str:
        """Run a ``/preview`` command from a PR comment."""
        job = Job(**message)  # type: ignore[arg-type]
        runner = CommandRunner(runtime.lifecycle, runtime.reporter)
        return _run(self, runtime, job, lambda _lc: runner.run(job.ref, job.comment_id, job.author, job.text))

    @task("checks_finished")
    def checks_finished(self: Task, **message: object) -> str:
        """A check or status finished on ``sha``: re-sync the PR whose deploy waits for it, if any."""
        job = Job(**message)  # type: ignore[arg-type]
        waiting = runtime.lifecycle.waiting_pull(job.repo, job.sha) if job.sha else None
        if waiting is None:
            return "not-waiting"
        job = Job(**{**message, "number": waiting})  # type: ignore[arg-type]
        return _run(self, runtime, job, lambda lc: lc.sync(job.ref, job.sha))

    @task("purge_repositories")
    def purge_repositories(self: Task, **message: object) -> str:
        """The App lost access to these (comma-separated) repositories: delete their previews."""
        job = Job(**message)  # type: ignore[arg-type]
        try:
            count = sum(runtime.lifecycle.purge(name) for name in job.repo.split(",") if name)
        except TemporaryError as exc:
            delay = exc.delay or backoff(job.failures)
            raise self.retry(countdown=delay, max_retries=runtime.settings.max_retries) from None
        log.info("purged %d previews", count, extra={"delivery": job.delivery_id, "repo": job.repo})
        return f"purged {count}"
