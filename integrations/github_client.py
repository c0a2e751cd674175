"""GitHub adapter: implements :class:`preview.ports.GitHubPort` with PyGithub."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import github
from github import Auth, Github, GithubException, GithubRetry
from requests.exceptions import RequestException

from preview.models import PullRef, PullRequest, StatusReport
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "previewbot"


def _retry_after(exc: GithubException) -> float | None:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        import time

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


def to_pull_request(ref: PullRef, data: dict) -> PullRequest:
    """Build the domain model from a pulls/get JSON answer."""
    head, base = data["head"], data["base"]
    head_repo = (head.get("repo") or {}).get("full_name")
    return PullRequest(
        ref=ref,
        head_sha=head["sha"],
        head_ref=head.get("ref", ""),
        base_ref=base.get("ref", ""),
        state=data["state"],
        merged=bool(data.get("merged")),
        draft=bool(data.get("draft")),
        title=data.get("title") or "",
        author=(data.get("user") or {}).get("login", ""),
        labels=tuple(label["name"] for label in data.get("labels") or ()),
        fork=head_repo is not None and head_repo.lower() != ref.repo.lower(),
    )


class GitHubClient:
    """PyGithub-backed GitHub port; one ``Github`` per installation, made on demand."""

    def __init__(self, client_for: Callable[[int | None], Github]) -> None:
        self._client_for = client_for

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubClient:
        settings.require_github()
        token = settings.github_token.value if settings.github_token else ""
        client = Github(
            auth=Auth.Token(token),
            base_url=settings.github_api_url,
            user_agent=USER_AGENT,
            retry=GithubRetry(total=3, backoff_factor=0.5),
            lazy=True,
            timeout=15,
        )
        return cls(lambda _installation: client)

    def _repo(self, ref: PullRef) -> github.Repository.Repository:
        return self._client_for(ref.installation_id).get_repo(ref.repo)

    def get_pull(self, ref: PullRef) -> PullRequest:
        with github_errors(f"reading {ref}"):
            pull = self._repo(ref).get_pull(ref.number)
            return to_pull_request(ref, pull.raw_data)

    def set_status(self, ref: PullRef, sha: str, context: str, report: StatusReport) -> None:
        kwargs: dict[str, str] = {"state": str(report.state), "description": report.description, "context": context}
        if report.target_url:
            kwargs["target_url"] = report.target_url
        with github_errors(f"setting status on {ref.repo}@{sha[:7]}"):
            self._repo(ref).get_commit(sha).create_status(**kwargs)
