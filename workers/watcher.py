"""The watcher process: follows previewbot's namespaces, Deployments and Pods and reports each preview.

Three cluster-wide watch streams (never per-preview polling) keep a slim view of the cluster.
After every batch of events, each touched preview is reconciled into one commit status (plus
its Deployment status and the PR comment). A preview's identity, commit and link come only
from the annotations previewbot wrote on its namespace; a terminating namespace or a Deployment
being deleted says nothing. A container stuck in a fatal waiting state (image pull, crash loop,
bad config) fails the rollout once it has stayed so for ``grace`` seconds. On timers the watcher
also drains the outbox of deferred GitHub writes, sweeps commits left pending too long, and
expires previews past their ``ttl``.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from redis.exceptions import RedisError

from preview import blue_green, naming, sleep
from preview.models import PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from preview.reporting import Reporter, parse_member
from preview.rollout import (
    PodProblem,
    combine,
    deadline_exceeded,
    identity,
    object_sha,
    pod_problems,
    replica_failure,
    report_for,
)
from workers.cluster_view import KINDS, ClusterView
from workers.enqueue import Enqueuer
from workers.requeue import resync_through, sleep_through, switch_through
from workers.streams import ClusterSource, Listed, Stream, _NeverRaised

log = logging.getLogger(__name__)

SELECTOR = f"{naming.MANAGED_BY}={naming.MANAGER}"
DRAIN_SECONDS = 1.0


class Watcher:
    """Reconciles previews into GitHub from the cluster's watch streams."""

    def __init__(
        self,
        source: ClusterSource,
        reporter: Reporter,
        *,
        resync_seconds: int = 300,
        expired: type[Exception] = _NeverRaised,
        sweep: Callable[[], object] | None = None,
        grace_seconds: float = 5.0,
        stale_pending_seconds: float = 900.0,
        resync: Callable[[PullRef, str], object] | None = None,
        watch_seconds: int = 60,
        clock: Callable[[], float] = time.monotonic,
        gc: Callable[[], object] | None = None,
        gc_seconds: float = 600.0,
        switch: Callable[[PullRef, str], object] | None = None,
    ) -> None:
        self.reporter = reporter
        self.switch = switch  # blue-green: queue the switch of a preview's Services to a ready commit
        self.sweep = sweep
        self.gc, self.gc_seconds = gc, gc_seconds  # garbage collection against GitHub (workers.garbage_collector)
        self.resync = resync
        self.resync_seconds = resync_seconds
        self.grace_seconds = grace_seconds
        self.stale_pending_seconds = stale_pending_seconds
        self.clock = clock
        self.stopping = threading.Event()
        self.events: queue.Queue = queue.Queue()
        self.view = ClusterView()
        self.states: dict[str, str] = {}  # namespace -> state of its latest report, for the previews gauge
        self.streams = {
            kind: Stream(
                source, kind, SELECTOR, self.events, self.stopping, expired=expired, watch_seconds=watch_seconds
            )
            for kind in KINDS
        }
        self.listed: set[str] = set()
        self.first_seen: dict[str, dict[tuple[str, str, str], float]] = {}
        self.timers: dict[str, float] = {}
        self.reported = 0

    # -- reconciliation --------------------------------------------------------------------------

    def reconcile(self, namespace: str) -> None:
        """Report the preview in ``namespace`` if the cluster says something new about it."""
        ns = self.view.namespaces.get(namespace)
        if ns is None or (preview := identity(ns)) is None:
            self.first_seen.pop(namespace, None)
            self.states.pop(namespace, None)
            return
        annotations = ns["metadata"].get("annotations") or {}
        if sleep.asleep(annotations):
            return  # scaled to zero for idleness: preview/sleep.py reports it, not its 0 replicas
        deployments = [
            d
            for d in self.view.deployments.get(namespace, {}).values()
            if not d["metadata"].get("deletionTimestamp")
            and object_sha(d, template=True) in (None, preview.sha)
            and blue_green.commit_of(d) in (None, naming.label_value(preview.sha))
        ]
        if not deployments:
            return
        problems = pod_problems(self.view.pods.get(namespace, {}).values(), preview.sha)
        problems += [p for p in map(replica_failure, deployments) if p is not None]
        due = self._due(namespace, problems)
        # past the progress deadline, any current problem explains it, in its grace or not
        reports = [
            report_for(d, due or (problems[0] if problems and deadline_exceeded(d) else None), preview.url)
            for d in deployments
        ]
        if any(r is None for r in reports):
            return  # a controller has not caught up with the newest spec yet, or nothing is ready
        report = combine([r for r in reports if r is not None])
        serving = blue_green.serving(annotations)
        if report is not None and serving not in (None, preview.sha):
            if report.state is State.SUCCESS:  # blue-green: ready only once the Services select it
                if self.switch is not None:
                    self.switch(preview.ref, preview.sha)
                return
            if report.state is State.FAILURE:
                text = blue_green.failed(report.description, preview.sha, str(serving))
                report = StatusReport(State.FAILURE, text, report.target_url)
        if report is not None:
            self.states[namespace] = str(report.state)
        if report is not None and self.reporter.report(preview.ref, preview.sha, report, observed=True):
            self.reported += 1

    def _due(self, namespace: str, problems: list[PodProblem]) -> PodProblem | None:
        """The first problem that has lasted ``grace_seconds``; schedule a look at the others."""
        now = self.clock()
        seen = self.first_seen.setdefault(namespace, {})
        current = {p.key for p in problems}
        for key in set(seen) - current:
            del seen[key]  # recovered (or gone): forget it
        due = None
        for problem in problems:
            since = seen.setdefault(problem.key, now)
            if now - since >= self.grace_seconds:
                due = due or problem
            else:
                at = since + self.grace_seconds
                self.timers[namespace] = min(self.timers.get(namespace, at), at)
        return due

    def _reconcile_all(self, namespaces: set[str]) -> None:
        for namespace in sorted(namespaces):
            if self.stopping.is_set():
                return  # stopped (e.g. leadership lost): start no new write
            try:
                self.reconcile(namespace)
            except RedisError as exc:
                log.warning("could not report %s: Redis %s", namespace, type(exc).__name__)
            except Exception:  # noqa: BLE001 - one bad object never stops the loop
                log.warning("skipped preview in %s: unexpected object", namespace, exc_info=True)

    # -- timers ------------------------------------------------------------------------------------

    def sweep_pending(self) -> int:
        """Resolve commits pending longer than ``stale_pending_seconds`` from the truth; return how many."""
        index = self.reporter.pending
        if index is None:
            return 0
        now = time.time()
        stale = index.older_than(now - self.stale_pending_seconds, 100)
        for member in stale:
            parsed = parse_member(member)
            if parsed is None:
                index.clear(member)
                continue
            ref, sha = parsed
            index.touch(member, now)
            namespace = naming.namespace_name(ref.repo, ref.number)
            ns = self.view.namespaces.get(namespace)
            preview = identity(ns) if ns is not None else None
            if preview is not None and preview.sha == sha:
                self.reconcile(namespace)  # rolled out: the cluster knows its state
            elif self.resync is not None:
                log.info("stale pending status: re-syncing", extra={"repo": ref.repo, "pr": ref.number, "sha": sha})
                self.resync(ref, sha)  # the lifecycle settles it: superseded, removed or deployed
        return len(stale)

    def count_previews(self) -> None:
        """Publish how many previews are in each state (the ``previewbot_previews`` gauge)."""
        from integrations.metrics import set_previews

        set_previews(Counter(self.states.values()))

    def _tick(self, due: dict[str, float]) -> None:
        now = self.clock()
        ready = {ns for ns, at in self.timers.items() if at <= now}
        for namespace in ready:
            del self.timers[namespace]
        self._reconcile_all(ready)
        jobs: list[tuple[str, float, Callable[[], object]]] = [
            ("drain", DRAIN_SECONDS, self.reporter.drain),
            ("pending", min(60.0, max(1.0, self.stale_pending_seconds / 4)), self.sweep_pending),
            ("previews", 15.0, self.count_previews),
        ]
        if self.sweep is not None:
            jobs.append(("expiry", float(self.resync_seconds), self.sweep))
        if self.gc is not None:
            jobs.append(("gc", float(self.gc_seconds), self.gc))
        for name, every, job in jobs:
            if due.get(name, 0.0) > now or self.stopping.is_set():
                continue
            due[name] = now + every
            try:
                job()
            except (TemporaryError, PermanentError, RedisError) as exc:
                log.warning("%s failed: %s", name, exc)
            except Exception:  # noqa: BLE001
                log.exception("%s failed", name)

    # -- loop --------------------------------------------------------------------------------------

    def process(self, timeout: float) -> None:
        """Take the events that arrive within ``timeout`` (at least one wait), then reconcile what they touched."""
        touched: set[str] = set()
        try:
            event = self.events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        while True:
            try:
                touched |= self.view.apply(event)
            except Exception:  # noqa: BLE001
                log.warning("skipped a malformed %s event", getattr(event, "kind", "?"), exc_info=True)
            if isinstance(event, Listed):
                self.listed.add(event.kind)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
        if self.listed >= set(KINDS):  # reconcile only once every kind is known
            self._reconcile_all(touched)

    def run(self) -> None:
        """Follow the streams and reconcile until :meth:`stop`."""
        threads = [stream.start() for stream in self.streams.values()]
        due: dict[str, float] = {}
        while not self.stopping.is_set():
            wait = min([DRAIN_SECONDS, *(at - self.clock() for at in self.timers.values())])
            self.process(wait)
            if self.listed >= set(KINDS):
                self._tick(due)
        for thread in threads:
            thread.join(timeout=1)

    def stop(self) -> None:
        self.stopping.set()


