"""Per-emulator context shared by the REST handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g

from . import state as st
from .auth import Identity
from .http import ApiError, fail, not_found, read_json
from .render import Renderer
from .schemas import OpenAPISchemas

APP_ONLY = "A JSON web token could not be decoded"


@dataclass
class Context:
    """Everything a handler needs: state, renderer, schemas and settings."""

    state: st.State
    render: Renderer
    schemas: OpenAPISchemas
    app_id: int
    token_ttl: float
    public_key_pem: str | None

    @property
    def base_url(self) -> str:
        return self.render.api

    @staticmethod
    def identity() -> Identity:
        return g.identity

    def require_token(self) -> Identity:
        """Reject App JWTs on endpoints that need a user or installation token."""
        ident = self.identity()
        if ident.kind == "app":
            raise fail(403, "Resource not accessible by integration")
        return ident

    def require_app(self) -> Identity:
        """Only an App JWT may call this endpoint."""
        ident = self.identity()
        if ident.kind != "app":
            raise fail(401, APP_ONLY)
        return ident

    def repo(self, owner: str, name: str, *, app_ok: bool = False) -> st.Repo:
        """The repository, or 404 when absent or outside the caller's reach."""
        ident = self.identity() if app_ok else self.require_token()
        repo = self.state.repo(f"{owner}/{name}")
        if repo is None or not ident.can_see(repo.full_name):
            raise not_found()
        return repo

    def pull(self, repo: st.Repo, number: int) -> st.Pull:
        pull = self.state.pulls.get((repo.full_name, number))
        if pull is None:
            raise not_found()
        return pull

    def body(self, operation_id: str) -> Any:
        """Parsed JSON body, validated against the operation's request schema."""
        data = read_json()
        message = self.schemas.request_error(operation_id, data)
        if message is not None:
            raise ApiError(422, {"message": message, "documentation_url": self.doc(operation_id), "status": "422"})
        return data

    @staticmethod
    def doc(operation_id: str) -> str:
        area, _, name = operation_id.partition("/")
        return f"https://docs.github.com/rest/{area}#{name}"

    def writer(self) -> tuple[str, bool]:
        """Login recorded as author of a write, and whether it came from an App."""
        ident = self.identity()
        return ident.login, ident.kind == "installation"
