"""What the watcher queues for the workers: a re-sync of a commit left pending, a blue-green switch.

Each is deduplicated by a delivery id that holds a time window, so a watcher reconciling the same
preview many times queues it once per window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from preview.models import Command, CommandKind, PullRef
from workers.enqueue import Enqueuer

__all__ = ["resync_through", "sleep_through", "switch_through"]


def resync_through(enqueuer: Enqueuer, window_seconds: int) -> Callable[[PullRef, str], object]:
    """Queue a sync of a PR for a stale commit, at most once per ``window_seconds`` (by delivery id)."""

    def resync(ref: PullRef, sha: str) -> object:
        window = int(time.time() // max(window_seconds, 1))
        delivery = f"sweep:{ref.repo}#{ref.number}@{sha}:{window}"
        return enqueuer.submit(Command(CommandKind.SYNC, ref.repo, ref.number, ref.installation_id, sha, delivery))

    return resync


def switch_through(enqueuer: Enqueuer, window_seconds: int = 10) -> Callable[[PullRef, str], object]:
    """Queue the blue-green switch of a PR to a ready commit, at most once per ``window_seconds``."""

    def switch(ref: PullRef, sha: str) -> object:
        window = int(time.time() // max(window_seconds, 1))
        delivery = f"switch:{ref.repo}#{ref.number}@{sha}:{window}"
        return enqueuer.submit(Command(CommandKind.SWITCH, ref.repo, ref.number, ref.installation_id, sha, delivery))

    return switch


def sleep_through(enqueuer: Enqueuer, window_seconds: int) -> Callable[[PullRef], object]:
    """Queue the settling of a PR's sleep (the idle sweep), at most once per ``window_seconds``."""

    def request(ref: PullRef) -> object:
        window = int(time.time() // max(window_seconds, 1))
        delivery = f"sleep:{ref.repo}#{ref.number}:{window}"
        return enqueuer.submit(Command(CommandKind.SLEEP, ref.repo, ref.number, ref.installation_id, None, delivery))

    return request
