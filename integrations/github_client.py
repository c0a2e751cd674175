"""GitHub adapter: implements :class:`preview.ports.GitHubPort` with PyGithub."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import github
from github import Auth, BadCredentialsException, Github, GithubException, GithubIntegration, UnknownObjectException
from github.IssueComment import IssueComment

from integrations import metrics
from integrations.github_auth import InstallationTokens
from integrations.github_transport import RateLimited, connection_options, github_errors
from preview.garbage_collector import Absence
from preview.models import PullRef, PullRequest, StatusReport
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

log = logging.getLogger(__name__)

TEMPLATE_SUFFIX = ".yaml.j2"
MAX_REPO_TEMPLATES = 20
MAX_TEMPLATE_BYTES = 64 * 1024


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
        # a deleted fork has ``head.repo: null``: only a head known to be the base repository is not a fork
        fork=not isinstance(head_repo, str) or head_repo.lower() != ref.repo.lower(),
    )


class Budget(Protocol):
    """Paces content-creating requests per installation (see :class:`workers.budget.WriteBudget`)."""

    def spend(self, ref: PullRef) -> None:
        """Take one write, or raise :class:`TemporaryError` with the wait."""
        ...

    def pause(self, ref: PullRef, seconds: float) -> None:
        """GitHub asked for a pause: no write for ``ref``'s installation for ``seconds``."""
        ...


class _InstallationClients:
    """One ``Github`` per installation, rebuilt only when its installation token changed."""

    def __init__(self, tokens: InstallationTokens, base_url: str) -> None:
        self._tokens = tokens
        self._base_url = base_url
        self._options = connection_options()
        self._lock = threading.Lock()
        self._clients: dict[int, tuple[str, Github]] = {}

    def __call__(self, installation_id: int | None) -> Github:
        if installation_id is None:
            raise PermanentError("GitHub App mode needs an installation id")
        token = self._tokens.token(installation_id)
        with self._lock:
            cached = self._clients.get(installation_id)
            if cached is None or cached[0] != token:
                client = Github(auth=Auth.Token(token), base_url=self._base_url, lazy=True, **self._options)
                cached = self._clients[installation_id] = (token, client)
            return cached[1]


