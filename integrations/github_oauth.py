"""GitHub's OAuth web flow for dashboard users, and the two reads made with a user's token.

The authorize and token endpoints live on GitHub's web host (``github.com``, or the Enterprise host),
the reads on the REST API. Works with a GitHub App's client id and secret (user tokens limited to what
both the App and the user may do) and with an OAuth App's.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import requests

from integrations.github_transport import USER_AGENT
from preview.ports import PermanentError, TemporaryError

TIMEOUT = 10.0


class OAuthError(PermanentError):
    """GitHub refused the exchange; ``code`` is GitHub's ``error`` (e.g. ``bad_verification_code``)."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"GitHub sign-in failed: {code}" + (f" ({description})" if description else ""))
        self.code = code


class GitHubOAuth:
    """One OAuth client (``client_id``/``client_secret``) against ``web_url`` and ``api_url``."""

    def __init__(
        self,
        web_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        session: requests.Session | None = None,
    ) -> None:
        self._web = web_url.rstrip("/")
        self._api = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = session or requests.Session()
        self._http.headers["User-Agent"] = USER_AGENT

    def __repr__(self) -> str:
        return f"GitHubOAuth(web_url={self._web!r})"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the browser: GitHub asks the user, then redirects to ``redirect_uri`` with a code."""
        query = {"client_id": self._client_id, "redirect_uri": redirect_uri, "state": state, "allow_signup": "false"}
        return f"{self._web}/login/oauth/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The user's access token for ``code``; :class:`OAuthError` when GitHub refuses it."""
        data = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        answer = self._call("POST", f"{self._web}/login/oauth/access_token", "exchanging the sign-in code", data=data)
        if not isinstance(answer, dict):
            raise OAuthError("unexpected_answer")
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            error, why = answer.get("error"), str(answer.get("error_description") or "")
            raise OAuthError(error if isinstance(error, str) else "no_token", why)
        return token

    def login(self, token: str) -> str:
        """The login of the user ``token`` belongs to."""
        answer = self._call("GET", f"{self._api}/user", "reading the signed-in user", token=token)
        login = answer.get("login") if isinstance(answer, dict) else None
        if not isinstance(login, str) or not login:
            raise PermanentError("GitHub reading the signed-in user: no login in the answer")
        return login

    def can_read(self, token: str, repo: str) -> bool:
        """Whether the user of ``token`` may read ``repo`` (GitHub answers 404 when they may not)."""
        url = f"{self._api}/repos/{quote(repo, safe='/')}"
        answer = self._call("GET", url, f"reading {repo} as the user", token=token, missing_ok=True)
        if not isinstance(answer, dict):
            return False
        permissions = answer.get("permissions")
        return bool(permissions.get("pull", True)) if isinstance(permissions, dict) else True

    def _call(
        self, method: str, url: str, what: str, *, token: str | None = None, missing_ok: bool = False, **kwargs: object
    ) -> object:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
            headers["Accept"] = "application/vnd.github+json"
        try:
            response = self._http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise TemporaryError(f"GitHub {what}: {type(exc).__name__}") from None
        limited = "Retry-After" in response.headers or response.headers.get("X-RateLimit-Remaining") == "0"
        if missing_ok and (response.status_code == 404 or (response.status_code == 403 and not limited)):
            return None  # hidden from this user (a 403 without a rate limit: e.g. an organization's SSO)
        if response.status_code >= 500 or response.status_code == 429 or (response.status_code == 403 and limited):
            raise TemporaryError(f"GitHub {what}: {response.status_code}")
        if response.status_code == 401:
            raise OAuthError("bad_credentials")
        if response.status_code >= 400:
            raise PermanentError(f"GitHub {what}: {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise TemporaryError(f"GitHub {what}: the answer is not JSON") from None
