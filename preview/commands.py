"""``/preview …`` commands from PR comments: permission check, acknowledgement, action, answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from preview.comment import HELP, help_text
from preview.lifecycle import Lifecycle
from preview.models import PullRef
from preview.reporting import Reporter
from preview.sleep import Sleeper, WakeResult

log = logging.getLogger(__name__)

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
_SHA = re.compile(r"[0-9a-f]{7,40}")
_WOKE = {
    WakeResult.WOKEN: "waking up",
    WakeResult.AWAKE: "not sleeping",
    WakeResult.ABSENT: "no preview to wake",
    WakeResult.QUEUED: "waiting for a free slot",
}


def _no_history(_ref: PullRef, _comment_id: int) -> str | None:
    return None


def parse(text: str) -> str:
    """The command word of ``/preview <word> …``; ``help`` when missing."""
    words = text.split()
    return words[1].lower() if len(words) > 1 else "help"


@dataclass
class CommandRunner:
    """Runs one command; only users with write permission (asked of GitHub) may act."""

    lifecycle: Lifecycle
    reporter: Reporter
    #: The head the PR had when a command comment arrived (by comment id), as the intake recorded it.
    seen_head: Callable[[PullRef, int], str | None] = field(default=_no_history)

    def run(self, ref: PullRef, comment_id: int, author: str, text: str) -> str:
        github = self.lifecycle.github
        name = parse(text)
        react = github.react if comment_id else lambda *_: None  # the dashboard's commands have no comment
        if name not in HELP:
            react(ref, comment_id, "confused")
            return self._answer(ref, author, text, f"unknown command. {help_text()}")
        permission = github.permission(ref, author)
        if permission not in WRITE_PERMISSIONS:
            react(ref, comment_id, "-1")
            return self._answer(ref, author, text, f"refused: needs write permission (has {permission})")
        react(ref, comment_id, "+1")
        sleeper = Sleeper.of(self.lifecycle)
        sleeper.touch(ref)  # activity: the preview sleeps no sooner than the idle time from now
        if name in ("deploy", "redeploy"):
            outcome = str(self.lifecycle.resume(ref, force=name == "redeploy"))
        elif name == "destroy":
            outcome = str(self.lifecycle.stop(ref))
        elif name == "approve":
            outcome = self._approve(ref, comment_id, text)
        elif name == "wake":
            outcome = _WOKE.get(result := sleeper.wake(ref), str(result))
        elif name == "status":
            outcome = "state shown above"
        else:
            outcome = help_text()
        return self._answer(ref, author, text, outcome)

    def _approve(self, ref: PullRef, comment_id: int, text: str) -> str:
        """Approve the commit the maintainer saw: the head when the comment arrived, or the one named."""
        words = text.split()
        if len(words) > 2:
            wanted: str | None = words[2].lower()
            if not _SHA.fullmatch(wanted):
                return "usage: `/preview approve` or `/preview approve <commit SHA>`"
        else:
            wanted = self.seen_head(ref, comment_id)
            if wanted is None:
                return "could not tell which commit you reviewed; comment `/preview approve <commit SHA>`"
        approved, head, result = self.lifecycle.approve(ref, wanted)
        if approved is None:
            return f"{wanted[:7]} is not the head ({head[:7]}); give its full 40-character SHA to approve it"
        if approved != head:
            return (
                f"approved {approved[:7]}, but the head is now {head[:7]} (pushed after your comment); "
                "it needs its own approval"
            )
        return f"approved {approved[:7]} ({result})"

    def _answer(self, ref: PullRef, author: str, text: str, result: str) -> str:
        shown = text[:60].replace("`", "'")
        line = f"`{shown}` by @{author}: {result}"
        self.reporter.note(ref, line)
        log.info("command %s", line, extra={"repo": ref.repo, "pr": ref.number})
        return result
