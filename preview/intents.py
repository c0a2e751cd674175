"""What previewbot wants GitHub to show for one commit, kept until it is shown.

An :class:`Intent` is the newest wanted state of one (PR, commit): written to an outbox before
any GitHub call, removed once every write it needs has been made. A write that fails (GitHub
down, write budget spent) leaves it there for the next drain; a newer intent for the same key
replaces it, so intermediate states are skipped rather than queued.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Protocol

from preview.models import PullRef, State, StatusReport


class Op(StrEnum):
    """How an intent is applied."""

    DECIDE = "decide"  # the lifecycle decided this commit's state (may restart a finished commit)
    OBSERVE = "observe"  # the watcher saw this state (never moves a finished commit back to pending)
    RESOLVE = "resolve"  # end a pending status that no longer has a rollout behind it
    REMOVED = "removed"  # the preview of this commit was torn down


@dataclass(frozen=True, slots=True)
class Intent:
    """The newest wanted GitHub state of one commit of one PR."""

    op: Op
    repo: str
    number: int
    sha: str
    state: State
    description: str
    url: str | None = None
    installation_id: int | None = None
    hold: bool = False
    at: float = field(default=0.0, compare=False)

    @property
    def ref(self) -> PullRef:
        return PullRef(self.repo, self.number, self.installation_id)

    @property
    def report(self) -> StatusReport:
        return StatusReport(self.state, self.description, self.url)

    @property
    def key(self) -> str:
        return f"{self.repo}#{self.number}@{self.sha}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Intent:
        data = json.loads(text)
        data["op"], data["state"] = Op(data["op"]), State(data["state"])
        return cls(**data)

    @classmethod
    def of(cls, op: Op, ref: PullRef, sha: str, report: StatusReport, at: float, *, hold: bool = False) -> Intent:
        return cls(
            op, ref.repo, ref.number, sha, report.state, report.description, report.target_url,
            ref.installation_id, hold, at,
        )  # fmt: skip


class Outbox(Protocol):
    """Durable intents, one per key (the newest wins)."""

    def put(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...

    def done(self, key: str, value: str) -> bool:
        """Remove ``key`` only if it still holds ``value``; False if a newer intent replaced it."""
        ...

    def items(self, limit: int) -> list[tuple[str, str]]: ...

    def claim(self, key: str, seconds: float) -> bool:
        """Take ``key`` for one writer for at most ``seconds``; False if another writer has it."""
        ...

    def release(self, key: str) -> None: ...


class PendingIndex(Protocol):
    """Commits previewbot marked ``pending`` (with a rollout behind them) and since when."""

    def mark(self, member: str, since: float) -> None:
        """Remember ``member`` unless it is already there (keeps the first time)."""
        ...

    def clear(self, member: str) -> None: ...

    def older_than(self, moment: float, limit: int) -> list[str]: ...

    def touch(self, member: str, moment: float) -> None:
        """Move an entry's time forward (it was just looked at)."""
        ...


class MemoryOutbox:
    """In-process :class:`Outbox` and :class:`PendingIndex`, for tests and one-shot tools."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.pending: dict[str, float] = {}
        self.claimed: set[str] = set()

    def put(self, key: str, value: str) -> None:
        self.entries[key] = value

    def get(self, key: str) -> str | None:
        return self.entries.get(key)

    def done(self, key: str, value: str) -> bool:
        if self.entries.get(key) != value:
            return False
        del self.entries[key]
        return True

    def items(self, limit: int) -> list[tuple[str, str]]:
        return list(self.entries.items())[:limit]

    def claim(self, key: str, seconds: float) -> bool:
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def release(self, key: str) -> None:
        self.claimed.discard(key)

    def mark(self, member: str, since: float) -> None:
        self.pending.setdefault(member, since)

    def clear(self, member: str) -> None:
        self.pending.pop(member, None)

    def older_than(self, moment: float, limit: int) -> list[str]:
        return [m for m, t in sorted(self.pending.items(), key=lambda kv: kv[1]) if t <= moment][:limit]

    def touch(self, member: str, moment: float) -> None:
        if member in self.pending:
            self.pending[member] = moment