def _run_then_stop(watcher: Watcher) -> None:
    """Run ``watcher``; however it ends, mark it stopped (so the process lets go of the lease)."""
    try:
        watcher.run()
    finally:
        watcher.stop()


def main() -> None:
    """``python -m workers.watcher``: run until SIGTERM/SIGINT.

    With leader election (``PREVIEWBOT_LEADER_ELECTION``) the process first stands by until it holds
    the Lease; then it watches and reports while it renews the Lease. On SIGTERM it stops and releases
    the Lease, so a standby takes over at once. When it loses the Lease it stops writing and exits with
    status 1: the orchestrator restarts it, as a standby.
    """
    from preview import logs
    from preview.settings import SettingsError, load
    from workers.celery_app import make_celery
    from workers.garbage_collector import InBackground
    from workers.garbage_collector import build as build_collector
    from workers.leader import for_watcher
    from workers.runtime import Runtime

    try:
        settings = load().require_github()
    except SettingsError as exc:
        print(f"previewbot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level)
    from integrations.metrics import watcher_leadership
    from workers.health_server import start_for

    start_for(settings, "watcher")  # /metrics, /healthz, /readyz on PREVIEWBOT_METRICS_PORT (default 9101)
    runtime = Runtime(settings)
    from integrations.kube import WatchExpired

    enqueuer = Enqueuer(runtime.redis, make_celery(settings, runtime), settings.delivery_ttl_seconds)
    sleeper = runtime.sleeper
    sleeper.request = sleep_through(enqueuer, settings.watch_resync_seconds)  # settled under each PR's lock
    watcher = Watcher(
        runtime.cluster,
        runtime.reporter,
        resync_seconds=settings.watch_resync_seconds,
        expired=WatchExpired,
        sweep=lambda: (runtime.lifecycle.expire(settings.keep_label), sleeper.sweep(settings.keep_label)),
        grace_seconds=settings.failure_grace_seconds,
        stale_pending_seconds=settings.stale_pending_seconds,
        resync=resync_through(enqueuer, settings.stale_pending_seconds),
        gc=InBackground(build_collector(runtime, enqueuer).run),
        gc_seconds=settings.gc_interval_seconds,
        switch=switch_through(enqueuer),
    )
    thread = threading.Thread(target=_run_then_stop, args=(watcher,), name="watch", daemon=True)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        watcher.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    elector = for_watcher(settings) if settings.leader_election else None
    if elector is not None and not elector.acquire(watcher.stopping):
        log.info("watcher stopped")  # while standing by: it never led
        return
    log.info("watcher started")
    watcher_leadership(True)
    thread.start()
    if elector is not None and not elector.hold(watcher.stopping):
        # leadership lost: write nothing more and exit, so the orchestrator restarts us as a standby
        watcher_leadership(False)
        watcher.stop()
        thread.join(timeout=max(0.0, elector.timing.lease_duration - elector.timing.renew_deadline))
        log.info("watcher stopped: leadership lost")
        raise SystemExit(1)
    while thread.is_alive() and not watcher.stopping.is_set():
        watcher.stopping.wait(1.0)
    thread.join(timeout=5)
    if elector is not None:
        elector.release()  # a standby takes over at its next try instead of waiting for the lease to expire
    watcher_leadership(False)
    log.info("watcher stopped")


if __name__ == "__main__":
    main()
