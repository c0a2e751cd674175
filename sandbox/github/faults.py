"""Injected failures: GitHub's secondary rate limits and server errors."""

from __future__ import annotations

import re
import uuid

from . import state as st
from .http import ApiError

SECONDARY_DOCS = ("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                  "#about-secondary-rate-limits")
_MESSAGES = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}


def add_fault(state: st.State, method: str, path_pattern: str, status: int, count: int = 1,
              retry_after: int | None = None) -> None:
    """Make the next ``count`` matching requests fail with ``status``."""
    re.compile(path_pattern)
    with state.lock:
        state.faults.append(st.Fault(method.upper(), path_pattern, status, count, retry_after))


def take_fault(state: st.State, method: str, path: str) -> ApiError | None:
    """The error for this request if an injected fault matches (consuming one use)."""
    with state.lock:
        for fault in state.faults:
            if fault.count > 0 and fault.method in ("*", method.upper()) and re.search(fault.pattern, path):
                fault.count -= 1
                return fault_error(fault)
    return None


def fault_error(fault: st.Fault) -> ApiError:
    """GitHub-shaped answer for an injected fault."""
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.status in (403, 429):
        request_id = uuid.uuid4().hex[:8].upper() + ":" + uuid.uuid4().hex[:6].upper()
        message = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                   f"again. If you reach out to GitHub Support for help, please include the request ID "
                   f"{request_id}.")
        return ApiError(fault.status, {"message": message, "documentation_url": SECONDARY_DOCS,
                                       "status": str(fault.status)}, headers)
    message = _MESSAGES.get(fault.status, "Server Error" if fault.status >= 500 else "Error")
    return ApiError(fault.status, {"message": message, "documentation_url": "https://docs.github.com/rest",
                                   "status": str(fault.status)}, headers)
