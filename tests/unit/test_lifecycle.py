"""Idempotence and ordering of sync/teardown, against in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from preview import naming
from preview.lifecycle import Lifecycle, Outcome
from preview.models import ObjectRef, PullRef, State, StatusReport
from preview.ports import PermanentError, TemporaryError
from preview.reporting import Reporter
from preview.settings import Settings
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

NOW = datetime(2026, 1, 1, tzinfo=UTC)

REPO = "acme/web-shop"
A, B, C = "a" * 40, "b" * 40, "c" * 40
NS = naming.namespace_name(REPO, 7)


@pytest.fixture
def world() -> tuple[Lifecycle, FakeGitHub, FakeCluster, FakeRenderer]:
    github, cluster, renderer = FakeGitHub(), FakeCluster(), FakeRenderer()
    reporter = Reporter(github, MemoryLedger(), "preview")
    settings = Settings(preview_domain="preview.example.com")
    return Lifecycle(github, cluster, renderer, reporter, settings, clock=lambda: NOW), github, cluster, renderer


def ns_annotations(cluster: FakeCluster) -> dict[str, str]:
    return cluster.objects[ObjectRef("v1", "Namespace", NS).key()]["metadata"]["annotations"]


def test_open_deploys_head_and_sets_pending(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.DEPLOYED
    assert github.for_sha(A) == [StatusReport(State.PENDING, "Deploying aaaaaaa…")]
    assert ns_annotations(cluster)[naming.Annotations.APPLIED_SHA] == A
    deployment = cluster.objects[ObjectRef("apps/v1", "Deployment", "web", NS).key()]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == f"registry.example.com/acme/web-shop:{A}"
    assert deployment["metadata"]["annotations"][naming.Annotations.URL] == "https://pr-7-web-shop.preview.example.com"


def test_repeat_sync_is_a_no_op_without_writes(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    cluster.calls.clear()
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.UP_TO_DATE
    assert cluster.calls == [f"read {NS}"]
    assert len(github.statuses) == 1


def test_stale_event_never_rolls_back(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    github.open(REPO, 7, B)
    lc.sync(PullRef(REPO, 7), B)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.UP_TO_DATE  # late event for the old SHA
    assert ns_annotations(cluster)[naming.Annotations.APPLIED_SHA] == B


def test_superseded_pending_commit_is_resolved(world) -> None:
    lc, github, _, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)  # A pending, never became ready
    github.open(REPO, 7, C)
    lc.sync(PullRef(REPO, 7), B)  # event for B arrives after the head moved to C
    assert github.for_sha(A)[-1] == StatusReport(State.ERROR, "Superseded by ccccccc")
    assert github.for_sha(B) == []  # never reported, nothing to resolve
    assert github.for_sha(C)[-1].state is State.PENDING


def test_finished_commits_are_not_touched(world) -> None:
    lc, github, _, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    lc.reporter.report(PullRef(REPO, 7), A, StatusReport(State.SUCCESS, "Preview ready", "https://x"))
    github.open(REPO, 7, B)
    lc.sync(PullRef(REPO, 7), B)
    assert github.for_sha(A)[-1].state is State.SUCCESS


def test_objects_no_longer_rendered_are_pruned(world) -> None:
    lc, github, cluster, renderer = world
    renderer.extra = ["old-svc"]
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    assert "Service/old-svc" in cluster.kinds()
    renderer.extra = []
    github.open(REPO, 7, B)
    lc.sync(PullRef(REPO, 7), B)
    assert "Service/old-svc" not in cluster.kinds()
    assert "delete Service/old-svc" in cluster.calls


def test_closed_pr_is_not_deployed(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    github.close(REPO, 7)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.ABSENT
    assert cluster.objects == {}


def test_teardown_deletes_and_is_safe_to_repeat(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    github.close(REPO, 7)
    assert lc.teardown(PullRef(REPO, 7), A) is Outcome.TORN_DOWN
    assert github.for_sha(A)[-1] == StatusReport(State.ERROR, "Preview removed")
    assert lc.teardown(PullRef(REPO, 7), A) is Outcome.TORN_DOWN
    assert cluster.calls.count(f"delete-namespace {NS}") == 1  # already terminating: no second delete
    cluster.objects.clear()
    assert lc.teardown(PullRef(REPO, 7), A) is Outcome.ABSENT


def test_late_close_after_reopen_keeps_the_preview(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    assert lc.teardown(PullRef(REPO, 7), A) is Outcome.UP_TO_DATE  # PR is open again: keep it
    assert not any(c.startswith("delete-namespace") for c in cluster.calls)


def test_terminating_namespace_is_retried_later(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    cluster.terminating.add(NS)
    github.open(REPO, 7, B)
    with pytest.raises(TemporaryError, match="terminating"):
        lc.sync(PullRef(REPO, 7), B)


def test_render_error_reports_failure(world) -> None:
    lc, github, cluster, renderer = world

    def broken(values: dict, extra: dict | None = None) -> list[dict]:
        raise PermanentError("template 30-deployment.yaml.j2: 'nope' is undefined")

    renderer.render = broken  # type: ignore[method-assign]
    github.open(REPO, 7, A)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.FAILED
    assert github.for_sha(A)[-1].state is State.FAILURE
    assert "undefined" in github.for_sha(A)[-1].description
    assert cluster.objects == {}


def test_reporter_writes_only_on_change(world) -> None:
    _, github, _, _ = world
    reporter = Reporter(github, MemoryLedger(), "preview")
    ref = PullRef(REPO, 7)
    assert reporter.report(ref, A, StatusReport(State.PENDING, "x"))
    assert not reporter.report(ref, A, StatusReport(State.PENDING, "x"))
    assert reporter.report(ref, A, StatusReport(State.SUCCESS, "ok", "https://u"))
    long = StatusReport(State.FAILURE, "y" * 500)
    reporter.report(ref, B, long)
    assert len(github.for_sha(B)[-1].description) == 140
    assert len(github.statuses) == 3


def test_drafts_are_skipped_unless_configured(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A, draft=True)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.ABSENT
    assert cluster.objects == {}
    github.open(REPO, 7, A)  # ready_for_review
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.DEPLOYED
    github.open(REPO, 7, A, draft=True)  # converted back to draft: the preview goes away
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.TORN_DOWN
    lc.settings = Settings(deploy_drafts=True)
    cluster.terminating.clear()
    cluster.objects.clear()
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.DEPLOYED


def test_label_policy_starts_and_stops_previews(world) -> None:
    lc, github, cluster, _ = world
    lc.settings = Settings(preview_label="preview")
    github.open(REPO, 7, A)
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.ABSENT
    github.open(REPO, 7, A, labels=("preview",))  # labeled
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.DEPLOYED
    github.open(REPO, 7, A)  # unlabeled
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.TORN_DOWN
    assert any("delete-namespace" in c for c in cluster.calls)


def test_repo_config_shapes_the_preview(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    github.files[(A, ".preview.yml")] = '{"image": "ghcr.io/{owner}/{repo}:{short_sha}", "replicas": 2}'
    seen: list[dict] = []
    render = lc.renderer.render
    lc.renderer.render = lambda values, extra=None: seen.append(values) or render(values, extra)  # type: ignore[method-assign]
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.DEPLOYED
    assert seen[0]["image"] == "ghcr.io/acme/web-shop:aaaaaaa"
    assert seen[0]["replicas"] == 2


def test_invalid_repo_config_deploys_nothing_and_says_why(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    github.files[(A, ".preview.yml")] = '{"port": "http", "replicas": 99}'
    assert lc.sync(PullRef(REPO, 7), A) is Outcome.FAILED
    assert cluster.objects == {}
    (failure,) = github.for_sha(A)
    assert failure.state is State.FAILURE
    assert failure.description.startswith("Invalid .preview.yml: port:")
    assert "replicas" in github.comments[1]


def test_disabled_repo_config_removes_the_preview(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    github.open(REPO, 7, B)
    github.files[(B, ".preview.yml")] = '{"enabled": false}'
    assert lc.sync(PullRef(REPO, 7), B) is Outcome.TORN_DOWN


def test_ttl_expires_previews_unless_kept(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    github.files[(A, ".preview.yml")] = '{"ttl": "2h"}'
    lc.sync(PullRef(REPO, 7), A)
    assert ns_annotations(cluster)[naming.Annotations.EXPIRES_AT] == "2026-01-01T02:00:00Z"
    assert lc.expire("keep") == []  # not due yet
    lc.clock = lambda: NOW + timedelta(hours=3)
    github.open(REPO, 7, A, labels=("keep",))
    assert lc.expire("keep") == []  # the keep label exempts it
    assert not any(c.startswith("delete-namespace") for c in cluster.calls)
    github.open(REPO, 7, A)
    assert lc.expire("keep") == [PullRef(REPO, 7)]
    assert f"delete-namespace {NS}" in cluster.calls
    assert "expired after 2h" in github.comments[1]


def test_expiry_is_shown_in_the_comment(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    github.files[(A, ".preview.yml")] = '{"ttl": "1d"}'
    lc.sync(PullRef(REPO, 7), A)
    lc.reporter.report(PullRef(REPO, 7), A, StatusReport(State.SUCCESS, "Preview ready", "https://u"))
    assert "2026-01-02T00:00:00Z" in github.comments[1]


def test_a_namespace_without_previewbots_label_is_never_deleted() -> None:
    github, cluster = FakeGitHub(), FakeCluster()
    lifecycle = Lifecycle(github, cluster, FakeRenderer(), Reporter(github, MemoryLedger(), "preview"), Settings())
    name = naming.namespace_name("acme/web", 3)
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {}}})
    with pytest.raises(PermanentError, match="not managed by previewbot"):
        lifecycle.teardown(PullRef("acme/web", 3), force=True)
    assert f"delete-namespace {name}" not in cluster.calls


def test_previewbots_own_access_is_bound_right_after_the_namespace_is_created(world) -> None:
    lc, github, cluster, _ = world
    github.open(REPO, 7, A)
    lc.sync(PullRef(REPO, 7), A)
    applied = [c for c in cluster.calls if c.startswith("apply")]
    assert applied[:2] == ["apply Namespace/" + naming.namespace_name(REPO, 7), "apply RoleBinding/previewbot"]
    binding = cluster.objects[
        ObjectRef("rbac.authorization.k8s.io/v1", "RoleBinding", "previewbot", naming.namespace_name(REPO, 7)).key()
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "previewbot-preview",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "previewbot", "namespace": "previewbot"}]
    cluster.calls.clear()
    github.open(REPO, 7, B)
    lc.sync(PullRef(REPO, 7), B)
    assert "apply RoleBinding/previewbot" not in cluster.calls  # once bound, not again on every push
