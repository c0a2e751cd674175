"""Authentication: the static admin token, ServiceAccount tokens and anonymous requests."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass

from .errors import ApiError
from .resources import BY_KEY
from .store import Store

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class UserInfo:
    """Who sent a request: user name and groups, as authorizers see them."""

    name: str
    groups: tuple[str, ...] = ()


ADMIN = UserInfo("kubernetes-admin", (MASTERS, AUTHENTICATED))
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The user a ServiceAccount's token authenticates as."""
    return UserInfo(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
    )


def unauthorized() -> ApiError:
    """401 as kube-apiserver answers a token it does not accept."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class _Bound:
    namespace: str
    name: str
    uid: str | None


class Authenticator:
    """Maps bearer tokens to users; ServiceAccount tokens stay valid while their ServiceAccount exists.

    A request without a bearer token is served as the admin when ``anonymous_as_admin`` (the emulator's
    convenience for curl and plain HTTP clients), else as ``system:anonymous`` like a real cluster.
    """

    def __init__(self, store: Store, admin_token: str, anonymous_as_admin: bool = True) -> None:
        self.store = store
        self.admin_token = admin_token
        self.anonymous = ADMIN if anonymous_as_admin else ANONYMOUS
        self._tokens: dict[str, _Bound] = {}
        self._lock = threading.Lock()

    def _service_account(self, namespace: str, name: str) -> dict | None:
        with self.store.lock:
            return self.store.peek(BY_KEY["serviceaccounts"], namespace, name)

    def service_account_token(self, namespace: str, name: str) -> str:
        """A new token for ServiceAccount ``namespace/name`` (shaped like a bound ServiceAccount token)."""
        account = self._service_account(namespace, name)
        uid = account["metadata"]["uid"] if account else None
        claims = {
            "aud": [ISSUER],
            "iss": ISSUER,
            "sub": service_account_user(namespace, name).name,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid or ""}},
        }
        token = ".".join((_b64({"alg": "RS256", "typ": "JWT"}), _b64(claims), secrets.token_urlsafe(32)))
        with self._lock:
            self._tokens[token] = _Bound(namespace, name, uid)
        return token

    def authenticate(self, authorization: str) -> UserInfo:
        """The user behind an ``Authorization`` header: :attr:`anonymous` without a bearer token, 401 for a bad one."""
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.anonymous
        if secrets.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        with self._lock:
            bound = self._tokens.get(token)
        if bound is None:
            raise unauthorized()
        account = self._service_account(bound.namespace, bound.name)
        meta = account["metadata"] if account else {}
        if account is None or meta.get("deletionTimestamp") or bound.uid not in (None, meta["uid"]):
            raise unauthorized()
        return service_account_user(bound.namespace, bound.name)
