"""One coordination.k8s.io/v1 Lease through the official client's ``CoordinationV1Api``: read, create, replace.

The API server accepts ``acquireTime`` and ``renewTime`` only as MicroTimes, with exactly six fractional
digits (``2026-01-01T00:00:00.000000Z``). The client writes datetimes with ``isoformat()``, which leaves
the fraction out when it is zero, so a time on a whole second is written one microsecond later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from integrations.kube import api_error
from preview.ports import TemporaryError

API_VERSION = "coordination.k8s.io/v1"


def writable(when: datetime) -> datetime:
    """``when`` in UTC, with a fraction ``isoformat()`` writes (six digits: a valid MicroTime)."""
    when = when.astimezone(UTC)
    return when if when.microsecond else when.replace(microsecond=1)


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The spec of a Lease, as leader election reads and writes it."""

    holder: str = ""
    duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0


@dataclass(frozen=True, slots=True)
class StoredLease:
    """A Lease's record and the resourceVersion it was read or written at."""

    record: LeaseRecord
    resource_version: str


class LeaseConflict(Exception):
    """HTTP 409: the Lease was created or changed by someone else in the meantime."""


class KubeLease:
    """One Lease, ``namespace/name``. A 409 raises :class:`LeaseConflict`; other failures TemporaryError or
    PermanentError (a missing namespace, a refused request)."""

    def __init__(self, api_client: client.ApiClient, namespace: str, name: str) -> None:
        self.api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def get(self, timeout: float) -> StoredLease | None:
        """The Lease, or None when it does not exist."""
        call = lambda t: self.api.read_namespaced_lease(self.name, self.namespace, _request_timeout=t)  # noqa: E731
        lease = self._call("read", call, timeout, missing_ok=True)
        return None if lease is None else _stored(lease)

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease:
        """Create the Lease holding ``record``; :class:`LeaseConflict` if it exists already."""
        body = self._body(record, None)
        call = lambda t: self.api.create_namespaced_lease(self.namespace, body, _request_timeout=t)  # noqa: E731
        return _stored(self._call("create", call, timeout))

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease:
        """Replace the Lease's spec if it is still at ``resource_version``; :class:`LeaseConflict` if not."""
        body = self._body(record, resource_version)
        call = lambda t: self.api.replace_namespaced_lease(self.name, self.namespace, body, _request_timeout=t)  # noqa: E731
        return _stored(self._call("update", call, timeout))

    def _body(self, record: LeaseRecord, resource_version: str | None) -> client.V1Lease:
        return client.V1Lease(
            api_version=API_VERSION,
            kind="Lease",
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace, resource_version=resource_version),
            spec=client.V1LeaseSpec(
                holder_identity=record.holder,
                lease_duration_seconds=record.duration_seconds,
                acquire_time=writable(record.acquire_time) if record.acquire_time else None,
                renew_time=writable(record.renew_time) if record.renew_time else None,
                lease_transitions=record.transitions,
            ),
        )

    def _call(self, verb: str, call: Callable[[float], Any], timeout: float, *, missing_ok: bool = False) -> Any:
        """One request, cut off after ``timeout`` seconds: the V1Lease, or None for a 404 when ``missing_ok``."""
        action = f"{verb} lease {self}"
        try:
            return call(max(0.05, float(timeout)))
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            if exc.status == 409:
                raise LeaseConflict(action) from None
            raise api_error(action, exc.status or 0, exc.body, exc.headers, str(exc.reason or "")) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TemporaryError(f"{action}: cannot reach the Kubernetes API ({type(exc).__name__})") from None


def _stored(lease: client.V1Lease) -> StoredLease:
    spec, version = lease.spec, str(lease.metadata.resource_version or "")
    if spec is None:
        return StoredLease(LeaseRecord(), version)
    record = LeaseRecord(
        holder=spec.holder_identity or "",
        duration_seconds=int(spec.lease_duration_seconds or 0),
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        transitions=int(spec.lease_transitions or 0),
    )
    return StoredLease(record, version)
