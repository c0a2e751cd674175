"""``X-Hub-Signature-256`` verification against one or more secrets (for rotation)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub sends for ``body`` signed with ``secret``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True if ``header`` is a valid signature of ``body`` under any of ``secrets``.

    Every secret is checked with a constant-time comparison, so timing reveals neither
    the signature nor which secret matched.
    """
    if not header or not header.startswith(PREFIX):
        return False
    given = header.encode()
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(sign(body, secret).encode(), given)
    return ok
