"""Frozen value objects shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PullRef:
    """Identifies one pull request: ``owner/name`` and number."""

    repo: str
    number: int
    installation_id: int | None = None

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True, slots=True)
class PullRequest:
    """The truth about a pull request, as read from GitHub."""

    ref: PullRef
    head_sha: str
    head_ref: str
    base_ref: str
    state: str  # "open" | "closed"
    merged: bool = False
    draft: bool = False
    title: str = ""
    author: str = ""
    labels: tuple[str, ...] = ()
    fork: bool = False

    @property
    def is_open(self) -> bool:
        return self.state == "open"


class CommandKind(StrEnum):
    """What a webhook asks the workers to do."""

    SYNC = "sync"
    TEARDOWN = "teardown"
    COMMAND = "command"  # a /preview comment
    CHECKS = "checks"  # a check or status finished on a commit; number unknown
    PURGE = "purge"  # the App lost access to repositories; ``repo`` holds their comma-separated names
    SWITCH = "switch"  # blue-green: the applied commit is ready; switch the Services to it
    SLEEP = "sleep"  # the idle sweep: settle one preview's sleep under the PR's lock
    WAKE = "wake"  # scale a sleeping preview back up (the dashboard's button, a wake link)


@dataclass(frozen=True, slots=True)
class Command:
    """A slim, queueable hint derived from a webhook: never the payload itself."""

    kind: CommandKind
    repo: str
    number: int
    installation_id: int | None
    sha: str | None
    delivery_id: str
    event: str = ""
    action: str = ""
    comment_id: int | None = None
    author: str = ""
    text: str = ""
    created_at: str = ""  # a command comment's creation time (ISO-8601 UTC), as GitHub set it

    def as_message(self) -> dict[str, object]:
        """Plain JSON-safe arguments for a task."""
        message: dict[str, object] = {
            "repo": self.repo,
            "number": self.number,
            "installation_id": self.installation_id,
            "sha": self.sha,
            "delivery_id": self.delivery_id,
        }
        if self.kind is CommandKind.COMMAND:
            message.update(comment_id=self.comment_id, author=self.author, text=self.text, created_at=self.created_at)
        return message


@dataclass(frozen=True, slots=True)
class Ignored:
    """A webhook that needs no work, with the reason it was ignored."""

    reason: str


class State(StrEnum):
    """Commit status states GitHub knows."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One commit status as GitHub would show it."""

    state: State
    description: str
    target_url: str | None = None

    def fingerprint(self) -> str:
        """Stable text used to tell whether a report differs from the last one."""
        return f"{self.state}\x1f{self.description}\x1f{self.target_url or ''}"


@dataclass(frozen=True, slots=True)
class RolloutState:
    """Where a preview's rollout stands for the SHA its pods run."""

    repo: str
    number: int
    sha: str
    report: StatusReport
    installation_id: int | None = None


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    """What previewbot keeps on a preview namespace."""

    name: str
    phase: str = "Active"
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    deleting_since: str | None = None  # metadata.deletionTimestamp
    blockers: tuple[str, ...] = ()  # while terminating: the conditions and finalizers that hold it

    @property
    def terminating(self) -> bool:
        return self.phase == "Terminating"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Enough to find one Kubernetes object again."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def key(self) -> str:
        return f"{self.api_version}/{self.kind}/{self.namespace or ''}/{self.name}"

    @classmethod
    def parse(cls, key: str) -> ObjectRef:
        *api, kind, namespace, name = key.split("/")
        return cls("/".join(api), kind, name, namespace or None)

    @classmethod
    def of(cls, manifest: dict) -> ObjectRef:
        meta = manifest.get("metadata", {})
        return cls(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))
