"""The small interfaces the domain needs from GitHub, Kubernetes and a memory of reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def permission(self, ref: PullRef, login: str) -> str:
        """``admin``, ``maintain``, ``write``, ``triage``, ``read`` or ``none``, asked of GitHub."""
        ...

    def react(self, ref: PullRef, comment_id: int, content: str) -> None: ...

    def check_results(self, ref: PullRef, sha: str, exclude_context: str) -> dict[str, str]:
        """Check runs and commit statuses on ``sha`` by name: ``success``, ``failure`` or ``pending``."""
        ...

    def read_file(self, ref: PullRef, path: str, sha: str) -> str | None:
        """The text of ``path`` at commit ``sha``; None when the file does not exist."""
        ...

    def read_templates(self, ref: PullRef, directory: str, sha: str) -> dict[str, str]:
        """``*.yaml.j2`` files of ``directory`` at ``sha`` by file name (empty when none)."""
        ...

    def create_deployment(self, ref: PullRef, sha: str, environment: str, description: str) -> int:
        """Create a transient, non-production deployment of ``sha``; return its id."""
        ...

    def set_deployment_status(
        self, ref: PullRef, deployment_id: int, state: str, description: str, environment_url: str | None
    ) -> None: ...

    def find_comment(self, ref: PullRef, marker: str) -> int | None:
        """The id of the PR comment containing ``marker``, if any."""
        ...

    def write_comment(self, ref: PullRef, comment_id: int | None, body: str) -> int:
        """Edit comment ``comment_id`` (or create one when None); return its id."""
        ...


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

    def list_namespaces(self, label_selector: str) -> list[NamespaceInfo]: ...

    def list_secrets(self, namespace: str) -> list[dict]:
        """Secrets of one namespace (only called when ``PREVIEWBOT_SECRETS_NAMESPACE`` is set)."""
        ...

    def deployments_in(self, namespace: str) -> list[dict]:
        """The Deployments of one namespace, as the API returns them."""
        ...

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        """Set one Deployment's replicas (its ``scale`` subresource); a missing one is fine."""
        ...

    def patch(self, ref: ObjectRef, patch: dict) -> None:
        """Change some fields of one object with a JSON merge patch."""
        ...

    def annotate_namespace(self, name: str, annotations: Mapping[str, str | None]) -> None:
        """Set annotations of a namespace (``None`` removes one), leaving the others alone."""
        ...


class Renderer(Protocol):
    """Turns a preview's values into Kubernetes manifests."""

    def render(self, values: dict, extra: Mapping[str, str] | None = None) -> Sequence[dict]:
        """Manifests from the built-in templates plus ``extra`` (file name → template text from the repo)."""
        ...


class ReportLedger(Protocol):
    """Remembers what was last written to GitHub (statuses, deployment ids, comment ids), across restarts."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...
