"""Writes a commit status only when it differs from the last one reported for that SHA."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from preview.models import PullRef, State, StatusReport
from preview.ports import GitHubPort, ReportLedger

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 140


def clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """GitHub rejects long descriptions; cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Reporter:
    """Deduplicating status writer shared by the workers and the watcher."""

    github: GitHubPort
    ledger: ReportLedger
    context: str

    def last_state(self, ref: PullRef, sha: str) -> State | None:
        last = self.ledger.last(ref.repo, sha, self.context)
        return State(last.split("\x1f", 1)[0]) if last else None

    def report(self, ref: PullRef, sha: str, report: StatusReport) -> bool:
        """Post ``report`` for ``sha`` unless it is what was reported last; True if written."""
        report = StatusReport(report.state, clip(report.description), report.target_url)
        fingerprint = report.fingerprint()
        if self.ledger.last(ref.repo, sha, self.context) == fingerprint:
            return False
        self.github.set_status(ref, sha, self.context, report)
        self.ledger.remember(ref.repo, sha, self.context, fingerprint)
        log.info(
            "status %s %s",
            report.state,
            report.description,
            extra={"repo": ref.repo, "pr": ref.number, "sha": sha},
        )
        return True

    def resolve_pending(self, ref: PullRef, sha: str, description: str) -> bool:
        """Close a status left pending on ``sha`` (never touches a finished one)."""
        if self.last_state(ref, sha) is not State.PENDING:
            return False
        return self.report(ref, sha, StatusReport(State.ERROR, description))
