"""How previewbot talks to GitHub with PyGithub: transport options and the mapping of its errors.

Shared by the App's token cache (``github_auth``) and the REST adapter (``github_client``), which
therefore need not import each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from github import GithubException
from requests.exceptions import RequestException
from urllib3.util.retry import Retry

from integrations import metrics
from preview.ports import PermanentError, TemporaryError

USER_AGENT = "previewbot"


class CountingRetry(Retry):
    """urllib3's retry policy, counting each answer (``previewbot_github_requests_total``) on the way.

    urllib3 asks :meth:`is_retry` about every response it receives, retried or not, and calls
    :meth:`increment` without a response for each attempt that got none.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        metrics.github_answer(method, status_code)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is None and error is not None:
            metrics.github_answer(method or "", None)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class RateLimited(TemporaryError):
    """GitHub asked for a pause (``Retry-After``, an exhausted rate limit): ``delay`` is how long."""


def _retry_after(exc: GithubException) -> float | None:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(float(headers["x-ratelimit-reset"]) - time.time(), 1.0)
    return None


@contextmanager
def github_errors(what: str) -> Iterator[None]:
    """Map PyGithub and transport errors to the domain's temporary/permanent errors."""
    try:
        yield
    except GithubException as exc:
        metrics.github_remaining({k.lower(): v for k, v in (exc.headers or {}).items()}.get("x-ratelimit-remaining"))
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        text = f"GitHub {what}: {exc.status} {message or ''}".strip()
        delay = _retry_after(exc)
        if delay is not None:
            raise RateLimited(text, delay) from None
        if exc.status == 429 or (exc.status == 403 and message and "rate limit" in message.lower()):
            raise RateLimited(text, 60.0) from None
        if exc.status >= 500:
            raise TemporaryError(text) from None
        raise PermanentError(text) from None
    except RequestException as exc:  # connection errors, timeouts, retries exhausted on 5xx
        raise TemporaryError(f"GitHub {what}: {type(exc).__name__}") from None


def connection_options() -> dict[str, Any]:
    """Transport settings shared by every PyGithub client previewbot builds.

    No fixed spacing between requests (PyGithub's ``seconds_between_*``): content-creating requests are
    paced by the shared per-installation budget (:mod:`workers.budget`) only when it is spent. The
    transport retries only what is safe to repeat (reads, edits, deletes) on a server error, and never
    sleeps on a rate limit: a ``Retry-After`` becomes a :class:`TemporaryError` that pauses the budget of
    every process and leaves the write in the outbox.
    """
    retry = CountingRetry(
        total=3,
        backoff_factor=0.25,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    return {
        "user_agent": USER_AGENT,
        "retry": retry,
        "timeout": 15,
        "seconds_between_writes": None,
        "seconds_between_requests": None,
    }
