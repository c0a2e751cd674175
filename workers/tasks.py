"""Thin Celery tasks: plain arguments in, one PR at a time, typed errors decide retries."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from celery import Celery, Task
from redis.exceptions import LockError

from preview.commands import CommandRunner
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from workers.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_BUSY_DELAY = 1.0


def backoff(failures: int, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds, at most ``cap``."""
    return random.uniform(0.5, 1.0) * min(cap, 2.0 ** (failures + 1))


def _run(
    task: Task,
    runtime: Runtime,
    action: Callable[[Lifecycle, PullRef, str | None], Outcome | str],
    ref: PullRef,
    sha: str | None,
    delivery_id: str,
    failures: int,
) -> str:
    extra = {"delivery": delivery_id, "repo": ref.repo, "pr": ref.number, "sha": sha, "task": task.name}
    lock = runtime.redis.lock(
        f"previewbot:lock:{ref.repo}#{ref.number}", timeout=runtime.settings.lock_ttl_seconds, blocking=False
    )
    if not lock.acquire():
        log.info("another worker holds this PR; retrying shortly", extra=extra)
        raise task.retry(countdown=LOCK_BUSY_DELAY + random.random(), max_retries=None)
    try:
        outcome = action(runtime.lifecycle, ref, sha)
        log.info("done: %s", outcome, extra=extra)
        return str(outcome)
    except TemporaryError as exc:
        if failures >= runtime.settings.max_retries:
            log.error("giving up after %d attempts: %s", failures + 1, exc, extra=extra)
            if sha:
                runtime.reporter.report(
                    ref, sha, StatusReport(State.FAILURE, f"Gave up after {failures + 1} attempts: {exc}")
                )
            return "gave-up"
        delay = exc.delay if exc.delay is not None else backoff(failures)
        log.warning("temporary failure, retry in %.1fs: %s", delay, exc, extra=extra)
        kwargs = {**task.request.kwargs, "failures": failures + 1}
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
    """Define previewbot's tasks on ``app``.

    Every task takes the plain values of :meth:`preview.models.Command.as_message` (plus
    ``failures``, the count of transient failures so far).
    """

    def task(name: str) -> Callable:
        return app.task(bind=True, name=f"previewbot.{name}", acks_late=True, shared=False)

    @task("sync_preview")
    def sync_preview(
        self: Task,
        repo: str,
        number: int,
        installation_id: int | None = None,
        sha: str | None = None,
        delivery_id: str = "",
        failures: int = 0,
    ) -> str:
        """Deploy or update the PR's preview at its current head (tears down if closed)."""
        ref = PullRef(repo, number, installation_id)
        return _run(self, runtime, lambda lc, r, s: lc.sync(r, s), ref, sha, delivery_id, failures)

    @task("teardown_preview")
    def teardown_preview(
        self: Task,
        repo: str,
        number: int,
        installation_id: int | None = None,
        sha: str | None = None,
        delivery_id: str = "",
        failures: int = 0,
    ) -> str:
        """Delete the PR's preview (re-deploys instead if the PR was reopened meanwhile)."""
        ref = PullRef(repo, number, installation_id)
        return _run(self, runtime, lambda lc, r, s: lc.teardown(r, s), ref, sha, delivery_id, failures)

    @task("run_command")
    def run_command(
        self: Task,
        repo: str,
        number: int,
        installation_id: int | None = None,
        sha: str | None = None,
        delivery_id: str = "",
        failures: int = 0,
        comment_id: int = 0,
        author: str = "",
        text: str = "",
    ) -> str:
        """Run a ``/preview`` command from a PR comment."""
        ref = PullRef(repo, number, installation_id)

        def action(lc: Lifecycle, r: PullRef, _sha: str | None) -> str:
            return CommandRunner(lc, runtime.reporter).run(r, comment_id, author, text)

        return _run(self, runtime, action, ref, sha, delivery_id, failures)

    @task("checks_finished")
    def checks_finished(
        self: Task,
        repo: str,
        number: int,
        installation_id: int | None = None,
        sha: str | None = None,
        delivery_id: str = "",
        failures: int = 0,
    ) -> str:
        """A check or status finished on ``sha``: re-sync the PR whose deploy waits for it, if any."""
        waiting = runtime.lifecycle.waiting_pull(repo, sha) if sha else None
        if waiting is None:
            return "not-waiting"
        ref = PullRef(repo, waiting, installation_id)
        return _run(self, runtime, lambda lc, r, s: lc.sync(r, s), ref, sha, delivery_id, failures)

    @task("purge_repositories")
    def purge_repositories(
        self: Task,
        repo: str,
        number: int = 0,
        installation_id: int | None = None,
        sha: str | None = None,
        delivery_id: str = "",
        failures: int = 0,
    ) -> str:
        """The App lost access to these (comma-separated) repositories: delete their previews."""
        try:
            count = sum(runtime.lifecycle.purge(name) for name in repo.split(",") if name)
        except TemporaryError as exc:
            raise self.retry(
                countdown=exc.delay or backoff(failures), max_retries=runtime.settings.max_retries
            ) from None
        log.info("purged %d previews", count, extra={"delivery": delivery_id, "repo": repo})
        return f"purged {count}"
