"""Policies that need a person: fork approval, /preview commands, check gating, purge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from preview import naming
from preview.commands import CommandRunner, parse
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, State
from preview.reporting import Reporter
from preview.settings import Settings
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

NOW = datetime(2026, 1, 1, tzinfo=UTC)

REPO = "acme/web-shop"
REF = PullRef(REPO, 9)
A, B = "a" * 40, "b" * 40


@pytest.fixture
def world() -> tuple[Lifecycle, FakeGitHub, FakeCluster, CommandRunner]:
    github, cluster = FakeGitHub(), FakeCluster()
    reporter = Reporter(github, MemoryLedger(), "preview", clock=lambda: "now")
    lifecycle = Lifecycle(github, cluster, FakeRenderer(), reporter, Settings(), clock=lambda: NOW)
    github.permissions.update({"maintainer": "write", "admin": "admin", "reader": "read"})
    seen = {100: A, 101: B, 102: A}  # comment id → the head when the comment arrived
    return lifecycle, github, cluster, CommandRunner(lifecycle, reporter, seen_head=lambda _ref, cid: seen.get(cid))


def deployed_sha(cluster: FakeCluster) -> str | None:
    ns = cluster.read_namespace(naming.namespace_name(REPO, 9))
    return ns.annotations.get(naming.Annotations.APPLIED_SHA) if ns else None


def test_parse() -> None:
    assert parse("/preview deploy now") == "deploy"
    assert parse("/preview") == "help"
    assert parse("/preview APPROVE") == "approve"


def test_fork_waits_for_approval_of_that_exact_sha(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A, fork=True)
    assert lc.sync(REF, A) is Outcome.WAITING
    assert github.for_sha(A)[-1].state is State.PENDING
    assert "approve" in github.for_sha(A)[-1].description
    assert cluster.objects == {}
    runner.run(REF, 100, "maintainer", "/preview approve")
    assert deployed_sha(cluster) == A
    github.open(REPO, 9, B, fork=True)  # a new push needs approval again
    assert lc.sync(REF, B) is Outcome.WAITING
    assert deployed_sha(cluster) == A
    runner.run(REF, 101, "admin", "/preview approve")
    assert deployed_sha(cluster) == B


def test_read_only_users_are_refused(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A, fork=True)
    result = runner.run(REF, 100, "reader", "/preview approve")
    assert "refused" in result
    assert github.reactions == [(100, "-1")]
    assert cluster.objects == {}
    assert "refused: needs write permission (has read)" in github.comments[1]


def test_destroy_then_deploy(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A)
    lc.sync(REF, A)
    runner.run(REF, 100, "maintainer", "/preview destroy")
    assert f"delete-namespace {naming.namespace_name(REPO, 9)}" in cluster.calls
    assert github.reactions == [(100, "+1")]
    cluster.objects.clear()
    cluster.terminating.clear()
    github.open(REPO, 9, B)
    assert lc.sync(REF, B) is Outcome.ABSENT  # a push does not bring a destroyed preview back
    runner.run(REF, 101, "maintainer", "/preview deploy")
    assert deployed_sha(cluster) == B


def test_redeploy_reapplies_the_same_head(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A)
    lc.sync(REF, A)
    cluster.calls.clear()
    runner.run(REF, 100, "maintainer", "/preview redeploy")
    assert any(c.startswith("apply Deployment") for c in cluster.calls)


def test_unknown_command_gets_help(world) -> None:
    _, github, _, runner = world
    github.open(REPO, 9, A)
    assert "Commands" in runner.run(REF, 100, "maintainer", "/preview frobnicate")
    assert github.reactions == [(100, "confused")]
    assert "/preview approve" in github.comments[1]


def test_required_checks_gate_the_deploy(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 9, A)
    github.files[(A, ".preview.yml")] = '{"required_checks": ["build", "test"]}'
    github.checks[A] = {"build": "success", "test": "pending"}
    assert lc.sync(REF, A) is Outcome.WAITING
    assert github.for_sha(A)[-1].description == "Waiting for checks: test"
    assert lc.waiting_pull(REPO, A) == 9
    github.checks[A]["test"] = "failure"
    assert lc.sync(REF, A) is Outcome.FAILED
    assert github.for_sha(A)[-1].description == "Not deployed: check test failed"
    assert cluster.objects == {}
    github.checks[A]["test"] = "success"
    assert lc.sync(REF, A) is Outcome.DEPLOYED


def test_purge_deletes_a_repositorys_previews_without_github(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 9, A)
    lc.sync(REF, A)
    github.open("other/app", 1, B)
    lc.sync(PullRef("other/app", 1), B)
    writes = len(github.statuses)
    assert lc.purge(REPO) == 1
    assert f"delete-namespace {naming.namespace_name(REPO, 9)}" in cluster.calls
    assert f"delete-namespace {naming.namespace_name('other/app', 1)}" not in cluster.calls
    assert len(github.statuses) == writes


def test_nothing_from_an_unapproved_fork_head_is_read(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A, fork=True)
    github.files[(A, ".preview.yml")] = "templates: evil/\n"
    assert lc.sync(REF, A) is Outcome.WAITING
    assert github.file_reads == []
    runner.run(REF, 100, "maintainer", "/preview approve")
    assert (A, ".preview.yml") in github.file_reads  # read only once approved


def test_approval_covers_the_head_the_maintainer_saw_not_a_later_push(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, B, fork=True)  # B was pushed after comment 102 (which saw A) was written
    result = runner.run(REF, 102, "maintainer", "/preview approve")
    assert (
        result
        == f"approved {A[:7]}, but the head is now {B[:7]} (pushed after your comment); it needs its own approval"
    )
    assert deployed_sha(cluster) is None
    assert "Waiting for approval" in github.for_sha(B)[-1].description
    assert "it needs its own approval" in github.comments[1]


def test_approval_of_a_named_commit(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, B, fork=True)
    assert runner.run(REF, 200, "maintainer", f"/preview approve {B[:7]}").startswith(f"approved {B[:7]}")
    assert deployed_sha(cluster) == B
    assert "give its full 40-character SHA" in runner.run(REF, 201, "maintainer", f"/preview approve {A[:7]}")
    assert "usage" in runner.run(REF, 202, "maintainer", "/preview approve HEAD~1")


def test_approval_without_a_known_head_asks_for_the_sha(world) -> None:
    lc, github, cluster, runner = world
    github.open(REPO, 9, A, fork=True)
    assert "could not tell which commit" in runner.run(REF, 300, "maintainer", "/preview approve")
    assert deployed_sha(cluster) is None
