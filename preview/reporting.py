"""Everything previewbot shows on GitHub, reconciled together and written only when it changes.

One reconciliation brings three things to the same state: the commit status (per SHA), a
GitHub Deployment status (the "View deployment" button) and the single PR comment. A ledger
remembers what was written last, so nothing is written twice in a row, across restarts; and
each of the three is compared on every reconciliation, so one that lags (a failed write) is
repaired by the next. Every wanted state goes to an outbox first and leaves it only once it
is shown: a write that fails is deferred (and drained later), never dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from preview.comment import MARKER, CommentView, render
from preview.intents import Intent, MemoryOutbox, Op, Outbox, PendingIndex
from preview.models import PullRef, State, StatusReport
from preview.ports import GitHubPort, PermanentError, ReportLedger, TemporaryError

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 140
#: How long one writer may hold a commit's intent (longer than any GitHub call with its retries).
CLAIM_SECONDS = 120.0
FINAL = frozenset({State.SUCCESS, State.FAILURE, State.ERROR})

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


def pending_member(ref: PullRef, sha: str) -> str:
    """The pending-index entry of one commit."""
    return json.dumps([ref.repo, ref.number, sha, ref.installation_id], separators=(",", ":"))


def parse_member(member: str) -> tuple[PullRef, str] | None:
    """Inverse of :func:`pending_member`; None for an entry that is not one."""
    try:
        repo, number, sha, installation = json.loads(member)
        return PullRef(str(repo), int(number), int(installation) if installation is not None else None), str(sha)
    except (ValueError, TypeError):
        return None


class StatusHistory(Protocol):
    """Keeps the statuses written for each PR (e.g. for the dashboard); must not raise."""

    def append(self, ref: PullRef, sha: str, report: StatusReport, at: float) -> None: ...


@dataclass
class Reporter:
    """Deduplicating, deferring writer of statuses, deployments and the PR comment."""

    github: GitHubPort
    ledger: ReportLedger
    context: str
    clock: Callable[[], str] = field(default=_now)
    outbox: Outbox = field(default_factory=MemoryOutbox)
    pending: PendingIndex | None = None
    now: Callable[[], float] = field(default=time.time)
    history: StatusHistory | None = None
    #: told ``(ref, sha, state)`` after a final commit status (success, failure, error) was written
    on_final: Callable[[PullRef, str, State], object] | None = None
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)

    def environment(self, ref: PullRef) -> str:
        return f"{self.context}/pr-{ref.number}"

    def _key(self, kind: str, ref: PullRef, *parts: str) -> str:
        return ":".join((kind, self.context, ref.repo, *parts))

    def last_state(self, ref: PullRef, sha: str) -> State | None:
        last = self.ledger.get(self._key("status", ref, sha))
        return State(last.split("\x1f", 1)[0]) if last else None

    # -- public ---------------------------------------------------------------------------------

    def report(
        self, ref: PullRef, sha: str, report: StatusReport, *, observed: bool = False, hold: bool = False
    ) -> bool:
        """Show ``report`` for ``sha`` as the PR's current preview; True if the status changed.

        ``observed`` reports come from the watcher and never move a finished commit back to
        pending; the lifecycle's own decisions may (the same commit is being rolled out again).
        ``hold`` marks a pending state that waits on people (approval, checks), not on a rollout.
        """
        return self.submit(Intent.of(Op.OBSERVE if observed else Op.DECIDE, ref, sha, report, self.now(), hold=hold))

    def resolve_pending(self, ref: PullRef, sha: str, description: str) -> bool:
        """Close a status left pending on an older ``sha`` (never touches a finished one)."""
        if self.last_state(ref, sha) is not State.PENDING:
            return False
        return self.submit(Intent.of(Op.RESOLVE, ref, sha, StatusReport(State.ERROR, description), self.now()))

    def removed(self, ref: PullRef, sha: str, description: str) -> None:
        """The preview of ``sha`` was torn down: resolve pending, deactivate, say so in the comment."""
        self.submit(Intent.of(Op.REMOVED, ref, sha, StatusReport(State.ERROR, description), self.now()))

    def submit(self, intent: Intent, *, attempt: bool = True) -> bool:
        """Record ``intent`` in the outbox, then (with ``attempt``) show it; a failed write stays deferred.

        Inside :meth:`deferred` the write is only recorded, and made when the block ends.
        """
        if intent.op is Op.DECIDE:
            self._claim(intent.ref, intent.sha, intent.at)  # the comment follows the newest decision
        self.outbox.put(intent.key, intent.to_json())
        batch: list[str] | None = getattr(self._local, "batch", None)
        if not attempt:
            return False
        if batch is not None:
            if intent.key not in batch:
                batch.append(intent.key)
            return False
        return bool(self._attempt(intent.key))

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Record the wanted GitHub writes of a block, and make them once it has finished without error.

        A sync wraps its Kubernetes work in this, so that no GitHub write sits in front of the apply;
        what the block wanted stays in the outbox either way, and a newer state (the watcher's) wins.
        """
        if getattr(self._local, "batch", None) is not None:
            yield  # already deferring: the outer block shows everything
            return
        self._local.batch = batch = []
        try:
            yield
        finally:
            self._local.batch = None
        for key in batch:
            self._attempt(key)

    def drain(self, limit: int = 100) -> int:
        """Show deferred intents, final states first; returns how many changed a status.

        After a temporary failure (GitHub down, budget spent) the installation's remaining intents
        wait for the next drain.
        """
        shown, blocked = 0, set()
        found: list[tuple[Intent, str]] = []
        for key, value in self.outbox.items(limit):
            try:
                found.append((Intent.from_json(value), key))
            except (ValueError, TypeError, KeyError):
                log.warning("dropping a malformed outbox entry %r", key)
                self.outbox.done(key, value)
        found.sort(key=lambda item: (item[0].state is State.PENDING, item[0].at))
        for intent, key in found:
            owner = intent.installation_id or intent.repo.split("/", 1)[0]
            if owner in blocked:
                continue
            result = self._attempt(key)
            if result is None:
                blocked.add(owner)
            elif result:
                shown += 1
        return shown

    def _attempt(self, key: str) -> bool | None:
        """Show the newest intent of ``key``: True if the status changed, None if it stays deferred.

        One writer at a time per key. A newer intent recorded while this one was being written is
        shown next by the same writer (its own writer found the key taken), so none waits for a drain.
        """
        changed = False
        for _ in range(5):
            if not self.outbox.claim(key, CLAIM_SECONDS):
                return changed  # another writer has it, and shows the newest intent before it lets go
            try:
                value = self.outbox.get(key)
                if value is None:
                    return changed
                intent = Intent.from_json(value)
                extra = {"repo": intent.repo, "pr": intent.number, "sha": intent.sha}
                try:
                    changed = self._apply(intent) or changed
                except TemporaryError as exc:
                    log.warning("GitHub write deferred (%s): %s", intent.state, exc, extra=extra)
                    return None
                except PermanentError as exc:
                    log.error("GitHub write dropped: %s", exc, extra=extra)
            except (ValueError, TypeError, KeyError):
                log.warning("dropping a malformed outbox entry %r", key)
            finally:
                self.outbox.release(key)
            if value is None or self.outbox.done(key, value):
                return changed
        return changed  # still changing: the next drain shows the newest

    # -- reconciliation --------------------------------------------------------------------------

    def _apply(self, intent: Intent) -> bool:
        ref, sha, report = intent.ref, intent.sha, intent.report
        if intent.op in (Op.RESOLVE, Op.REMOVED):
            was_pending = self.last_state(ref, sha) is State.PENDING
            if intent.op is Op.RESOLVE and not was_pending:
                return False  # finished meanwhile: nothing to resolve
            changed = was_pending and self._status(ref, sha, report, hold=False)
            self._deployment(ref, sha, report)
            if intent.op is Op.REMOVED:
                self._comment(ref, sha, None, report.description, None)
            return changed
        if intent.op is Op.OBSERVE and (
            (last := self.last_state(ref, sha)) is State.ERROR or (report.state is State.PENDING and last in FINAL)
        ):
            return False  # the watcher never moves a finished commit back, nor revives a removed one
        changed = self._status(ref, sha, report, hold=intent.hold)
        self._deployment(ref, sha, report)
        if self._is_current(ref, sha):
            self._comment(ref, sha, report.state, report.description, report.target_url)
        return changed

    def _claim(self, ref: PullRef, sha: str, at: float) -> None:
        """Make ``sha`` the commit the PR comment follows, unless a newer decision named another."""
        key = self._key("current", ref, str(ref.number))
        known = self.ledger.get(key)
        if known:
            _, _, when = known.partition("@")
            try:
                if float(when) > at:
                    return
            except ValueError:
                pass
        self.ledger.put(key, f"{sha}@{at}")

    def _is_current(self, ref: PullRef, sha: str) -> bool:
        known = self.ledger.get(self._key("current", ref, str(ref.number)))
        return not known or known.split("@", 1)[0] == sha

    def _status(self, ref: PullRef, sha: str, report: StatusReport, *, hold: bool) -> bool:
        report = StatusReport(report.state, clip(report.description), report.target_url)
        key = self._key("status", ref, sha)
        fingerprint = report.fingerprint()
        if self.ledger.get(key) == fingerprint:
            return False
        self.github.set_status(ref, sha, self.context, report)
        self.ledger.put(key, fingerprint)
        if self.history is not None:
            self.history.append(ref, sha, report, self.now())
        if self.pending is not None:
            member = pending_member(ref, sha)
            if report.state is State.PENDING and not hold:
                self.pending.mark(member, self.now())
            else:
                self.pending.clear(member)
        log.info(
            "status %s %s", report.state, report.description, extra={"repo": ref.repo, "pr": ref.number, "sha": sha}
        )
        if self.on_final is not None and report.state in FINAL:
            try:
                self.on_final(ref, sha, report.state)
            except Exception:  # noqa: BLE001 - an observer never fails a write that was made
                log.warning("final-status observer failed", exc_info=True)
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
