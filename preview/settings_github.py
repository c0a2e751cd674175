"""GitHub settings: webhook secrets, a token or App credentials, API and web URLs, dashboard sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlparse

from preview.settings_values import Secret, SettingsError, parse_int, parse_url


def credentials(env: Mapping[str, str], get: Callable[[str], str]) -> dict[str, object]:
    """Webhook secrets, the token or App id and private key, and GitHub's API and web URLs."""
    out: dict[str, object] = {}
    if secrets := get("GITHUB_WEBHOOK_SECRET"):
        out["webhook_secrets"] = tuple(Secret(s.strip()) for s in secrets.split(",") if s.strip())
    if token := get("GITHUB_TOKEN"):
        out["github_token"] = Secret(token)
    if app_id := get("GITHUB_APP_ID"):
        out["github_app_id"] = parse_int("PREVIEWBOT_GITHUB_APP_ID", app_id)
    key = _private_key(env)
    if key is not None:
        if "github_app_id" not in out:
            raise SettingsError("PREVIEWBOT_GITHUB_APP_ID: required when a private key is set")
        out["github_private_key"] = key
    elif "github_app_id" in out:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY: required when PREVIEWBOT_GITHUB_APP_ID is set")
    if url := get("GITHUB_API_URL"):
        out["github_api_url"] = parse_url("PREVIEWBOT_GITHUB_API_URL", url, ("http", "https"))
    if url := get("GITHUB_WEB_URL"):
        out["github_web_url"] = parse_url("PREVIEWBOT_GITHUB_WEB_URL", url, ("http", "https"))
    elif "github_api_url" in out:
        out["github_web_url"] = _web_url(str(out["github_api_url"]))
    return out


def _private_key(env: Mapping[str, str]) -> Secret | None:
    text = env.get("PREVIEWBOT_GITHUB_PRIVATE_KEY", "").strip()
    path = env.get("PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE", "").strip()
    if text and path:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE: set either it or PREVIEWBOT_GITHUB_PRIVATE_KEY")
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise SettingsError(f"PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE: cannot read file ({exc.strerror})") from None
    if text and "PRIVATE KEY" not in text:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY: not a PEM private key")
    return Secret(text.replace("\\n", "\n")) if text else None


def _web_url(api_url: str) -> str:
    """GitHub's web host for an API base: github.com for api.github.com, ``https://HOST`` for ``…/api/v3``."""
    if urlparse(api_url).netloc.lower() == "api.github.com":
        return "https://github.com"
    return api_url.removesuffix("/api/v3")


def dashboard(get: Callable[[str], str]) -> dict[str, object]:
    """The dashboard's sign-in settings: GitHub OAuth or a trusted proxy's header, never both."""
    client_id, header = get("GITHUB_OAUTH_CLIENT_ID"), get("DASHBOARD_USER_HEADER")
    secret, key = get("GITHUB_OAUTH_CLIENT_SECRET"), get("DASHBOARD_SECRET_KEY")
    if client_id and header:
        raise SettingsError("PREVIEWBOT_DASHBOARD_USER_HEADER: set either it or PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID")
    if client_id and not secret:
        raise SettingsError("PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET: required with PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID")
    if header and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header):
        raise SettingsError("PREVIEWBOT_DASHBOARD_USER_HEADER: expected a header name such as X-Forwarded-User")
    if (client_id or header) and len(key) < 32:
        raise SettingsError("PREVIEWBOT_DASHBOARD_SECRET_KEY: required by the dashboard, at least 32 characters")
    out: dict[str, object] = {"github_oauth_client_id": client_id, "dashboard_user_header": header}
    if secret:
        out["github_oauth_client_secret"] = Secret(secret)
    if key:
        out["dashboard_secret_key"] = Secret(key)
    return out
