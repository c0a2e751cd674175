"""Everything previewbot shows on GitHub, written only when it changes.

One reconciliation writes three things from the same state: the commit status (per SHA),
a GitHub Deployment status (the "View deployment" button) and the single PR comment. A
ledger remembers what was written last, so the same status, deployment status or comment
is never written twice in a row, across restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from preview.comment import MARKER, CommentView, render
from preview.models import PullRef, State, StatusReport
from preview.ports import GitHubPort, ReportLedger

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 140

#: Commit status state → deployment status state.
DEPLOYMENT_STATE = {
    State.PENDING: "in_progress",
    State.SUCCESS: "success",
    State.FAILURE: "failure",
    State.ERROR: "inactive",
}


def clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """GitHub rejects long descriptions; cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class Reporter:
    """Deduplicating writer of statuses, deployments and the PR comment."""

    github: GitHubPort
    ledger: ReportLedger
    context: str
    clock: Callable[[], str] = field(default=_now)

    def environment(self, ref: PullRef) -> str:
        return f"{self.context}/pr-{ref.number}"

    def _key(self, kind: str, ref: PullRef, *parts: str) -> str:
        return ":".join((kind, self.context, ref.repo, *parts))

    def last_state(self, ref: PullRef, sha: str) -> State | None:
        last = self.ledger.get(self._key("status", ref, sha))
        return State(last.split("\x1f", 1)[0]) if last else None

    # -- public ---------------------------------------------------------------------------------

    def report(self, ref: PullRef, sha: str, report: StatusReport) -> bool:
        """Show ``report`` for ``sha`` as the PR's current preview; True if the status changed."""
        if not self._status(ref, sha, report):
            return False
        self._deployment(ref, sha, report)
        self._comment(ref, sha, report.state, report.description, report.target_url)
        return True

    def resolve_pending(self, ref: PullRef, sha: str, description: str) -> bool:
        """Close a status left pending on an older ``sha`` (never touches a finished one)."""
        if self.last_state(ref, sha) is not State.PENDING:
            return False
        report = StatusReport(State.ERROR, description)
        self._status(ref, sha, report)
        self._deployment(ref, sha, report)
        return True

    def removed(self, ref: PullRef, sha: str, description: str) -> None:
        """The preview of ``sha`` was torn down: resolve pending, deactivate, say so in the comment."""
        self.resolve_pending(ref, sha, description)
        self._deployment(ref, sha, StatusReport(State.ERROR, description))
        self._comment(ref, sha, None, description, None)

    # -- the three writes ------------------------------------------------------------------------

    def _status(self, ref: PullRef, sha: str, report: StatusReport) -> bool:
        report = StatusReport(report.state, clip(report.description), report.target_url)
        key = self._key("status", ref, sha)
        fingerprint = report.fingerprint()
        if self.ledger.get(key) == fingerprint:
            return False
        self.github.set_status(ref, sha, self.context, report)
        self.ledger.put(key, fingerprint)
        log.info(
            "status %s %s", report.state, report.description, extra={"repo": ref.repo, "pr": ref.number, "sha": sha}
        )
        return True

    def _deployment(self, ref: PullRef, sha: str, report: StatusReport) -> None:
        state = DEPLOYMENT_STATE[report.state]
        id_key = self._key("deployment", ref, sha)
        deployment = self.ledger.get(id_key)
        if deployment is None:
            if state == "inactive":
                return
            deployment = str(
                self.github.create_deployment(ref, sha, self.environment(ref), f"Preview of {ref} at {sha[:7]}")
            )
            self.ledger.put(id_key, deployment)
        state_key = self._key("deployment-state", ref, deployment)
        if self.ledger.get(state_key) == state:
            return
        url = report.target_url if state == "success" else None
        self.github.set_deployment_status(ref, int(deployment), state, clip(report.description), url)
        self.ledger.put(state_key, state)

    def _comment(self, ref: PullRef, sha: str, state: State | None, description: str, url: str | None) -> None:
        shown = "" if state is State.PENDING else description  # progress ticks don't edit the comment
        fingerprint = "\x1f".join((sha, str(state), shown, url or ""))
        state_key = self._key("comment-state", ref, str(ref.number))
        if self.ledger.get(state_key) == fingerprint:
            return
        last = self.ledger.get(self._key("comment-view", ref, str(ref.number)))
        note = CommentView.from_json(last).note if last else None
        expires = self.ledger.get(self._key("expiry", ref, str(ref.number))) if state is not None else None
        view = CommentView(sha, state, description, url, self.clock(), expires=expires, note=note)
        self._write_comment(ref, view)
        self.ledger.put(state_key, fingerprint)

    def set_expiry(self, ref: PullRef, expires: str | None) -> None:
        """Remember when the preview expires; the comment shows it from its next update."""
        key = self._key("expiry", ref, str(ref.number))
        if expires:
            self.ledger.put(key, expires)
        else:
            self.ledger.delete(key)

    def note(self, ref: PullRef, line: str) -> None:
        """Show the result of a command in the PR comment (keeping the preview's state)."""
        last = self.ledger.get(self._key("comment-view", ref, str(ref.number)))
        view = CommentView.from_json(last) if last else CommentView("", None, "no preview yet", None, "")
        self._write_comment(ref, replace(view, note=line, updated=self.clock()))

    def _write_comment(self, ref: PullRef, view: CommentView) -> None:
        id_key = self._key("comment", ref, str(ref.number))
        known = self.ledger.get(id_key)
        comment_id = int(known) if known else self.github.find_comment(ref, MARKER)
        comment_id = self.github.write_comment(ref, comment_id, render(view))
        self.ledger.put(id_key, str(comment_id))
        self.ledger.put(self._key("comment-view", ref, str(ref.number)), view.to_json())
