"""GitHub App authentication: an RS256 app JWT and cached, self-renewing installation tokens."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, GithubIntegration, UnknownObjectException

from integrations.github_transport import connection_options, github_errors
from preview.ports import PermanentError

log = logging.getLogger(__name__)

JWT_BACKDATE = 60  # tolerate a clock slightly ahead of GitHub's
JWT_LIFETIME = 540  # GitHub accepts at most 10 minutes


@dataclass(frozen=True, slots=True, repr=False)
class _Token:
    value: str
    expires_at: float


def _load_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PermanentError("GitHub App private key: expected an unencrypted PEM RSA private key")
    return key


class InstallationTokens:
    """Installation access tokens of one GitHub App, per installation, cached and renewed ahead of expiry.

    Thread-safe: one lock per installation, so at most one token request per installation is in flight.
    """

    def __init__(
        self,
        app_id: int,
        private_key_pem: str,
        base_url: str,
        *,
        renew_before: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self._key = _load_key(private_key_pem)
        self._renew_before = renew_before
        self._clock = clock
        # PyGithub builds its own claims with time.time(); sign ours instead (injected clock, fixed lifetime).
        auth = Auth.AppAuth(app_id, sign_func=lambda _claims: self.app_jwt())
        self._integration = GithubIntegration(auth=auth, base_url=base_url.rstrip("/"), **connection_options())
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._tokens: dict[int, _Token] = {}
        self._repos: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"InstallationTokens(app_id={self.app_id}, installations={len(self._tokens)})"

    def app_jwt(self) -> str:
        """A fresh RS256 JWT that authenticates as the App itself."""
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(self.app_id)}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def token(self, installation_id: int) -> str:
        """The installation's token, fetched only when missing or expiring within ``renew_before`` seconds."""
        with self._lock_for(installation_id):
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.expires_at - self._clock() > self._renew_before:
                return cached.value
            with github_errors(f"creating an access token for installation {installation_id}"):
                answer = self._integration.get_access_token(installation_id)
                fresh = _Token(answer.token, answer.expires_at.timestamp())
            self._tokens[installation_id] = fresh
            log.info(
                "github: new token for installation %s, expires in %.0fs",
                installation_id,
                fresh.expires_at - self._clock(),
            )
            return fresh.value

    def invalidate(self, installation_id: int) -> None:
        """Forget the installation's token (e.g. GitHub rejected it); the next call fetches a new one."""
        with self._lock_for(installation_id):
            self._tokens.pop(installation_id, None)

    def installation_for(self, repo: str) -> int:
        """The id of the App installation covering ``owner/name``, cached per repository."""
        key = repo.lower()
        with self._guard:
            if key in self._repos:
                return self._repos[key]
        owner, _, name = repo.partition("/")
        with github_errors(f"finding the installation for {repo}"):
            try:
                installation_id = self._integration.get_repo_installation(owner, name).id
            except UnknownObjectException:
                raise PermanentError(f"previewbot is not installed on {repo}") from None
        with self._guard:
            self._repos[key] = installation_id
        return installation_id

    def _lock_for(self, installation_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(installation_id, threading.Lock())