class GitHubClient:
    """PyGithub-backed GitHub port; one ``Github`` per installation, made on demand.

    With ``tokens`` (GitHub App mode) a ref without an installation id is resolved from its repository,
    and a 401 drops the installation's token so that the retry fetches a fresh one.
    """

    def __init__(
        self,
        client_for: Callable[[int | None], Github],
        tokens: InstallationTokens | None = None,
        budget: Budget | None = None,
        app: GithubIntegration | None = None,
    ) -> None:
        self._client_for = client_for
        self._tokens = tokens
        self._budget = budget
        self._app = app  # the App itself (JWT), to ask where it is installed

    def with_budget(self, budget: Budget) -> GitHubClient:
        """The same client, charging every content-creating request to ``budget`` first."""
        return GitHubClient(self._client_for, self._tokens, budget, self._app)

    def _spend(self, ref: PullRef) -> None:
        if self._budget is not None:
            self._budget.spend(ref)

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubClient:
        """App mode when ``github_app_id`` is set, personal-token mode otherwise."""
        settings.require_github()
        if settings.github_app_id is not None and settings.github_private_key is not None:
            tokens = InstallationTokens(
                settings.github_app_id, settings.github_private_key.value, settings.github_api_url
            )
            clients = _InstallationClients(tokens, settings.github_api_url)
            auth = Auth.AppAuth(settings.github_app_id, sign_func=lambda _claims: tokens.app_jwt())
            app = GithubIntegration(auth=auth, base_url=settings.github_api_url, **connection_options())
            return cls(clients, tokens, app=app)
        token = settings.github_token.value if settings.github_token else ""
        options = connection_options()
        client = Github(auth=Auth.Token(token), base_url=settings.github_api_url, lazy=True, **options)
        return cls(lambda _installation: client)

    @contextmanager
    def _repo(self, ref: PullRef, what: str) -> Iterator[github.Repository.Repository]:
        installation = ref.installation_id
        if installation is None and self._tokens is not None:
            installation = self._tokens.installation_for(ref.repo)
        try:
            with github_errors(what):
                client = self._client_for(installation)
                try:
                    yield client.get_repo(ref.repo)
                except BadCredentialsException:
                    if self._tokens is None or installation is None:
                        raise
                    self._tokens.invalidate(installation)
                    message = f"GitHub {what}: 401 installation token rejected; the next attempt fetches a new one"
                    raise TemporaryError(message, 1.0) from None
        except RateLimited as exc:
            if self._budget is not None and exc.delay:
                self._budget.pause(ref, exc.delay)  # every process holds its writes until then
            raise
        self._note_quota(ref, client)

    def _note_quota(self, ref: PullRef, client: Github) -> None:
        """An answer that spent the installation's last request of the hour pauses writes until the reset."""
        remaining, _limit = client.requester.rate_limiting
        metrics.github_remaining(remaining)  # -1 (no answer carried it yet) is ignored
        if remaining == 0 and self._budget is not None:
            self._budget.pause(ref, max(client.requester.rate_limiting_resettime - time.time(), 1.0))

    def get_pull(self, ref: PullRef) -> PullRequest:
        with self._repo(ref, f"reading {ref}") as repo:
            return to_pull_request(ref, repo.get_pull(ref.number).raw_data)

    def pull_presence(self, ref: PullRef) -> PullRequest | Absence:
        """The pull request as :meth:`get_pull` reads it, or why GitHub no longer shows it.

        ``REPO_INACCESSIBLE`` when the repository answers 404 or a 403 that is no rate limit (deleted,
        transferred, made private, blocked) or, as a GitHub App, when the App is not installed on it
        (asked with the App's JWT); ``PULL_MISSING`` when only the pull request answers 404. Bad
        credentials, rate limits and server errors raise as in :meth:`get_pull`, so a credentials
        problem never looks like a lost repository.
        """
        if self._app is not None:
            installation = self._installation_of(ref.repo)
            if installation is None:
                return Absence.REPO_INACCESSIBLE
            ref = PullRef(ref.repo, ref.number, installation)
        with self._repo(ref, f"reading {ref}") as repo:
            try:
                return to_pull_request(ref, repo.get_pull(ref.number).raw_data)
            except GithubException as exc:
                if not _denied(exc):
                    raise
                refused = exc
            try:
                _ = repo.raw_data  # a lazy repository: this reads it
            except GithubException as exc:
                if _denied(exc):
                    return Absence.REPO_INACCESSIBLE
                raise
            if refused.status == 404:
                return Absence.PULL_MISSING
            raise refused

    def _installation_of(self, repo: str) -> int | None:
        """The App's installation covering ``repo`` (asked with the App's JWT), None when there is none."""
        assert self._app is not None
        owner, _, name = repo.partition("/")
        with github_errors(f"finding the installation for {repo}"):
            try:
                return self._app.get_repo_installation(owner, name).id
            except UnknownObjectException:
                return None

    def set_status(self, ref: PullRef, sha: str, context: str, report: StatusReport) -> None:
        kwargs: dict[str, str] = {"state": str(report.state), "description": report.description, "context": context}
        if report.target_url:
            kwargs["target_url"] = report.target_url
        self._spend(ref)
        with self._repo(ref, f"setting status on {ref.repo}@{sha[:7]}") as repo:
            repo.get_commit(sha).create_status(**kwargs)

    def read_file(self, ref: PullRef, path: str, sha: str) -> str | None:
        with self._repo(ref, f"reading {path} at {sha[:7]}") as repo:
            try:
                content = repo.get_contents(path, ref=sha)
            except UnknownObjectException:
                return None
            if isinstance(content, list):
                raise PermanentError(f"{path} is a directory, not a file")
            return content.decoded_content.decode("utf-8", errors="replace")

    def read_templates(self, ref: PullRef, directory: str, sha: str) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._repo(ref, f"reading templates in {directory} at {sha[:7]}") as repo:
            try:
                listing = repo.get_contents(directory.rstrip("/"), ref=sha)
            except UnknownObjectException:
                return found
            entries = listing if isinstance(listing, list) else [listing]
            files = [e for e in entries if e.type == "file" and e.name.endswith(TEMPLATE_SUFFIX)]
            if len(files) > MAX_REPO_TEMPLATES:
                raise PermanentError(f"{directory}: more than {MAX_REPO_TEMPLATES} templates")
            for entry in files:
                if entry.size > MAX_TEMPLATE_BYTES:
                    raise PermanentError(f"{entry.path}: larger than {MAX_TEMPLATE_BYTES // 1024} KiB")
                content = repo.get_contents(entry.path, ref=sha)
                if not isinstance(content, list):
                    found[entry.name] = content.decoded_content.decode("utf-8", errors="replace")
        return found

    def create_deployment(self, ref: PullRef, sha: str, environment: str, description: str) -> int:
        self._spend(ref)
        with self._repo(ref, f"creating a deployment of {ref.repo}@{sha[:7]}") as repo:
            deployment = repo.create_deployment(
                ref=sha,
                environment=environment,
                description=description,
                transient_environment=True,
                production_environment=False,
                auto_merge=False,
                required_contexts=[],
            )
            return deployment.id

    def set_deployment_status(
        self, ref: PullRef, deployment_id: int, state: str, description: str, environment_url: str | None
    ) -> None:
        kwargs: dict[str, Any] = {"description": description}
        if environment_url:
            kwargs["environment_url"] = environment_url
        self._spend(ref)
        with self._repo(ref, f"updating deployment {deployment_id} of {ref.repo}") as repo:
            repo.get_deployment(deployment_id).create_status(state, **kwargs)

    def find_comment(self, ref: PullRef, marker: str) -> int | None:
        with self._repo(ref, f"listing comments of {ref}") as repo:
            for comment in repo.get_issue(ref.number).get_comments():
                if marker in (comment.body or ""):
                    return comment.id
        return None

    def write_comment(self, ref: PullRef, comment_id: int | None, body: str) -> int:
        self._spend(ref)
        with self._repo(ref, f"writing the comment on {ref}") as repo:
            if comment_id is not None:
                url = f"{repo.url}/issues/comments/{comment_id}"
                try:
                    IssueComment(repo.requester, url=url).edit(body)
                    return comment_id
                except UnknownObjectException:
                    pass  # deleted by someone: write a new one
            return repo.get_issue(ref.number).create_comment(body).id

    def permission(self, ref: PullRef, login: str) -> str:
        with self._repo(ref, f"reading {login}'s permission on {ref.repo}") as repo:
            try:
                return repo.get_collaborator_permission(login)
            except UnknownObjectException:
                return "none"

    def react(self, ref: PullRef, comment_id: int, content: str) -> None:
        self._spend(ref)
        with self._repo(ref, f"reacting to comment {comment_id}") as repo:
            IssueComment(repo.requester, url=f"{repo.url}/issues/comments/{comment_id}").create_reaction(content)

    def check_results(self, ref: PullRef, sha: str, exclude_context: str) -> dict[str, str]:
        results: dict[str, str] = {}
        with self._repo(ref, f"reading checks of {ref.repo}@{sha[:7]}") as repo:
            commit = repo.get_commit(sha)
            for run in sorted(commit.get_check_runs(), key=lambda r: r.id):
                results[run.name] = _check_verdict(run.status, run.conclusion)
            for status in commit.get_combined_status().statuses:
                if status.context != exclude_context:
                    results[status.context] = STATUS_VERDICT.get(status.state, "pending")
        return results


def _denied(exc: GithubException) -> bool:
    """GitHub will not show this to previewbot: a 404, or a 403 that is not a rate limit."""
    if exc.status == 404:
        return True
    if exc.status != 403:
        return False
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    message = exc.data.get("message") if isinstance(exc.data, dict) else None
    limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    return not limited and "rate limit" not in str(message or "").lower()


#: Commit status state → verdict for check gating.
STATUS_VERDICT = {"success": "success", "failure": "failure", "error": "failure", "pending": "pending"}
_PASSING = frozenset({"success", "neutral", "skipped"})


def _check_verdict(status: str | None, conclusion: str | None) -> str:
    """``success``, ``failure`` or ``pending`` for one check run."""
    if status != "completed":
        return "pending"
    return "success" if conclusion in _PASSING else "failure"
