"""Sleep and wake: a preview idle for ``PREVIEWBOT_IDLE_SLEEP_SECONDS`` is scaled to zero, and comes back on demand.

Activity is the latest of the namespace's ``applied-at`` (a deploy) and the ledger key ``active:<repo>#<n>``
(epoch seconds), written on every accepted ``/preview`` command, every dashboard visit of the preview's page
or buttons, and every wake. A preview sleeps only while its applied commit shows ``success``, never when its
pull request carries the keep label, and never with ``PREVIEWBOT_IDLE_SLEEP_SECONDS=0``.

Sleeping marks the namespace first (``sleeping-since``, and ``sleep-replicas``: each Deployment's replicas),
then scales every Deployment to zero, then reports ``success`` "Sleeping …" and records that the sleep
finished (ledger ``slept:<repo>#<n>``). Waking records that it started (ledger ``waking:<repo>#<n>``),
scales the Deployments back, reports ``pending`` "Waking up…" and then removes the marks; the watcher
reports "Preview ready" once the pods are. Every step is idempotent, and :meth:`Sleeper.sweep` completes
whatever a crash left half done: a sleep not recorded as finished is finished, a wake recorded as started
is completed, and marks older than the last deploy go.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from preview import naming, wake_link
from preview.comment import SLEEPING
from preview.lifecycle_base import LifecycleBase, iso, now
from preview.models import NamespaceInfo, PullRef, State, StatusReport
from preview.naming import Annotations
from preview.ports import ClusterPort, GitHubPort, PermanentError, ReportLedger
from preview.reporting import Reporter
from preview.settings import Settings
from preview.sleep_marks import (
    _epoch,
    _replicas,
    _slept_key,
    _waking_key,
    _wanted,
    activity_key,
    asleep,
    duration,
    ref_of,
    wake_ref_key,
    wake_wanted_key,
)
from preview.slots import Slots

__all__ = [
    "MARKS",
    "WAKING",
    "Sleeper",
    "WakeResult",
    "activity_key",
    "asleep",
    "duration",
    "ref_of",
    "wake_ref_key",
    "wake_wanted_key",
]

log = logging.getLogger(__name__)

WAKING = "Waking up…"
MARKS = (Annotations.SLEEPING_SINCE, Annotations.SLEEP_REPLICAS)


class WakeResult(StrEnum):
    """What :meth:`Sleeper.wake` did."""

    WOKEN = "woken"
    AWAKE = "awake"  # it was not sleeping
    ABSENT = "absent"  # no preview
    QUEUED = "queued"  # PREVIEWBOT_SLEEP_FREES_SLOT: waits for a slot ("Queued: position N of M")


@dataclass
class Sleeper:
    """Puts idle previews to sleep and wakes them, through the lifecycle's ports."""

    github: GitHubPort
    cluster: ClusterPort
    reporter: Reporter
    settings: Settings
    clock: Callable[[], datetime] = now
    slots: Slots | None = None
    #: queues :meth:`settle` for a PR as a task under its lock (the watcher's sweep); None: settle at once
    request: Callable[[PullRef], object] | None = None

    @classmethod
    def of(cls, lifecycle: LifecycleBase) -> Sleeper:
        lc = lifecycle
        return cls(lc.github, lc.cluster, lc.reporter, lc.settings, lc.clock, lc.slots)

    @property
    def ledger(self) -> ReportLedger:
        return self.reporter.ledger

    @property
    def _frees_slot(self) -> bool:
        return self.slots is not None and self.settings.sleep_frees_slot

    # -- activity ---------------------------------------------------------------------------------

    def touch(self, ref: PullRef) -> None:
        """Record activity on ``ref``'s preview now: it sleeps no sooner than the idle time from now."""
        self.ledger.put(activity_key(ref.repo, ref.number), str(int(self.clock().timestamp())))

    def last_activity(self, ref: PullRef, annotations: Mapping[str, str]) -> float | None:
        """The latest deploy or recorded activity (epoch seconds); None when never deployed."""
        applied = _epoch(annotations.get(Annotations.APPLIED_AT))
        try:
            active: float | None = float(self.ledger.get(activity_key(ref.repo, ref.number)) or "")
        except ValueError:
            active = None
        found = [t for t in (applied, active) if t is not None]
        return max(found) if found else None

    # -- sleep ------------------------------------------------------------------------------------

    def sweep(self, keep_label: str) -> list[PullRef]:
        """Find idle previews and sleeps or wakes left half done; settle each (or queue it); return them.

        With :attr:`request` set each is settled by a task under the PR's lock, so a sleep never
        interleaves with a deploy, a wake or a switch of the same preview.
        """
        if self.settings.idle_sleep_seconds <= 0:
            return []
        found = []
        for ns in self.cluster.list_namespaces(f"{naming.MANAGED_BY}={naming.MANAGER}"):
            ref = ref_of(ns)
            if ns.terminating or ref is None:
                continue
            if self._unsettled(ns, ref) or (Annotations.SLEEPING_SINCE not in ns.annotations and self._idle(ns, ref)):
                if self.request is not None:
                    self.request(ref)
                    found.append(ref)
                elif self.settle(ref, keep_label):
                    found.append(ref)
        return found

    def settle(self, ref: PullRef, keep_label: str) -> bool:
        """From a fresh read: complete a sleep or wake left half done, or put an idle preview to sleep.

        Returns whether it fell asleep now.
        """
        ns = self.cluster.read_namespace(naming.namespace_name(ref.repo, ref.number))
        if ns is None or ns.terminating or self.settings.idle_sleep_seconds <= 0:
            return False
        if Annotations.SLEEPING_SINCE in ns.annotations:
            self._converge(ns, ref)
            return False
        if self._idle(ns, ref) and self._may_sleep(ref, keep_label):
            self._start(ns, ref)
            return True
        return False

    def _idle(self, ns: NamespaceInfo, ref: PullRef) -> bool:
        applied = ns.annotations.get(Annotations.APPLIED_SHA)
        if not applied or self.reporter.last_state(ref, applied) is not State.SUCCESS:
            return False  # not rolled out (yet), failed, or removed: nothing to save
        last = self.last_activity(ref, ns.annotations)
        return last is not None and self.clock().timestamp() - last >= self.settings.idle_sleep_seconds

    def _may_sleep(self, ref: PullRef, keep_label: str) -> bool:
        try:
            pr = self.github.get_pull(ref)
        except PermanentError:
            return False  # gone or inaccessible: garbage collection decides, not idleness
        return pr.is_open and not (keep_label and keep_label in pr.labels)

    def sleep(self, ref: PullRef) -> bool:
        """Put ``ref``'s preview to sleep now, idle or not (the sweep checks idleness); False when absent."""
        ns = self.cluster.read_namespace(naming.namespace_name(ref.repo, ref.number))
        if ns is None or ns.terminating:
            return False
        if asleep(ns.annotations):
            self._finish(ns, ref, ns.annotations[Annotations.SLEEPING_SINCE])
        else:
            self._start(ns, ref)
        return True

    def _start(self, ns: NamespaceInfo, ref: PullRef) -> None:
        replicas = {d["metadata"]["name"]: _wanted(d) for d in self.cluster.deployments_in(ns.name)}
        since = iso(self.clock())
        marks = {Annotations.SLEEPING_SINCE: since, Annotations.SLEEP_REPLICAS: json.dumps(replicas, sort_keys=True)}
        self.cluster.annotate_namespace(ns.name, marks)  # first: the watcher reports nothing from here on
        self._finish(ns, ref, since)

    def _finish(self, ns: NamespaceInfo, ref: PullRef, since: str) -> None:
        for deployment in self.cluster.deployments_in(ns.name):
            if _wanted(deployment) != 0:
                self.cluster.scale(ns.name, deployment["metadata"]["name"], 0)
        applied = ns.annotations.get(Annotations.APPLIED_SHA)
        self.ledger.put(wake_ref_key(ns.name), json.dumps([ref.repo, ref.number, ref.installation_id]))
        if applied:
            self.reporter.report(ref, applied, self._sleeping_report(ns))
        self.ledger.put(_slept_key(ref), since)
        log.info("preview asleep", extra={"repo": ref.repo, "pr": ref.number, "sha": applied})
        if self._frees_slot:
            assert self.slots is not None
            self.slots.release(ref, "Preview asleep", freed=True)

    def _sleeping_report(self, ns: NamespaceInfo) -> StatusReport:
        link = wake_link.url(self.settings, ns.name)
        idle = duration(self.settings.idle_sleep_seconds)
        if link is None:
            text = f"{SLEEPING} after {idle} idle: comment /preview wake to wake it"
            return StatusReport(State.SUCCESS, text)  # the preview's own URL would lead nowhere
        text = f"{SLEEPING} after {idle} idle: comment /preview wake or open the link"
        return StatusReport(State.SUCCESS, text, link)

    def _unsettled(self, ns: NamespaceInfo, ref: PullRef) -> bool:
        """Whether a namespace's sleep marks say a sleep or wake stopped half way (what :meth:`_converge` does)."""
        since = ns.annotations.get(Annotations.SLEEPING_SINCE)
        if not since:
            return False
        return (
            not asleep(ns.annotations)
            or self.ledger.get(_waking_key(ref)) == since
            or self.ledger.get(_slept_key(ref)) != since
        )

    def _converge(self, ns: NamespaceInfo, ref: PullRef) -> None:
        """A namespace carrying the sleep marks: complete what a crash (or a race with a deploy) left."""
        since = ns.annotations[Annotations.SLEEPING_SINCE]
        if not asleep(ns.annotations):  # deployed after the sleep began
            self._restore(ns, only_stopped=True)  # what the apply did not scale back (a scale cut short)
            self._clear(ns.name, ref)
            return
        if self.ledger.get(_waking_key(ref)) == since:
            self.wake(ref)  # a wake started and stopped half way
        elif self.ledger.get(_slept_key(ref)) != since:
            self._finish(ns, ref, since)  # a sleep started and stopped half way

    # -- wake -------------------------------------------------------------------------------------

    def wake(self, ref: PullRef) -> WakeResult:
        """Scale a sleeping preview back up and report "Waking up…"; the watcher reports it ready."""
        ns = self.cluster.read_namespace(naming.namespace_name(ref.repo, ref.number))
        if ns is None or ns.terminating:
            return WakeResult.ABSENT
        self.touch(ref)
        if Annotations.SLEEPING_SINCE not in ns.annotations:
            return WakeResult.AWAKE
        if not asleep(ns.annotations):
            self._clear(ns.name, ref)
            return WakeResult.AWAKE
        if self._frees_slot:
            assert self.slots is not None
            if self.slots.claim(self.github.get_pull(ref)) is not None:
                self.ledger.put(wake_wanted_key(ref), "1")
                return WakeResult.QUEUED  # "Queued: position N of M"; woken when its turn comes
        self.ledger.put(_waking_key(ref), ns.annotations[Annotations.SLEEPING_SINCE])
        self.ledger.delete(_slept_key(ref))
        self._restore(ns, only_stopped=False)
        applied = ns.annotations.get(Annotations.APPLIED_SHA)
        if applied:  # before the marks go: the watcher's "Preview ready" must come after it
            self.reporter.report(ref, applied, StatusReport(State.PENDING, WAKING))
        self._clear(ns.name, ref)
        log.info("preview woken", extra={"repo": ref.repo, "pr": ref.number, "sha": applied})
        return WakeResult.WOKEN

    def deployed(self, ns: NamespaceInfo, ref: PullRef) -> None:
        """A deploy applied into a sleeping preview (push, ``/preview redeploy``): it is awake again.

        The apply set the replicas of the templates that name them; Deployments still at zero get back
        the replicas they had. With ``PREVIEWBOT_SLEEP_FREES_SLOT`` and no free slot, it sleeps on with
        the new commit and waits in the queue ("Queued: position N of M") until it is woken.
        """
        self.touch(ref)
        self.ledger.delete(_slept_key(ref))
        if self._frees_slot and self._sleep_on(ns, ref):
            return
        self._restore(ns, only_stopped=True)
        self._clear(ns.name, ref)

    def _sleep_on(self, ns: NamespaceInfo, ref: PullRef) -> bool:
        assert self.slots is not None
        since = iso(self.clock())  # not before the deploy's applied-at: asleep again, so it holds no slot
        old = _replicas(ns.annotations)
        replicas = {d["metadata"]["name"]: _wanted(d) or old.get(d["metadata"]["name"], 1)
                    for d in self.cluster.deployments_in(ns.name)}  # fmt: skip
        marks = {Annotations.SLEEPING_SINCE: since, Annotations.SLEEP_REPLICAS: json.dumps(replicas, sort_keys=True)}
        self.cluster.annotate_namespace(ns.name, marks)
        if self.slots.claim(self.github.get_pull(ref)) is None:
            return False  # a slot is free: awake it is
        for name, count in replicas.items():
            if count:
                self.cluster.scale(ns.name, name, 0)
        self.ledger.put(_slept_key(ref), since)
        self.ledger.put(wake_wanted_key(ref), "1")
        return True

    def _restore(self, ns: NamespaceInfo, *, only_stopped: bool) -> None:
        replicas = _replicas(ns.annotations)
        for deployment in self.cluster.deployments_in(ns.name):
            name, current = deployment["metadata"]["name"], _wanted(deployment)
            wanted = replicas.get(name, 1)
            if current != wanted and not (only_stopped and current != 0):
                self.cluster.scale(ns.name, name, wanted)

    def _clear(self, ns_name: str, ref: PullRef) -> None:
        self.cluster.annotate_namespace(ns_name, dict.fromkeys(MARKS))
        self.ledger.delete(wake_wanted_key(ref))
        self.ledger.delete(_waking_key(ref))
