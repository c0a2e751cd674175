"""Wake links: ``<PREVIEWBOT_PUBLIC_URL>/wake/<namespace>?token=<t>``, served by the web process.

The token is an HMAC-SHA256 of the namespace under a key derived from ``PREVIEWBOT_WAKE_LINK_SECRET``
(a secret of its own: worker and watcher, which make the links, never hold the webhook secret), so only
previewbot can make a link and a link wakes only its own preview. Links are signed with the first secret
and accepted under any configured one, so rotating it keeps the links already shown working while both
are configured.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from preview.settings import Settings

#: what the key is derived for: a wake-link key is useless as a webhook signature and the other way round
_PURPOSE = b"previewbot wake link v1"
TOKEN_HEX = 32  # 128 bits


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def token(secret: str, namespace: str) -> str:
    """The token of ``namespace``'s wake link under ``secret``."""
    return hmac.new(_key(secret), namespace.encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def verify(secrets: Iterable[str], namespace: str, given: str | None) -> bool:
    """Whether ``given`` is ``namespace``'s token under one of ``secrets`` (constant-time comparisons)."""
    if not given or len(given) != TOKEN_HEX:
        return False
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(token(secret, namespace).encode(), given.encode("utf-8", "replace"))
    return ok


def url(settings: Settings, namespace: str) -> str | None:
    """The wake link of ``namespace``; None without ``PREVIEWBOT_PUBLIC_URL`` and ``PREVIEWBOT_WAKE_LINK_SECRET``."""
    if not settings.public_url or not settings.wake_link_secrets:
        return None
    return f"{settings.public_url}/wake/{namespace}?token={token(settings.wake_link_secrets[0].value, namespace)}"
