"""What :class:`preview.lifecycle.Lifecycle` is built from: its ports and settings, the flags it keeps
between events, what its calls return (:class:`Outcome`), and the UTC timestamps it writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from preview.models import PullRef
from preview.ports import ClusterPort, GitHubPort, Renderer, ReportLedger
from preview.repo_config import RepoConfig, load_json
from preview.reporting import Reporter
from preview.settings import Settings
from preview.slots import Slots


class Outcome(StrEnum):
    """What a lifecycle call did, for logs and tests."""

    DEPLOYED = "deployed"
    UP_TO_DATE = "up-to-date"
    WAITING = "waiting"
    FAILED = "failed"
    TORN_DOWN = "torn-down"
    ABSENT = "absent"
    QUEUED = "queued"  # a new preview waits for a slot (PREVIEWBOT_MAX_PREVIEWS…)


ISO = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ISO)


@dataclass
class LifecycleBase:
    """The ports and settings of a lifecycle, and the flags it keeps between events (in the ledger)."""

    github: GitHubPort
    cluster: ClusterPort
    renderer: Renderer
    reporter: Reporter
    settings: Settings
    clock: Callable[[], datetime] = now
    #: Turns the text of ``.preview.yml`` (None when absent) into a config; raises ConfigError.
    load_config: Callable[[str | None], RepoConfig] = load_json
    #: Fair limits on live previews (preview/slots.py); None: no limits.
    slots: Slots | None = None

    @property
    def memory(self) -> ReportLedger:
        return self.reporter.ledger

    @staticmethod
    def _flag(kind: str, ref: PullRef) -> str:
        return f"{kind}:{ref.repo}#{ref.number}"

    @staticmethod
    def _log_extra(ref: PullRef, sha: str | None) -> dict[str, object]:
        return {"repo": ref.repo, "pr": ref.number, "sha": sha}
