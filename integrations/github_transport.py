"""How previewbot talks to GitHub with PyGithub: transport options and the mapping of its errors.

Shared by the App's token cache (``github_auth``) and the REST adapter (``github_client``), which
therefore need not import each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from github import GithubException, GithubRetry
from requests.exceptions import RequestException

from preview.ports import PermanentError, TemporaryError

USER_AGENT = "previewbot"


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
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        text = f"GitHub {what}: {exc.status} {message or ''}".strip()
        delay = _retry_after(exc)
        if exc.status >= 500 or exc.status == 429 or delay is not None:
            raise TemporaryError(text, delay) from None
        if exc.status == 403 and message and "rate limit" in message.lower():
            raise TemporaryError(text, 60.0) from None
        raise PermanentError(text) from None
    except RequestException as exc:  # connection errors, timeouts, retries exhausted on 5xx
        raise TemporaryError(f"GitHub {what}: {type(exc).__name__}") from None


def connection_options(write_interval: float = 1.0) -> dict[str, Any]:
    """Transport settings shared by every PyGithub client previewbot builds.

    ``write_interval`` spaces content-creating requests (GitHub's secondary rate limits);
    reads are spaced by a quarter of it.
    """
    return {
        "user_agent": USER_AGENT,
        "retry": GithubRetry(total=3, backoff_factor=0.5),
        "timeout": 15,
        "seconds_between_writes": write_interval,
        "seconds_between_requests": write_interval / 4,
    }
