"""Kubernetes first: a sync's GitHub writes follow its cluster work, and the newest wanted state wins."""

from __future__ import annotations

from datetime import UTC, datetime

from preview import naming
from preview.intents import Intent, MemoryOutbox, Op
from preview.lifecycle import Lifecycle, Outcome
from preview.models import ObjectRef, PullRef, State, StatusReport
from preview.reporting import Reporter
from preview.settings import Settings
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

REPO = "acme/web-shop"
REF = PullRef(REPO, 7)
A, B = "a" * 40, "b" * 40
WRITES = ("set_status", "create_deployment", "set_deployment_status", "write_comment")


class Journal(list):
    """One ordered record of the calls made to both services."""


class JournalGitHub(FakeGitHub):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    def __getattribute__(self, name: str):  # noqa: ANN204 - records every port call by name
        if name in WRITES or name in ("get_pull", "read_file", "find_comment"):
            object.__getattribute__(self, "journal").append(f"github {name}")
        return object.__getattribute__(self, name)


class JournalCluster(FakeCluster):
    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal
        self.on_apply = None

    def apply(self, manifest: dict) -> None:
        super().apply(manifest)
        self.journal.append(f"kube apply {ObjectRef.of(manifest).kind}")
        if self.on_apply is not None:
            self.on_apply(manifest)

    def delete_namespace(self, name: str) -> None:
        super().delete_namespace(name)
        self.journal.append("kube delete-namespace")


def world() -> tuple[Lifecycle, JournalGitHub, JournalCluster, Journal, MemoryOutbox, MemoryLedger]:
    journal = Journal()
    github, cluster, ledger, outbox = JournalGitHub(journal), JournalCluster(journal), MemoryLedger(), MemoryOutbox()
    reporter = Reporter(github, ledger, "preview", outbox=outbox)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    lifecycle = Lifecycle(github, cluster, FakeRenderer(), reporter, Settings(), clock=lambda: now)
    return lifecycle, github, cluster, journal, outbox, ledger


def first_write(journal: Journal) -> int:
    return next(i for i, call in enumerate(journal) if call.split()[-1] in WRITES)


def last_kube(journal: Journal) -> int:
    return max(i for i, call in enumerate(journal) if call.startswith("kube"))


def test_a_new_preview_is_applied_before_any_github_write() -> None:
    lifecycle, github, _, journal, outbox, _ = world()
    github.open(REPO, 7, A)
    assert lifecycle.sync(REF, A) is Outcome.DEPLOYED
    assert last_kube(journal) < first_write(journal), journal
    assert github.for_sha(A) == [StatusReport(State.PENDING, "Deploying aaaaaaa…")]
    assert github.deployments and github.comments and not outbox.entries  # everything shown, after the apply


def test_a_push_is_applied_before_the_old_commit_is_marked_superseded() -> None:
    lifecycle, github, _, journal, _, _ = world()
    github.open(REPO, 7, A)
    lifecycle.sync(REF, A)
    journal.clear()
    github.open(REPO, 7, B)
    lifecycle.sync(REF, B)
    assert last_kube(journal) < first_write(journal), journal
    assert github.for_sha(A)[-1] == StatusReport(State.ERROR, "Superseded by bbbbbbb")


def test_a_teardown_deletes_the_namespace_before_saying_so() -> None:
    lifecycle, github, _, journal, _, _ = world()
    github.open(REPO, 7, A)
    lifecycle.sync(REF, A)
    journal.clear()
    github.close(REPO, 7)
    assert lifecycle.sync(REF) is Outcome.TORN_DOWN
    assert journal.index("kube delete-namespace") < first_write(journal), journal


def test_a_rollout_observed_during_the_sync_wins_over_its_deploying_status() -> None:
    lifecycle, github, cluster, _, outbox, ledger = world()
    watcher = Reporter(github, ledger, "preview", outbox=outbox)  # another process, same Redis

    def rolled_out(manifest: dict) -> None:
        annotations = manifest["metadata"].get("annotations", {})
        if manifest["kind"] == "Namespace" and naming.Annotations.APPLIED_SHA in annotations:
            watcher.report(REF, A, StatusReport(State.SUCCESS, "Preview ready", "https://x"), observed=True)

    cluster.on_apply = rolled_out
    github.open(REPO, 7, A)
    lifecycle.sync(REF, A)
    assert [r.state for r in github.for_sha(A)] == [State.SUCCESS]  # "Deploying…" was never shown
    assert "Preview ready" in github.comments[1]  # the comment follows the commit the sync decided on


def test_a_newer_state_recorded_while_one_is_written_is_shown_by_the_same_writer() -> None:
    github, ledger, outbox = FakeGitHub(), MemoryLedger(), MemoryOutbox()
    task = Reporter(github, ledger, "preview", outbox=outbox)
    watcher = Reporter(github, ledger, "preview", outbox=outbox)
    original = github.set_status
    seen: list[str] = []

    def set_status(ref: PullRef, sha: str, context: str, report: StatusReport) -> None:
        original(ref, sha, context, report)
        if not seen:  # while the task writes "Deploying", the rollout finishes
            seen.append(report.description)
            assert watcher.report(REF, A, StatusReport(State.SUCCESS, "ready"), observed=True) is False  # busy

    github.set_status = set_status  # type: ignore[method-assign]
    task.report(REF, A, StatusReport(State.PENDING, "Deploying"))
    assert [r.state for r in github.for_sha(A)] == [State.PENDING, State.SUCCESS]
    assert not outbox.entries


def test_drain_shows_final_states_before_progress() -> None:
    github, outbox = FakeGitHub(), MemoryOutbox()
    reporter = Reporter(github, MemoryLedger(), "preview", outbox=outbox)
    for number, state in ((1, State.PENDING), (2, State.SUCCESS), (3, State.PENDING), (4, State.FAILURE)):
        reporter.submit(Intent.of(Op.OBSERVE, PullRef(REPO, number), str(number) * 40, StatusReport(state, "x"), 1.0),
                        attempt=False)
    reporter.drain()
    assert [r.state for _, _, r in github.statuses] == [State.SUCCESS, State.FAILURE, State.PENDING, State.PENDING]
