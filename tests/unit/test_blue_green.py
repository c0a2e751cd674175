"""Blue-green previews: each commit in its own Deployments, the Services switched once it is available."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from integrations.render import TemplateRenderer
from preview import blue_green, naming
from preview.lifecycle import Lifecycle, Outcome
from preview.models import ObjectRef, PullRef, State, StatusReport
from preview.naming import Annotations
from preview.ports import TemporaryError
from preview.reporting import Reporter
from preview.settings import DEFAULT_TEMPLATES, Settings
from tests.unit.fakes import FakeCluster, FakeGitHub, MemoryLedger
from workers.streams import Listed
from workers.watcher import Watcher

REPO = "acme/web-shop"
A, B, C, D = "a" * 40, "b" * 40, "c" * 40, "d" * 40
NS = naming.namespace_name(REPO, 7)
REF = PullRef(REPO, 7)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def world() -> tuple[Lifecycle, FakeGitHub, FakeCluster]:
    github, cluster = FakeGitHub(), FakeCluster()
    reporter = Reporter(github, MemoryLedger(), "preview")
    settings = Settings(preview_domain="preview.example.com", default_strategy="blue-green")
    renderer = TemplateRenderer(DEFAULT_TEMPLATES)
    return Lifecycle(github, cluster, renderer, reporter, settings, clock=lambda: NOW), github, cluster


def obj(cluster: FakeCluster, api: str, kind: str, name: str) -> dict | None:
    return cluster.objects.get(ObjectRef(api, kind, name, None if kind == "Namespace" else NS).key())


def annotations(cluster: FakeCluster) -> dict[str, str]:
    found = obj(cluster, "v1", "Namespace", NS)
    assert found is not None
    return found["metadata"]["annotations"]


def deployment(cluster: FakeCluster, sha: str) -> dict | None:
    return obj(cluster, "apps/v1", "Deployment", f"web-{sha[:7]}")


def service_commit(cluster: FakeCluster) -> str:
    service = obj(cluster, "v1", "Service", "web")
    assert service is not None
    return service["spec"]["selector"][blue_green.SHA_LABEL]


def available(cluster: FakeCluster, sha: str) -> None:
    """What the deployment controller writes once every replica of ``sha`` is available."""
    found = deployment(cluster, sha)
    assert found is not None
    found["metadata"]["generation"] = 1
    found["status"] = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}


def push(lc: Lifecycle, github: FakeGitHub, sha: str) -> Outcome:
    github.open(REPO, 7, sha)
    return lc.sync(REF, sha)


def test_a_new_preview_serves_its_first_commit_at_once(world) -> None:
    lc, github, cluster = world
    assert push(lc, github, A) is Outcome.DEPLOYED
    web = deployment(cluster, A)
    assert web is not None and obj(cluster, "apps/v1", "Deployment", "web") is None
    assert web["spec"]["selector"]["matchLabels"][blue_green.SHA_LABEL] == A
    assert web["spec"]["template"]["metadata"]["labels"][blue_green.SHA_LABEL] == A
    assert service_commit(cluster) == A
    ns = annotations(cluster)
    assert ns[Annotations.STRATEGY] == "blue-green" and ns[Annotations.SERVING_SHA] == A
    layout = blue_green.Layout.of(ns)
    assert layout == blue_green.Layout(deployments=(f"web-{A[:7]}",), pinned=("web",), serving=("web",))


def test_a_push_runs_beside_the_serving_commit_until_the_switch(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    assert push(lc, github, B) is Outcome.DEPLOYED
    assert deployment(cluster, A) is not None and deployment(cluster, B) is not None
    assert service_commit(cluster) == A  # the reviewers still see A only
    assert annotations(cluster)[Annotations.SERVING_SHA] == A
    assert lc.switch(REF, B) is Outcome.WAITING  # B is not available yet: nothing moves
    assert service_commit(cluster) == A and deployment(cluster, A) is not None

    available(cluster, B)
    cluster.calls.clear()
    assert lc.switch(REF, B) is Outcome.DEPLOYED
    assert service_commit(cluster) == B
    assert deployment(cluster, A) is None
    assert cluster.calls.index("patch Service/web") < cluster.calls.index(f"delete Deployment/web-{A[:7]}")
    ns = annotations(cluster)
    assert ns[Annotations.SERVING_SHA] == B
    assert f"apps/v1/Deployment/{NS}/web-{A[:7]}" not in ns[Annotations.INVENTORY]
    assert lc.switch(REF, B) is Outcome.UP_TO_DATE  # twice is harmless


def test_a_late_switch_for_a_superseded_commit_changes_nothing(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    push(lc, github, B)
    available(cluster, B)
    push(lc, github, C)  # C applied before the switch to B ran
    assert lc.switch(REF, B) is Outcome.UP_TO_DATE
    assert service_commit(cluster) == A


def test_a_commit_superseded_before_its_switch_is_removed_and_the_serving_one_kept(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    push(lc, github, B)  # B never becomes available (a broken image, say)
    push(lc, github, C)
    assert deployment(cluster, B) is None
    assert deployment(cluster, A) is not None and deployment(cluster, C) is not None
    assert service_commit(cluster) == A
    available(cluster, C)
    assert lc.switch(REF, C) is Outcome.DEPLOYED
    assert {d["metadata"]["name"] for d in cluster.deployments_in(NS)} == {f"web-{C[:7]}"}


def test_a_redeploy_of_an_available_commit_switches_during_the_sync(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    push(lc, github, B)
    available(cluster, B)
    assert lc.sync(REF, B, force=True) is Outcome.DEPLOYED
    assert service_commit(cluster) == B and deployment(cluster, A) is None


def test_a_rolling_preview_turning_blue_green_switches_at_once(world) -> None:
    lc, github, cluster = world
    lc.settings = Settings(preview_domain="preview.example.com")  # rolling
    push(lc, github, A)
    assert obj(cluster, "apps/v1", "Deployment", "web") is not None
    assert blue_green.SHA_LABEL not in obj(cluster, "v1", "Service", "web")["spec"]["selector"]
    lc.settings = Settings(preview_domain="preview.example.com", default_strategy="blue-green")
    push(lc, github, B)
    assert obj(cluster, "apps/v1", "Deployment", "web") is None  # its pods carry no commit to pin to
    assert service_commit(cluster) == B


def test_the_repository_chooses_its_strategy(world) -> None:
    lc, github, cluster = world
    github.files[(A, ".preview.yml")] = '{"strategy": "rolling"}'
    push(lc, github, A)
    assert obj(cluster, "apps/v1", "Deployment", "web") is not None
    assert Annotations.STRATEGY not in annotations(cluster)


def test_services_of_other_pods_and_opted_out_deployments_are_left_alone() -> None:
    db_labels = {"app": "db"}
    manifests = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "db", "annotations": {blue_green.STRATEGY_ANNOTATION: "rolling"}},
            "spec": {"selector": {"matchLabels": db_labels}, "template": {"metadata": {"labels": db_labels}}},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {"selector": db_labels}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "external"}, "spec": {"type": "ExternalName"}},
    ]
    prepared = blue_green.prepare(copy.deepcopy(manifests), B, A)
    assert prepared.manifests == manifests and prepared.layout == blue_green.Layout()


def test_the_failure_names_the_new_commit_and_the_one_still_serving() -> None:
    text = blue_green.failed("Rollout failed: ImagePullBackOff on container web: " + "x" * 200, D, A)
    assert text.startswith("Rollout of ddddddd failed: ImagePullBackOff on container web: x")
    assert text.endswith("…; aaaaaaa still serving") and len(text) <= 140


def _watcher(github: FakeGitHub, serving: str, applied: str, status: dict) -> tuple[Watcher, list]:
    switches: list[tuple[PullRef, str]] = []
    reporter = Reporter(github, MemoryLedger(), "preview", clock=lambda: "now")
    watcher = Watcher(source=None, reporter=reporter, grace_seconds=5, switch=lambda r, s: switches.append((r, s)))  # type: ignore[arg-type]
    namespace = {
        "metadata": {
            "name": NS,
            "annotations": {
                Annotations.REPO: REPO,
                Annotations.PR: "7",
                Annotations.APPLIED_SHA: applied,
                Annotations.STRATEGY: "blue-green",
                Annotations.SERVING_SHA: serving,
            },
        },
        "status": {"phase": "Active"},
    }

    def dep(sha: str, dep_status: dict) -> dict:
        return {
            "metadata": {"name": f"web-{sha[:7]}", "namespace": NS, "generation": 1},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {blue_green.SHA_LABEL: sha}},
                "template": {"metadata": {"annotations": {Annotations.SHA: sha}}},
            },
            "status": dep_status,
        }

    ready = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    for kind, items in (("namespaces", [namespace]), ("deployments", [dep(serving, ready), dep(applied, status)])):
        watcher.view.apply(Listed(kind, items))
    watcher.view.apply(Listed("pods", []))
    return watcher, switches


def test_the_watcher_asks_for_the_switch_instead_of_reporting_ready() -> None:
    github = FakeGitHub()
    ready = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    watcher, switches = _watcher(github, A, B, ready)
    watcher.reconcile(NS)
    assert switches == [(REF, B)] and github.for_sha(B) == []


def test_the_watcher_reports_a_failed_new_commit_with_the_one_still_serving() -> None:
    github = FakeGitHub()
    stuck = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}],
    }
    watcher, switches = _watcher(github, A, B, stuck)
    watcher.reconcile(NS)
    assert switches == []
    assert github.for_sha(B) == [
        StatusReport(State.FAILURE, "Rollout of bbbbbbb failed: ProgressDeadlineExceeded; aaaaaaa still serving")
    ]


DB_LABELS = {"app": "db"}


def db(*, rolling: bool) -> list[dict]:
    annotations = {blue_green.STRATEGY_ANNOTATION: "rolling"} if rolling else {}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "db", "annotations": annotations},
            "spec": {"selector": {"matchLabels": DB_LABELS}, "template": {"metadata": {"labels": DB_LABELS}}},
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {"selector": DB_LABELS}},
    ]


def test_a_deployment_opting_out_keeps_its_service_on_the_serving_commit_until_the_switch() -> None:
    before = blue_green.prepare(db(rolling=False), A, A).layout
    assert before.serving == ("db",)
    prepared = blue_green.prepare(db(rolling=True), B, A, before)
    service = prepared.manifests[1]
    assert service["spec"]["selector"] == {**DB_LABELS, blue_green.SHA_LABEL: A}  # not B's rolling pods too
    assert prepared.layout.held == ("db",) and prepared.layout.pinned == ()
    assert prepared.layout.deployments == ()


def test_a_service_newly_pinned_selects_the_new_commit_at_once() -> None:
    prepared = blue_green.prepare(db(rolling=False), B, A, blue_green.Layout())  # db was rolling before
    assert prepared.manifests[1]["spec"]["selector"] == {**DB_LABELS, blue_green.SHA_LABEL: B}
    assert prepared.layout.serving == ()  # nothing selects the serving commit's pods


def test_every_expected_deployment_must_exist_and_be_available() -> None:
    ready = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    web = {"metadata": {"name": "web-bbbbbbb", "generation": 1}, "spec": {"replicas": 1}, "status": ready}
    assert blue_green.ready([web], ["web-bbbbbbb"])
    assert not blue_green.ready([web], ["web-bbbbbbb", "api-bbbbbbb"])  # api's apply failed: not yet
    assert blue_green.ready([], [])  # every Deployment opted out: nothing to wait for


def test_a_commit_with_nothing_to_switch_serves_at_once(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    lc.renderer = OptedOut(lc.renderer)
    assert push(lc, github, B) is Outcome.DEPLOYED
    assert annotations(cluster)[Annotations.SERVING_SHA] == B
    assert deployment(cluster, A) is None  # nothing is kept for a switch that would never come


class OptedOut:
    """The built-in templates with the ``web`` Deployment opted out of blue-green."""

    def __init__(self, inner: TemplateRenderer) -> None:
        self.inner = inner

    def render(self, values: dict, extra: dict | None = None) -> list[dict]:
        out = self.inner.render(values, extra)
        for manifest in out:
            if manifest["kind"] == "Deployment":
                manifest["metadata"].setdefault("annotations", {})[blue_green.STRATEGY_ANNOTATION] = "rolling"
        return out


def test_a_switch_cut_short_is_finished_by_its_retry(world) -> None:
    lc, github, cluster = world
    push(lc, github, A)
    available(cluster, A)
    push(lc, github, B)
    available(cluster, B)
    real = cluster.annotate_namespace

    def dies(name: str, annotations: dict) -> None:
        raise TemporaryError("the worker stopped here")

    cluster.annotate_namespace = dies  # type: ignore[method-assign]
    with pytest.raises(TemporaryError):
        lc.switch(REF, B)
    assert service_commit(cluster) == B and deployment(cluster, A) is None  # Services moved, then A removed
    cluster.annotate_namespace = real  # type: ignore[method-assign]
    assert lc.switch(REF, B) is Outcome.DEPLOYED  # the retry still sees a switch waiting, and records it
    assert annotations(cluster)[Annotations.SERVING_SHA] == B
    assert f"web-{A[:7]}" not in annotations(cluster)[Annotations.INVENTORY]
