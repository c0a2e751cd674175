"""The small interfaces the domain needs from GitHub, Kubernetes and a memory of reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from preview.models import NamespaceInfo, ObjectRef, PullRef, PullRequest, StatusReport


class TemporaryError(Exception):
    """Worth retrying later (5xx, 429, conflicts, a namespace still terminating)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """Retrying will not help; report it and stop."""


class GitHubPort(Protocol):
    """What the lifecycle and the watcher need from GitHub."""

    def get_pull(self, ref: PullRef) -> PullRequest: ...

    def set_status(self, ref: PullRef, sha: str, context: str, report: StatusReport) -> None: ...


class ClusterPort(Protocol):
    """What the lifecycle needs from Kubernetes."""

    def read_namespace(self, name: str) -> NamespaceInfo | None: ...

    def apply(self, manifest: dict) -> None: ...

    def delete(self, ref: ObjectRef) -> None:
        """Delete one object; a missing one is fine."""
        ...

    def delete_namespace(self, name: str) -> None:
        """Start deleting a namespace; a missing one is fine."""
        ...


class Renderer(Protocol):
    """Turns a preview's values into Kubernetes manifests."""

    def render(self, values: dict) -> Sequence[dict]: ...


class ReportLedger(Protocol):
    """Remembers the last status reported per (repo, sha, context), across restarts."""

    def last(self, repo: str, sha: str, context: str) -> str | None: ...

    def remember(self, repo: str, sha: str, context: str, fingerprint: str) -> None: ...
