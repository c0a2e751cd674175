"""Leader election over a coordination.k8s.io/v1 Lease, with the semantics of client-go's leaderelection.

Candidates read the Lease every ``retry_period``. A Lease held by someone else is taken over only
once it has not changed for the holder's ``leaseDurationSeconds`` as observed locally (the record
is remembered with the monotonic time it was first seen, so no clock skew between hosts matters); an
absent Lease is created (409: someone else won), an expired or released one is replaced at the
resourceVersion read (409: the race was lost). The leader renews every ``retry_period`` and stops
leading as soon as ``renew_deadline`` passes without a successful renewal, well before any other
candidate may consider the Lease expired. A leader that stops gracefully releases the Lease (no
holder, a duration of 1 s), so a standby takes over at its next try.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from integrations.lease import LeaseConflict, LeaseRecord, StoredLease
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

log = logging.getLogger(__name__)

#: extra random wait of a candidate's tries, as a fraction of ``retry_period`` (spreads standbys out)
JITTER = 0.1


class LeaseStore(Protocol):
    """One Lease in the cluster (:class:`integrations.lease.KubeLease`)."""

    def get(self, timeout: float) -> StoredLease | None: ...

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease: ...

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease: ...


@dataclass(frozen=True, slots=True)
class Timing:
    """Lease duration, renew deadline and retry period, in seconds (client-go's defaults: 15, 10, 2)."""

    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period * (1 + JITTER) > 0:
            raise ValueError("leader election needs lease duration > renew deadline > retry period > 0")

    @classmethod
    def for_lease(cls, seconds: int) -> Timing:
        """The default proportions for a ``seconds`` Lease: renew within 2/3 of it, try every 2/15 of it."""
        return cls(seconds, seconds * 2 / 3, seconds * 2 / 15)


def default_identity() -> str:
    """``<pod or host>_<pid>_<random>``: unique per process, so a restarted process is a new candidate."""
    host = os.environ.get("POD_NAME", "").strip() or socket.gethostname()
    return f"{host}_{os.getpid()}_{secrets.token_hex(3)}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """Campaigns for one Lease as ``identity``; see the module docstring for the rules."""

    def __init__(
        self,
        lease: LeaseStore,
        identity: str,
        timing: Timing | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.lease = lease
        self.identity = identity
        self.timing = timing or Timing()
        self.clock = clock
        self.now = now
        self.observed: StoredLease | None = None
        self.observed_at = 0.0
        #: monotonic time when the last successful acquire or renew was sent; None when not leading
        self.renewed_at: float | None = None
        self._last_problem = ""

    # -- state -------------------------------------------------------------------------------------

    def is_leader(self) -> bool:
        """Whether this candidate holds the Lease and renewed it within the renew deadline."""
        if self.renewed_at is None or self.observed is None or self.observed.record.holder != self.identity:
            return False
        return self.clock() - self.renewed_at < self.timing.renew_deadline

    def _observe(self, stored: StoredLease) -> None:
        """Remember ``stored``, and when it was first seen if its record changed."""
        if self.observed is None or stored.record != self.observed.record:
            holder = stored.record.holder
            if holder not in ("", self.identity) and (self.observed is None or holder != self.observed.record.holder):
                log.info("lease %s held by %s", self.lease, holder)
            self.observed_at = self.clock()
        self.observed = stored

    def _problem(self, message: str) -> None:
        if message != self._last_problem:
            log.warning("leader election: %s", message)
        self._last_problem = message

    # -- one try -----------------------------------------------------------------------------------

    def try_acquire_or_renew(self, timeout: float | None = None) -> bool:
        """One attempt to acquire or renew the Lease, all within ``timeout``; True if this candidate now holds it."""
        sent = self.clock()
        end = sent + (self.timing.renew_deadline if timeout is None else timeout)
        left = lambda: max(0.05, end - self.clock())  # noqa: E731 - what remains for the next request
        now = self.now()
        try:
            if self.is_leader() and self.observed is not None:
                try:  # the leader renews what it wrote last in one request (client-go's optimistic renewal)
                    renewal = self._claim(self.observed.record, now)
                    return self._won(self.lease.update(renewal, self.observed.resource_version, left()), sent)
                except (LeaseConflict, TemporaryError, PermanentError) as exc:
                    log.info("optimistic renewal failed (%s); reading lease %s", exc or "conflict", self.lease)
            current = self.lease.get(left())
            if current is None:
                first = LeaseRecord(self.identity, self.timing.lease_duration, now, now, 0)
                created = self.lease.create(first, left())
                return self._won(created, sent)
            self._observe(current)
            old = current.record
            if old.holder not in ("", self.identity) and self.clock() < self.observed_at + old.duration_seconds:
                return False  # held, and not seen unchanged for its whole duration yet
            return self._won(self.lease.update(self._claim(old, now), current.resource_version, left()), sent)
        except LeaseConflict:
            return False  # someone else created or changed it first: they won this round
        except (TemporaryError, PermanentError) as exc:
            self._problem(str(exc))
            return False

    def _claim(self, old: LeaseRecord, now: datetime) -> LeaseRecord:
        """The record that makes (or keeps) this candidate the holder, replacing ``old``."""
        mine = old.holder == self.identity
        return LeaseRecord(
            holder=self.identity,
            duration_seconds=self.timing.lease_duration,
            acquire_time=old.acquire_time if mine else now,
            renew_time=now,
            transitions=old.transitions if mine else old.transitions + 1,
        )

    def _won(self, stored: StoredLease, sent: float) -> bool:
        self._observe(stored)
        self._last_problem = ""
        if self.renewed_at is None:
            log.info("leader elected: %s holds lease %s", self.identity, self.lease)
        self.renewed_at = sent
        return True

    # -- loops -------------------------------------------------------------------------------------

    def acquire(self, stop: threading.Event) -> bool:
        """Try every ``retry_period`` (with a little jitter) until leading (True) or ``stop`` is set (False)."""
        log.info("standing by for lease %s as %s", self.lease, self.identity)
        while not stop.is_set():
            if self.try_acquire_or_renew():
                return True
            stop.wait(self.timing.retry_period * (1 + JITTER * random.random()))  # noqa: S311 - not crypto
        return False

    def hold(self, stop: threading.Event) -> bool:
        """Renew every ``retry_period`` until ``stop`` is set (True) or leadership is lost (False).

        Leadership is lost when ``renew_deadline`` passes since the last successful renewal (every
        request is cut off at that deadline) or when the Lease names another holder.
        """
        while not stop.wait(self.timing.retry_period):
            while True:
                if self.renewed_at is None:
                    return self._lost("not leading")
                left = self.renewed_at + self.timing.renew_deadline - self.clock()
                if left <= 0:
                    return self._lost(f"not renewed within {self.timing.renew_deadline:g} s")
                if self.try_acquire_or_renew(timeout=left):
                    break
                holder = self.observed.record.holder if self.observed is not None else ""
                if holder != self.identity:
                    return self._lost(f"lease {self.lease} now held by {holder or 'nobody'}")
                if stop.wait(min(self.timing.retry_period, max(0.0, left))):
                    return True
        return True

    def _lost(self, why: str) -> bool:
        self.renewed_at = None
        log.error("leadership lost: %s", why)
        return False

    def release(self) -> bool:
        """Give the Lease up (no holder, 1 s duration) if still leading; True if released."""
        if not self.is_leader() or self.observed is None:
            return False
        now = self.now()
        record = LeaseRecord("", 1, now, now, self.observed.record.transitions)
        try:
            left = self.renewed_at + self.timing.renew_deadline - self.clock() if self.renewed_at else 0.0
            self._observe(self.lease.update(record, self.observed.resource_version, max(0.1, left)))
        except (LeaseConflict, TemporaryError, PermanentError) as exc:
            log.warning("could not release lease %s: %s", self.lease, exc or type(exc).__name__)
            return False
        finally:
            self.renewed_at = None
        log.info("released lease %s", self.lease)
        return True


def for_watcher(settings: Settings) -> LeaderElector:
    """The watcher's elector: ``settings``' Lease, through a Kubernetes client of its own."""
    from integrations.kube import KubeCluster
    from integrations.lease import KubeLease

    lease = KubeLease(KubeCluster.from_settings(settings).api, settings.lease_namespace, settings.lease_name)
    return LeaderElector(lease, default_identity(), Timing.for_lease(settings.lease_duration_seconds))
