"""What the dashboard works through: Redis, the cluster and GitHub, with short caches of GitHub's answers.

Built once per web process from settings; the cluster and GitHub clients are made on first use, so
the web process starts (and answers webhooks) even while they are unreachable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError

from integrations.github_dashboard import DashboardGitHub, PullSummary
from integrations.github_oauth import GitHubOAuth
from preview.commands import WRITE_PERMISSIONS
from preview.models import PullRef
from preview.ports import PermanentError, TemporaryError
from preview.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "previewbot:dashboard"
PERMISSION_TTL = 60  # seconds a permission GitHub gave is trusted
PULLS_TTL = 120  # seconds a repository's list of open pull requests is reused
SESSION_TTL = 8 * 3600  # a signed-in user's GitHub token is kept this long (GitHub App user tokens live 8 h)


class Cluster(Protocol):
    def list_namespaces(self, label_selector: str) -> list: ...
    def read_namespace(self, name: str) -> Any: ...
    def list_objects(self, kind: str, label_selector: str) -> tuple[list[dict], str]: ...
    def list_events(self, namespace: str) -> list[dict]: ...


class Submitter(Protocol):
    def submit(self, command: Any) -> bool: ...


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in dashboard user: a GitHub login, and their token in OAuth mode."""

    login: str
    token: str | None = field(default=None, repr=False)


def _default_cluster(settings: Settings) -> Callable[[], Cluster]:
    def make() -> Cluster:
        from integrations.kube import KubeCluster

        return KubeCluster.from_settings(settings)

    return make


@dataclass
class Backend:
    """The dashboard's collaborators; clients are built lazily, once."""

    settings: Settings
    redis: Redis
    make_cluster: Callable[[], Cluster]
    make_github: Callable[[], DashboardGitHub]
    oauth: GitHubOAuth | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Backend:
        settings.require_github()
        client = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        oauth = None
        if settings.dashboard_mode == "oauth" and settings.github_oauth_client_secret is not None:
            oauth = GitHubOAuth(
                settings.github_web_url,
                settings.github_api_url,
                settings.github_oauth_client_id,
                settings.github_oauth_client_secret.value,
            )
        return cls(settings, client, _default_cluster(settings), lambda: DashboardGitHub.from_settings(settings), oauth)

    def _client(self, name: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._clients:
                self._clients[name] = make()
            return self._clients[name]

    @property
    def cluster(self) -> Cluster:
        return self._client("cluster", self.make_cluster)

    @property
    def github(self) -> DashboardGitHub:
        return self._client("github", self.make_github)

    # -- the signed-in user's token (server side; the cookie holds only a random id) -------------------

    def keep_token(self, sid: str, token: str) -> None:
        self.redis.set(f"{PREFIX}:session:{sid}", token, ex=SESSION_TTL)

    def token(self, sid: str) -> str | None:
        value = self.redis.get(f"{PREFIX}:session:{sid}")
        return value.decode() if isinstance(value, bytes) else value

    def forget_token(self, sid: str) -> None:
        self.redis.delete(f"{PREFIX}:session:{sid}")

    # -- permissions, asked of GitHub and cached briefly ----------------------------------------------

    def _cached(self, key: str, ttl: int, compute: Callable[[], str]) -> str | None:
        """``compute()``, remembered ``ttl`` seconds; None (and nothing remembered) when GitHub failed."""
        try:
            value = self.redis.get(key)
        except RedisError:
            value = None
        if value is not None:
            return value.decode() if isinstance(value, bytes) else value
        try:
            value = compute()
        except (TemporaryError, PermanentError) as exc:
            log.warning("dashboard: %s", exc)
            return None
        with contextlib.suppress(RedisError):
            self.redis.set(key, value, ex=ttl)
        return value

    def permission(self, repo: str, login: str, installation_id: int | None) -> str:
        """``login``'s permission on ``repo`` as previewbot reads it (collaborator permission); ``none`` if unknown."""
        ref = PullRef(repo, 0, installation_id)
        key = f"{PREFIX}:permission:{repo.lower()}:{login.lower()}"
        return self._cached(key, PERMISSION_TTL, lambda: self.github.permission(ref, login)) or "none"

    def can_write(self, user: User, repo: str, installation_id: int | None) -> bool:
        return self.permission(repo, user.login, installation_id) in WRITE_PERMISSIONS

    def can_read(self, user: User, repo: str, installation_id: int | None) -> bool:
        """With a user token: whether GitHub shows the user the repository; else their collaborator permission."""
        if self.oauth is not None and user.token:
            oauth, token = self.oauth, user.token
            key = f"{PREFIX}:read:{repo.lower()}:{user.login.lower()}"
            return self._cached(key, PERMISSION_TTL, lambda: "1" if oauth.can_read(token, repo) else "0") == "1"
        return self.permission(repo, user.login, installation_id) != "none"

    # -- pull request titles and authors: one listing per repository, cached ---------------------------

    def open_pulls(self, repo: str, installation_id: int | None) -> dict[int, PullSummary]:
        def listing() -> str:
            pulls = self.github.open_pulls(repo, installation_id)
            return json.dumps([[p.number, p.title, p.author] for p in pulls])

        raw = self._cached(f"{PREFIX}:pulls:{repo.lower()}", PULLS_TTL, listing)
        try:
            return {int(n): PullSummary(int(n), str(t), str(a)) for n, t, a in json.loads(raw or "[]")}
        except (ValueError, TypeError):
            return {}
