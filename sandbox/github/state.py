"""In-memory model of the emulated GitHub: repositories, pull requests and what clients wrote."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .util import IdSource, now, random_sha


@dataclass
class User:
    login: str
    id: int
    type: str = "User"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str = ""
    default: bool = False


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool
    created_at: float
    fork: bool = False
    branches: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    files: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Pull:
    id: int
    repo: str
    number: int
    title: str
    body: str | None
    author: str
    head_sha: str
    head_ref: str
    head_repo: str
    base_ref: str
    base_sha: str
    draft: bool
    created_at: float
    updated_at: float
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    merged: bool = False
    merged_at: float | None = None
    closed_at: float | None = None
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    commits: int = 1
    issue_comments: int = 0


@dataclass
class Status:
    id: int
    repo: str
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: float


@dataclass
class CheckSuite:
    id: int
    repo: str
    head_sha: str
    head_branch: str | None
    app_id: int
    created_at: float
    updated_at: float


@dataclass
class CheckRun:
    id: int
    repo: str
    suite_id: int
    app_id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: float | None
    completed_at: float | None
    external_id: str | None = None
    details_url: str | None = None
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    id: int
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    description: str | None
    payload: Any
    transient: bool
    production: bool
    creator: str
    created_at: float
    updated_at: float
    via_app: bool = False
    status_ids: list[int] = field(default_factory=list)


@dataclass
class DeploymentStatus:
    id: int
    repo: str
    deployment_id: int
    state: str
    description: str
    environment: str
    environment_url: str
    log_url: str
    target_url: str
    creator: str
    created_at: float
    via_app: bool = False


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    body: str
    user: str
    created_at: float
    updated_at: float
    via_app: bool = False


@dataclass
class Reaction:
    id: int
    comment_id: int
    user: str
    content: str
    created_at: float


@dataclass
class Installation:
    id: int
    account: str
    repos: list[str]
    created_at: float


@dataclass
class Token:
    token: str
    login: str
    installation_id: int | None = None
    expires_at: float | None = None
    repos: list[str] | None = None
    user: bool = False  # a user's OAuth token (``gho_``): reaches what its user may read
    scopes: str = ""

    def expired(self) -> bool:
        return self.expires_at is not None and now() >= self.expires_at


@dataclass
class OAuthApp:
    """An OAuth client (an OAuth App, or a GitHub App's client id and secret)."""

    client_id: str
    client_secret: str
    callback_url: str | None = None
    name: str = "previewbot"


@dataclass
class OAuthCode:
    """A code handed to a browser by the authorize step; one exchange within ten minutes."""

    code: str
    client_id: str
    login: str
    redirect_uri: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    count: int
    retry_after: int | None


class State:
    """All emulated data behind one re-entrant lock (``with state.lock:``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ids = IdSource()
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.statuses: list[Status] = []
        self.check_suites: dict[int, CheckSuite] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.deployments: dict[int, Deployment] = {}
        self.deployment_statuses: dict[int, DeploymentStatus] = {}
        self.comments: dict[int, Comment] = {}
        self.reactions: list[Reaction] = []
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int]] = []
        self.request_times: list[tuple[float, float]] = []  # (arrival, answer) of each entry of ``requests``
        self.latency = 0.0
        self.rate_used: dict[str, tuple[int, float]] = {}
        self.rate_limit = 5000  # core requests per credential per hour (GitHub Enterprise Cloud: 15,000)
        self.oauth_apps: dict[str, OAuthApp] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.oauth_user: str | None = None  # who is signed in to the emulated github.com in the browser

    # -- users and repositories -------------------------------------------------
    def user(self, login: str) -> User:
        """The user called ``login``, created on first use."""
        with self.lock:
            if login not in self.users:
                kind = "Bot" if login.endswith("[bot]") else "User"
                self.users[login] = User(login, self.ids.next("user"), kind)
            return self.users[login]

    def add_repo(self, full_name: str, default_branch: str = "main", private: bool = False) -> Repo:
        """Create (or return) a repository with a default branch at a random SHA."""
        owner, name = full_name.split("/", 1)
        with self.lock:
            if full_name not in self.repos:
                self.user(owner)
                self.repos[full_name] = Repo(
                    id=self.ids.next("repo"),
                    owner=owner,
                    name=name,
                    default_branch=default_branch,
                    private=private,
                    created_at=now(),
                    branches={default_branch: random_sha()},
                )
            return self.repos[full_name]

    def repo(self, full_name: str) -> Repo | None:
        """Repository by ``owner/name`` (case-insensitive), or None."""
        with self.lock:
            if full_name in self.repos:
                return self.repos[full_name]
            lowered = full_name.lower()
            return next((r for k, r in self.repos.items() if k.lower() == lowered), None)

    def role(self, repo: Repo, login: str) -> str:
        """Role of ``login`` on ``repo``: as set, admin for the owner, else read on public repositories."""
        with self.lock:
            if login in repo.permissions:
                return repo.permissions[login]
            if login == repo.owner:
                return "admin"
            return "none" if repo.private else "read"

    def readable_by(self, login: str) -> list[str]:
        """Repositories ``login`` may read."""
        with self.lock:
            return [name for name, repo in self.repos.items() if self.role(repo, login) != "none"]

    def installation_for(self, full_name: str) -> Installation | None:
        """The installation that covers a repository, if any."""
        with self.lock:
            return next((i for i in self.installations.values() if full_name in i.repos), None)

    def label(self, repo: Repo, name: str) -> Label:
        """The repository label ``name``, created with GitHub's default colour on first use."""
        with self.lock:
            found = next((lb for key, lb in repo.labels.items() if key.lower() == name.lower()), None)
            if found is None:
                found = Label(self.ids.next("label"), name)
                repo.labels[name] = found
            return found

    # -- refs ---------------------------------------------------------------------
    def resolve_ref(self, repo: Repo, ref: str) -> str | None:
        """SHA for a branch name, ``refs/heads/...``, PR ref or SHA; None if unknown."""
        with self.lock:
            ref = ref.removeprefix("refs/heads/")
            if ref in repo.branches:
                return repo.branches[ref]
            for pull in self.pulls.values():
                if pull.repo == repo.full_name and ref in (pull.head_ref, f"pull/{pull.number}/head"):
                    return pull.head_sha
            if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref.lower()):
                return ref if len(ref) == 40 else self._expand_sha(repo, ref)
            return None

    def _expand_sha(self, repo: Repo, prefix: str) -> str | None:
        known = set(repo.branches.values())
        known |= {p.head_sha for p in self.pulls.values() if p.repo == repo.full_name}
        return next((s for s in known if s.startswith(prefix.lower())), None)

    def ref_aliases(self, repo: Repo, ref: str) -> list[str]:
        """``ref`` plus the branch names or SHA that point at the same commit."""
        with self.lock:
            sha = self.resolve_ref(repo, ref)
            names = [ref]
            if sha:
                names.append(sha)
                names += [b for b, s in repo.branches.items() if s == sha]
                names += [
                    p.head_ref for p in self.pulls.values() if p.repo == repo.full_name and p.head_sha == sha
                ]
            return list(dict.fromkeys(names))

    # -- pulls ----------------------------------------------------------------------
    def pulls_of(self, full_name: str) -> list[Pull]:
        """Pull requests of a repository, oldest first."""
        with self.lock:
            return sorted((p for p in self.pulls.values() if p.repo == full_name), key=lambda p: p.number)

    def next_number(self, full_name: str) -> int:
        """The next free issue/PR number of a repository."""
        with self.lock:
            return max((p.number for p in self.pulls_of(full_name)), default=0) + 1

    # -- statuses ------------------------------------------------------------------------
    def statuses_for(self, full_name: str, sha: str) -> list[Status]:
        """Statuses for a commit, newest first."""
        with self.lock:
            found = [s for s in self.statuses if s.repo == full_name and s.sha == sha]
            return sorted(found, key=lambda s: (s.created_at, s.id), reverse=True)

    def latest_statuses(self, full_name: str, sha: str) -> list[Status]:
        """The newest status per context (case-insensitive), newest first."""
        seen: dict[str, Status] = {}
        for status in self.statuses_for(full_name, sha):
            seen.setdefault(status.context.lower(), status)
        return list(seen.values())

    # -- deployments ----------------------------------------------------------------------
    def deployment_state(self, deployment: Deployment) -> str | None:
        """State of the newest status of a deployment."""
        with self.lock:
            if not deployment.status_ids:
                return None
            return self.deployment_statuses[deployment.status_ids[-1]].state
