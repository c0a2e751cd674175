"""Fair limits on live previews: who may create a new preview now, and who waits in line.

``PREVIEWBOT_MAX_PREVIEWS`` caps the live previews of the whole installation and
``PREVIEWBOT_MAX_PREVIEWS_PER_REPO`` those of each repository (0: no limit). A preview is live while
its namespace exists and is not terminating (the cluster is the truth), or while a PR holds a
reservation: it was let in but its namespace may not exist yet.

A sync that would create a new preview asks :meth:`Slots.claim`. A PR that does not fit waits in a
first-come queue and its commit shows ``pending`` "Queued: position N of M". A PR that already has a
preview never asks, so pushes to a live preview always deploy. When a preview goes away
(:meth:`Slots.release`) the queue advances: every waiting PR that now fits gets a sync queued for it,
and the others' positions are reported again (the Reporter writes only changes).

Order: the queue is walked in order of first arrival, and each PR that fits once the ones before it
have started is let in. A PR blocked only by its own repository's limit does not hold up the PRs of
other repositories behind it.

Races: every decision (count, compare, reserve or queue) and every advance of the queue runs under
one lock of the store, so two syncs deciding at once cannot both take the last slot, and a slot freed
while a PR is being queued is always seen by one of the two.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Protocol

from preview import naming
from preview.models import NamespaceInfo, PullRef, PullRequest, State, StatusReport
from preview.naming import Annotations
from preview.ports import ClusterPort
from preview.reporting import Reporter

log = logging.getLogger(__name__)

#: How long a PR let in counts as live before its namespace shows up (longer than any sync with retries).
RESERVATION_SECONDS = 900.0


@dataclass(frozen=True)
class Limits:
    """The most live previews overall and per repository; 0 means no limit."""

    total: int = 0
    per_repo: int = 0

    @property
    def enabled(self) -> bool:
        return self.total > 0 or self.per_repo > 0

    def fits(self, repo: str, total: int, per_repo: Mapping[str, int]) -> bool:
        """Whether one more preview of ``repo`` fits next to ``total`` live ones (``per_repo`` by repository)."""
        if self.total and total >= self.total:
            return False
        return not (self.per_repo and per_repo.get(repo, 0) >= self.per_repo)


@dataclass(frozen=True)
class Waiting:
    """A PR in the queue: the commit it waits with and its ticket (the order of first arrival)."""

    repo: str
    number: int
    sha: str
    installation_id: int | None = None
    ticket: int = 0

    @property
    def key(self) -> str:
        return key_of(self.repo, self.number)

    @property
    def ref(self) -> PullRef:
        return PullRef(self.repo, self.number, self.installation_id)


def key_of(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def repo_of(key: str) -> str:
    return key.rsplit("#", 1)[0]


def startable(live: Collection[str], queue: Sequence[Waiting], limits: Limits) -> list[Waiting]:
    """The waiting PRs that may start now, in arrival order (``live``: keys of live previews).

    Each PR, in order of its ticket, starts if it fits once the PRs before it that fit have started.
    """
    total = len(live)
    per_repo = Counter(repo_of(key) for key in live)
    chosen = []
    for waiting in sorted(queue, key=lambda w: w.ticket):
        if waiting.key in live:
            continue
        if limits.fits(waiting.repo, total, per_repo):
            chosen.append(waiting)
            total += 1
            per_repo[waiting.repo] += 1
    return chosen


def positions(queue: Sequence[Waiting], starting: Collection[Waiting]) -> dict[str, tuple[int, int]]:
    """``(N, M)`` of each PR that keeps waiting: its place among the M that do, by arrival."""
    going = {w.key for w in starting}
    rest = [w for w in sorted(queue, key=lambda w: w.ticket) if w.key not in going]
    return {w.key: (i, len(rest)) for i, w in enumerate(rest, start=1)}


def queued_report(position: int, size: int) -> StatusReport:
    return StatusReport(State.PENDING, f"Queued: position {position} of {size}")


class SlotStore(Protocol):
    """The queue and the reservations, shared by every process (workers/slot_queue.py keeps them in Redis)."""

    def locked(self) -> AbstractContextManager[None]:
        """Hold the one lock every decision runs under; raises TemporaryError when it stays busy."""
        ...

    def queue(self) -> list[Waiting]:
        """The waiting PRs, in order of first arrival."""
        ...

    def add(self, waiting: Waiting) -> None:
        """Queue a PR, or update its commit if it waits already (its ticket stays the first one)."""
        ...

    def drop(self, key: str) -> tuple[Waiting | None, bool]:
        """Take a PR out of the queue and drop its reservation: its entry, and whether anything was removed."""
        ...

    def reserve(self, key: str, until: float) -> None: ...

    def reservations(self, now: float) -> set[str]:
        """Keys of PRs holding a reservation that has not expired."""
        ...


#: Queues a sync for a PR whose turn came (workers/slot_queue.py: delivery id ``slot:<repo>#<n>:<sha>:…``).
Wake = Callable[[Waiting], object]


@dataclass
class Slots:
    """Admission of new previews under :class:`Limits`, and the queue of those that wait."""

    limits: Limits
    store: SlotStore
    cluster: ClusterPort
    reporter: Reporter
    wake: Wake
    clock: Callable[[], float] = time.time
    reservation_seconds: float = RESERVATION_SECONDS
    #: namespaces that hold no slot: sleeping previews with ``PREVIEWBOT_SLEEP_FREES_SLOT`` (preview/sleep.py)
    dormant: Callable[[NamespaceInfo], bool] | None = None

    def claim(self, pr: PullRequest) -> tuple[int, int] | None:
        """A sync is about to create ``pr``'s preview: None to go ahead (a slot is reserved), else its place.

        A queued PR's commit is reported ``pending`` "Queued: position N of M" (held: it waits on other
        previews, not on a rollout); a commit it waited with before is resolved as superseded.
        """
        if not self.limits.enabled:
            return None
        key = key_of(pr.ref.repo, pr.ref.number)
        me = Waiting(pr.ref.repo, pr.ref.number, pr.head_sha, pr.ref.installation_id)
        with self.store.locked():
            queue = self.store.queue()
            known = next((w for w in queue if w.key == key), None)
            if known is None:
                me = replace(me, ticket=max((w.ticket for w in queue), default=0) + 1)
                queue = [*queue, me]  # where it would stand; stored only if it has to wait
            else:
                me = replace(me, ticket=known.ticket)
                queue = [me if w.key == key else w for w in queue]
            if known is not None and known.sha != me.sha:
                self.reporter.resolve_pending(me.ref, known.sha, f"Superseded by {naming.short_sha(me.sha)}")
            live = self._live()
            starting = startable(live, queue, self.limits)
            if key in live or any(w.key == key for w in starting):  # in live: reserved by an earlier try
                self.store.drop(key)
                self.store.reserve(key, self.clock() + self.reservation_seconds)
                log.info("slot taken", extra={"repo": me.repo, "pr": me.number, "sha": me.sha})
                queue = [w for w in queue if w.key != key]
                place = None
            else:
                self.store.add(me)
                place = positions(queue, starting)[key]
                log.info("queued at %d of %d", *place, extra={"repo": me.repo, "pr": me.number, "sha": me.sha})
            self._report(queue, starting)
        return place

    def release(self, ref: PullRef, why: str, *, freed: bool, keep: str | None = None) -> None:
        """``ref`` needs no slot any more (torn down, closed, or waiting on people): let the queue advance.

        ``freed``: its namespace was just deleted. A PR taken out of the queue gets its queued commit
        resolved with ``why``, unless it is ``keep`` (the caller has just reported something newer on it).
        """
        if not self.limits.enabled:
            return
        dropped, changed = self.store.drop(key_of(ref.repo, ref.number))
        if dropped is not None and dropped.sha != keep:
            self.reporter.resolve_pending(dropped.ref, dropped.sha, why)
        if freed or changed:
            self.advance()

    def forget_repo(self, repo: str) -> None:
        """Every PR of ``repo`` leaves the queue (access to it was lost: no GitHub writes); the queue advances."""
        if not self.limits.enabled:
            return
        for waiting in self.store.queue():
            if waiting.repo == repo:
                self.store.drop(waiting.key)
        self.advance()

    def advance(self) -> list[Waiting]:
        """Queue a sync for every waiting PR that fits now; report the others' positions. Returns those woken."""
        if not self.limits.enabled:
            return []
        with self.store.locked():
            queue = self.store.queue()
            starting = startable(self._live(), queue, self.limits)
            for waiting in starting:
                self.wake(waiting)
                log.info("slot free: sync queued", extra={"repo": waiting.repo, "pr": waiting.number})
            self._report(queue, starting)
        return starting

    def _live(self) -> set[str]:
        """Keys of the live previews: previewbot's namespaces that are not terminating, and reservations."""
        live = set(self.store.reservations(self.clock()))
        for ns in self.cluster.list_namespaces(f"{naming.MANAGED_BY}={naming.MANAGER}"):
            repo, number = ns.annotations.get(Annotations.REPO), ns.annotations.get(Annotations.PR, "")
            if not ns.terminating and repo and number.isdigit() and not (self.dormant and self.dormant(ns)):
                live.add(key_of(repo, int(number)))
        return live

    def _report(self, queue: Sequence[Waiting], starting: Collection[Waiting]) -> None:
        by_key = {w.key: w for w in queue}
        for key, (position, size) in positions(queue, starting).items():
            waiting = by_key[key]
            self.reporter.report(waiting.ref, waiting.sha, queued_report(position, size), hold=True)
