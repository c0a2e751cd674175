"""Statuses, deployment statuses and the PR comment: consistent, and never written twice in a row."""

from __future__ import annotations

from preview.comment import MARKER
from preview.models import PullRef, State, StatusReport
from preview.ports import TemporaryError
from preview.reporting import Reporter
from tests.unit.fakes import FakeGitHub, MemoryLedger

REF = PullRef("acme/web", 42)
A, B = "a" * 40, "b" * 40
URL = "https://pr-42-web.preview.example.com"


def reporter(github: FakeGitHub, ledger: MemoryLedger | None = None) -> Reporter:
    return Reporter(github, ledger or MemoryLedger(), "preview", clock=lambda: "2026-01-01 00:00 UTC")


def test_one_deployment_per_sha_following_the_status() -> None:
    github = FakeGitHub()
    r = reporter(github)
    r.report(REF, A, StatusReport(State.PENDING, "Deploying aaaaaaa…"))
    r.report(REF, A, StatusReport(State.PENDING, "Rolling out: 0/1 ready"))
    r.report(REF, A, StatusReport(State.SUCCESS, "Preview ready", URL))
    (deployment,) = github.deployments
    assert deployment["environment"] == "preview/pr-42"
    assert deployment["statuses"] == [("in_progress", None), ("success", URL)]


def test_failure_is_mirrored() -> None:
    github = FakeGitHub()
    r = reporter(github)
    r.report(REF, A, StatusReport(State.PENDING, "Deploying"))
    r.report(REF, A, StatusReport(State.FAILURE, "Rollout failed: ImagePullBackOff on container web"))
    assert github.deployments[0]["statuses"][-1] == ("failure", None)
    assert "ImagePullBackOff" in github.comments[1]


def test_single_comment_edited_in_place_across_pushes() -> None:
    github = FakeGitHub()
    r = reporter(github)
    for sha in (A, B):
        r.report(REF, sha, StatusReport(State.PENDING, f"Deploying {sha[:7]}…"))
        r.report(REF, sha, StatusReport(State.PENDING, "Rolling out: 0/1 ready"))  # no comment edit
        r.report(REF, sha, StatusReport(State.SUCCESS, "Preview ready", URL))
    assert list(github.comments) == [1]
    assert github.comment_writes == 4
    body = github.comments[1]
    assert body.startswith(MARKER)
    assert URL in body and "`bbbbbbb`" in body and "Ready" in body


def test_comment_found_again_after_the_ledger_is_lost() -> None:
    github = FakeGitHub()
    reporter(github).report(REF, A, StatusReport(State.PENDING, "Deploying"))
    reporter(github).report(REF, A, StatusReport(State.SUCCESS, "Preview ready", URL))  # fresh ledger
    assert list(github.comments) == [1]
    assert github.comment_searches == 2


def test_removed_deactivates_and_says_so() -> None:
    github = FakeGitHub()
    r = reporter(github)
    r.report(REF, A, StatusReport(State.SUCCESS, "Preview ready", URL))
    r.removed(REF, A, "Preview removed: pull request closed")
    assert github.deployments[0]["statuses"][-1] == ("inactive", None)
    assert "Removed" in github.comments[1]
    assert [s.state for _, _, s in github.statuses] == [State.SUCCESS]  # the commit keeps its green check
    r.removed(REF, A, "Preview removed: pull request closed")
    assert len(github.deployments[0]["statuses"]) == 2
    assert github.comment_writes == 2


def test_superseded_pending_commit_gets_inactive_deployment_but_no_comment() -> None:
    github = FakeGitHub()
    r = reporter(github)
    r.report(REF, A, StatusReport(State.PENDING, "Deploying"))
    writes = github.comment_writes
    assert r.resolve_pending(REF, A, "Superseded by bbbbbbb")
    assert github.deployments[0]["statuses"][-1] == ("inactive", None)
    assert github.comment_writes == writes
    assert not r.resolve_pending(REF, A, "Superseded by bbbbbbb")


def test_a_commit_being_shown_by_another_process_is_not_written_twice() -> None:
    github = FakeGitHub()
    r = reporter(github)
    key = f"{REF.repo}#{REF.number}@{A}"
    assert r.outbox.claim(key, 60)  # another process is writing this commit's state
    assert not r.report(REF, A, StatusReport(State.SUCCESS, "Preview ready", URL))
    assert github.statuses == []
    r.outbox.release(key)
    assert r.drain() == 1  # the deferred state is shown once the other writer is done
    assert r.drain() == 0
    assert [s.state for _, _, s in github.statuses] == [State.SUCCESS]


def test_a_failed_write_is_kept_and_shown_later() -> None:
    github = FakeGitHub()
    r = reporter(github)
    calls = []

    def down(*_args: object) -> None:
        calls.append(1)
        raise TemporaryError("GitHub setting status: 503 Service Unavailable")

    real, github.set_status = github.set_status, down  # type: ignore[method-assign]
    assert not r.report(REF, A, StatusReport(State.FAILURE, "Gave up after 9 attempts: x"))
    assert calls and r.outbox.items(10)
    github.set_status = real  # type: ignore[method-assign]
    assert r.drain() == 1
    assert [s.state for _, _, s in github.statuses] == [State.FAILURE]
    assert r.outbox.items(10) == []
