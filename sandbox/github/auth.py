"""Who is calling: personal/bot tokens, installation tokens and GitHub App JWTs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt

from . import state as st
from .util import now

JWT_MAX_LIFETIME = 600
JWT_LEEWAY = 60


class AuthError(Exception):
    """Authentication failure carrying GitHub's status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of one request."""

    kind: str  # "token" | "installation" | "app" | "user" (an OAuth user token)
    login: str
    key: str
    installation_id: int | None = None
    repos: tuple[str, ...] | None = None

    def can_see(self, full_name: str) -> bool:
        """Installation tokens only reach their installation's repositories."""
        return self.repos is None or full_name.lower() in (r.lower() for r in self.repos)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


def _looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


def verify_app_jwt(token: str, app_id: int, public_key_pem: str | None) -> None:
    """Check an App JWT as GitHub does: RS256, ``iss`` = app id, short-lived."""
    try:
        if public_key_pem:
            claims = jwt.decode(
                token,
                public_key_pem,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iat": False},
                leeway=JWT_LEEWAY,
            )
        else:
            claims = jwt.decode(token, options={"verify_signature": False, "require": ["exp", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time "
            "at which the assertion expires",
        ) from exc
    except jwt.PyJWTError as exc:
        raise AuthError(401, "A JSON web token could not be decoded") from exc
    if str(claims.get("iss")) != str(app_id):
        raise AuthError(401, "'Issuer' claim ('iss') must be an Integer")
    if float(claims["exp"]) > now() + JWT_MAX_LIFETIME + JWT_LEEWAY:
        raise AuthError(401, "'Expiration time' claim ('exp') is too far in the future")
    if float(claims["exp"]) < now():
        raise AuthError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time "
            "at which the assertion expires",
        )


def identify(
    header: str | None, state: st.State, app_id: int, app_slug: str, public_key_pem: str | None
) -> Identity:
    """Resolve the ``Authorization`` header; raise AuthError(401) when it is not valid."""
    value = _bearer(header or "")
    if value is None:
        raise AuthError(401, "Requires authentication" if not header else "Bad credentials")
    with state.lock:
        token = state.tokens.get(value)
        if token is not None:
            if token.expired():
                raise AuthError(401, "Bad credentials")
            if token.installation_id is not None:
                repos = tuple(token.repos if token.repos is not None else ())
                inst = state.installations.get(token.installation_id)
                if token.repos is None and inst is not None:
                    repos = tuple(inst.repos)
                return Identity("installation", token.login, value, token.installation_id, repos)
            if token.user:
                return Identity("user", token.login, value, None, tuple(state.readable_by(token.login)))
            return Identity("token", token.login, value)
    if _looks_like_jwt(value):
        verify_app_jwt(value, app_id, public_key_pem)
        return Identity("app", f"{app_slug}[bot]", f"app:{app_id}")
    raise AuthError(401, "Bad credentials")


def issue_installation_token(
    state: st.State, installation_id: int, login: str, ttl: float, repos: list[str] | None
) -> st.Token:
    """Mint a ``ghs_`` token for an installation."""
    token = st.Token(
        token="ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36],
        login=login,
        installation_id=installation_id,
        expires_at=now() + ttl,
        repos=repos,
    )
    with state.lock:
        state.tokens[token.token] = token
    return token
