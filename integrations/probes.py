"""Readiness probes of the services previewbot needs: cheap calls that spend no quota.

Each probe returns None when the service answered and a short reason (never a secret) when it did not.
They use clients of their own, so a probe in a Celery worker's main process never shares a connection
with the pool processes it forks.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from integrations.github_transport import USER_AGENT
from preview.ports import PermanentError
from preview.settings import Settings

Probe = Callable[[], str | None]


def kubernetes(settings: Settings, timeout: float = 2.0) -> Probe:
    """``GET /version`` (every authenticated user may read it: ``system:discovery``); needs no RBAC rule."""
    from integrations.kube import KubeCluster

    api: client.ApiClient | None = None

    def probe() -> str | None:
        nonlocal api
        try:
            if api is None:
                api = KubeCluster.from_settings(settings).api
            client.VersionApi(api).get_code(_request_timeout=timeout)
        except PermanentError as exc:
            return str(exc)
        except ApiException as exc:
            return f"GET /version answered {exc.status}"
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return f"unreachable ({type(exc).__name__})"
        return None

    return probe


def github(settings: Settings, timeout: float = 2.0) -> Probe:
    """``GET /rate_limit`` (it costs no quota) with previewbot's token, or its App's JWT; any answer below 500."""
    url = f"{settings.github_api_url}/rate_limit"
    authorization: Callable[[], str] | None = None
    if settings.github_token is not None:
        token = settings.github_token.value
        authorization = lambda: f"token {token}"  # noqa: E731
    elif settings.github_app_id is not None and settings.github_private_key is not None:
        from integrations.github_auth import InstallationTokens

        tokens = InstallationTokens(settings.github_app_id, settings.github_private_key.value, settings.github_api_url)
        authorization = lambda: f"Bearer {tokens.app_jwt()}"  # noqa: E731

    def probe() -> str | None:
        headers = {"Accept": "application/vnd.github+json", "User-Agent": USER_AGENT}
        if authorization is not None:
            headers["Authorization"] = authorization()
        try:
            status = requests.get(url, headers=headers, timeout=timeout, allow_redirects=False).status_code
        except requests.RequestException as exc:
            return f"unreachable ({type(exc).__name__})"
        return None if status < 500 else f"GET /rate_limit answered {status}"

    return probe
