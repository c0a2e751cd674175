"""``/preview …`` commands from PR comments: permission check, acknowledgement, action, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from preview.comment import HELP, help_text
from preview.lifecycle import Lifecycle
from preview.models import PullRef
from preview.reporting import Reporter

log = logging.getLogger(__name__)

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


def parse(text: str) -> str:
    """The command word of ``/preview <word> …``; ``help`` when missing."""
    words = text.split()
    return words[1].lower() if len(words) > 1 else "help"


@dataclass
class CommandRunner:
    """Runs one command; only users with write permission (asked of GitHub) may act."""

    lifecycle: Lifecycle
    reporter: Reporter

    def run(self, ref: PullRef, comment_id: int, author: str, text: str) -> str:
        github = self.lifecycle.github
        name = parse(text)
        if name not in HELP:
            github.react(ref, comment_id, "confused")
            return self._answer(ref, author, text, f"unknown command. {help_text()}")
        permission = github.permission(ref, author)
        if permission not in WRITE_PERMISSIONS:
            github.react(ref, comment_id, "-1")
            return self._answer(ref, author, text, f"refused: needs write permission (has {permission})")
        github.react(ref, comment_id, "+1")
        if name in ("deploy", "redeploy"):
            outcome = str(self.lifecycle.resume(ref, force=name == "redeploy"))
        elif name == "destroy":
            outcome = str(self.lifecycle.stop(ref))
        elif name == "approve":
            sha, result = self.lifecycle.approve(ref)
            outcome = f"approved {sha[:7]} ({result})"
        elif name == "status":
            outcome = "state shown above"
        else:
            outcome = help_text()
        return self._answer(ref, author, text, outcome)

    def _answer(self, ref: PullRef, author: str, text: str, result: str) -> str:
        shown = text[:60].replace("`", "'")
        line = f"`{shown}` by @{author}: {result}"
        self.reporter.note(ref, line)
        log.info("command %s", line, extra={"repo": ref.repo, "pr": ref.number})
        return result
