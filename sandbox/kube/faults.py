"""Fault and latency injection plus the record of served requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import REASONS, ApiError

if TYPE_CHECKING:
    from .rbac import Decision

VERBS = {"get", "list", "watch", "create", "update", "patch", "apply", "delete", "deletecollection", "*"}


@dataclass(frozen=True)
class RecordedRequest:
    """One served API request.

    ``verb`` is the emulator's (``apply`` for a server-side apply, as faults name it); ``authz_verb`` is the
    verb the authorizer saw (``patch``). ``user`` is who sent it (``""`` when authentication failed).
    ``checks`` are all authorization checks made while serving it, in order; ``denied`` those that made
    it fail with 403. ``at`` and ``finished`` are wall-clock times (``time.time()``) of its arrival and
    of its answer (for a watch, when the stream started).
    """

    verb: str
    resource: str
    namespace: str | None
    name: str | None
    path: str
    status: int
    query: dict[str, str] = field(default_factory=dict)
    user: str = ""
    authz_verb: str = ""
    group: str = ""
    checks: tuple[Decision, ...] = ()
    denied: tuple[Decision, ...] = ()
    at: float = 0.0
    finished: float = 0.0


@dataclass
class _Fault:
    verb: str
    resource: str
    status: int
    remaining: int
    retry_after: int | None


MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allowed duration",
}


class FaultInjector:
    """Thread-safe queue of injected failures, latency setting and request log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._requests: list[RecordedRequest] = []
        self.latency = 0.0

    def add(self, verb: str, resource: str, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Make the next ``count`` matching requests fail with ``status``."""
        if verb not in VERBS:
            raise ValueError(f"unknown verb {verb!r}")
        with self._lock:
            self._faults.append(_Fault(verb, resource, status, count, retry_after))

    def clear(self) -> None:
        """Drop all pending faults."""
        with self._lock:
            self._faults.clear()

    def take(self, verb: str, resource: str, name: str | None) -> ApiError | None:
        """Consume and return the error for a matching fault, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.verb in ("*", verb) and fault.resource in ("*", resource):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return _error(fault, resource, name)
        return None

    def record(self, request: RecordedRequest) -> None:
        """Append to the request log."""
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copy of the request log."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._requests.clear()


def _error(fault: _Fault, resource: str, name: str | None) -> ApiError:
    code = fault.status
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if resource and resource != "*":
        details["kind"] = resource
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        details["retryAfterSeconds"] = fault.retry_after
        headers["Retry-After"] = str(fault.retry_after)
    message = MESSAGES.get(code, f"injected fault ({code} {REASONS.get(code, 'Unknown')})")
    if code == 404 and name:
        message = f'{resource} "{name}" not found'
    elif code == 409 and name:
        message = (
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )
    return ApiError(code, message, REASONS.get(code, "Unknown"), details or None, headers)
