"""The garbage collector's worker side: namespaces from the cluster, answers from GitHub, removals queued.

A removal is a task on the worker queue, so the per-PR lock, retries and the outbox of GitHub writes
apply as for a webhook: a closed, merged or missing pull request gets ``teardown_preview`` (which reads
the pull request again, marks its GitHub Deployment inactive and updates its comment), a repository
previewbot can no longer read gets ``purge_repositories`` (no GitHub writes). Delivery ids are
deterministic per interval (``gc:<repo>#<n>:<window>``, ``gc:<repo>:<window>``), so runs of several
processes within one interval queue each removal once. The watcher, previewbot's single active
scheduler, starts a run every ``PREVIEWBOT_GC_INTERVAL_SECONDS`` in a thread of its own, so its loop
never waits for GitHub.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from preview.garbage_collector import SELECTOR, Collector, Doomed, Reason, Result
from preview.models import Command, CommandKind
from preview.ports import TemporaryError
from workers.enqueue import Enqueuer, QueueUnavailable
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def delivery_id(doomed: Doomed, window: int) -> str:
    """The removal's delivery id: one per preview (one per repository for a lost one) and interval."""
    ref = doomed.ref
    if doomed.reason is Reason.REPO_INACCESSIBLE:
        return f"gc:{ref.repo}:{window}"
    return f"gc:{ref.repo}#{ref.number}:{window}"


def command_for(doomed: Doomed, window: int) -> Command:
    """The task that removes ``doomed``: a teardown, or a purge of a repository previewbot lost."""
    ref, delivery = doomed.ref, delivery_id(doomed, window)
    if doomed.reason is Reason.REPO_INACCESSIBLE:
        return Command(CommandKind.PURGE, ref.repo, 0, ref.installation_id, None, delivery, "gc", str(doomed.reason))
    return Command(
        CommandKind.TEARDOWN, ref.repo, ref.number, ref.installation_id, None, delivery, "gc", str(doomed.reason)
    )


def enqueue_removal(
    enqueuer: Enqueuer, interval_seconds: int, clock: Callable[[], float] = time.time
) -> Callable[[Doomed], str]:
    """A remover that queues the task for ``doomed``, at most once per interval."""

    def remove(doomed: Doomed) -> str:
        window = int(clock() // max(interval_seconds, 1))
        try:
            fresh = enqueuer.submit(command_for(doomed, window))
        except QueueUnavailable as exc:
            raise TemporaryError(f"cannot queue the removal: Redis {exc}") from None
        if fresh:
            from integrations.metrics import gc_deletion

            gc_deletion(str(doomed.reason))
        return "queued" if fresh else "already queued"

    return remove


def build(runtime: Runtime, enqueuer: Enqueuer | None, *, dry_run: bool | None = None) -> Collector:
    """A collector over ``runtime``'s cluster with a GitHub client of its own (it runs in its own thread).

    Without an ``enqueuer`` only a dry run is possible.
    """
    from integrations.github_client import GitHubClient

    settings = runtime.settings
    dry = settings.gc_dry_run if dry_run is None else dry_run
    if enqueuer is None and not dry:
        raise ValueError("a garbage collection that removes previews needs the task queue")

    def namespaces() -> list[dict]:
        return runtime.cluster.list_objects("namespaces", SELECTOR)[0]

    return Collector(
        namespaces=namespaces,
        github=GitHubClient.from_settings(settings),
        remove=enqueue_removal(enqueuer, settings.gc_interval_seconds) if enqueuer is not None else _never,
        dry_run=dry,
        terminating_seconds=settings.gc_terminating_seconds,
    )


def _never(doomed: Doomed) -> str:
    raise AssertionError(f"a dry run removed {doomed.namespace}")


class InBackground:
    """Starts ``job`` in a daemon thread when called, unless its previous run is still going.

    The watcher calls it from its loop, which therefore never waits for GitHub; :attr:`last` holds the
    latest run's result (for a metric or a dashboard), :attr:`runs` counts finished runs.
    """

    def __init__(self, job: Callable[[], Result], name: str = "gc") -> None:
        self.job = job
        self.name = name
        self.last: Result | None = None
        self.runs = 0
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def __call__(self) -> bool:
        """Start a run; False when the previous one has not finished."""
        with self._guard:
            if self._thread is not None and self._thread.is_alive():
                log.warning("%s: the previous run is still going; skipping this one", self.name)
                return False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            result = self.job()
        except Exception:  # noqa: BLE001 - a failed run is logged; the next interval tries again
            log.exception("%s failed", self.name)
            return
        self.runs += 1
        self.last = result
        from integrations.metrics import namespaces_stuck

        namespaces_stuck(len(result.stuck))
        log.info(
            "%s: checked %d, kept %d, %s %d, %d stuck terminating, %d errors",
            self.name,
            result.checked,
            result.kept,
            "would remove" if result.dry_run else "removing",
            len(result.removed),
            len(result.stuck),
            len(result.errors),
        )

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
