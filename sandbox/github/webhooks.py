"""Signed webhook delivery over HTTP, the way github.com's Hookshot does it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from .payloads import HOOK_ID

USER_AGENT = "GitHub-Hookshot/7d3c1f2"
TIMEOUT = 10.0


@dataclass
class Delivery:
    """One webhook delivery and the receiver's answer (``status_code`` 0 when unreachable)."""

    id: str
    event: str
    status_code: int
    response_body: str
    payload: dict[str, Any]
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)
    redelivery: bool = False


def sign(secret: str, body: bytes) -> tuple[str, str]:
    """``X-Hub-Signature-256`` and ``X-Hub-Signature`` header values."""
    key = secret.encode()
    return (
        "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
    )


def build_headers(event: str, delivery_id: str, secret: str, body: bytes, app_id: int) -> dict[str, str]:
    """Headers GitHub sends with a delivery."""
    sha256, sha1 = sign(secret, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": str(HOOK_ID),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
    }
    if secret:
        headers["X-Hub-Signature"] = sha1
        headers["X-Hub-Signature-256"] = sha256
    return headers


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """Send one delivery; (0, error text) when the receiver cannot be reached."""
    try:
        resp = requests.post(url, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return 0, str(exc)
    return resp.status_code, resp.text


class Deliverer:
    """Sends deliveries and keeps their log for redelivery."""

    def __init__(self, app_id: int) -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._log: list[Delivery] = []

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._log)

    def deliver(self, url: str, secret: str, event: str, payload: dict[str, Any],
                delivery_id: str | None = None) -> Delivery:
        """POST ``payload`` to ``url`` signed with ``secret``."""
        delivery_id = delivery_id or str(uuid.uuid4())
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = build_headers(event, delivery_id, secret, body, self.app_id)
        status, text = post(url, headers, body)
        delivery = Delivery(delivery_id, event, status, text, payload, url, headers, body)
        with self._lock:
            self._log.append(delivery)
        return delivery

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send an earlier delivery again with the same id, headers and body."""
        with self._lock:
            original = next((d for d in reversed(self._log) if d.id == delivery_id), None)
        if original is None:
            raise KeyError(f"unknown delivery {delivery_id}")
        status, text = post(original.url, original.headers, original.body)
        again = Delivery(original.id, original.event, status, text, original.payload, original.url,
                         original.headers, original.body, redelivery=True)
        with self._lock:
            self._log.append(again)
        return again
