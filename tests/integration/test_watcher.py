"""The watcher against the Kubernetes emulator, GitHub emulator and Redis: streams, identity, truthfulness."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis
from kubernetes import client

from integrations.kube import KubeCluster, WatchExpired
from preview import naming
from preview.lifecycle import Lifecycle
from preview.models import PullRef
from preview.settings import load
from tests.helpers import wait_for
from workers.runtime import Runtime
from workers.watcher import SELECTOR, Watcher

REPO = "acme/watched"
OTHER = "victim/other"


@pytest.fixture
def runtime(gh, bot_env: dict[str, str], redis_db: redis.Redis) -> Runtime:
    gh.add_repo(REPO)
    return Runtime(load(bot_env))


@pytest.fixture
def running(runtime: Runtime) -> Iterator[Watcher]:
    watcher, thread = start(runtime)
    yield watcher
    stop(watcher, thread)


def create_namespace(kube, name: str, annotations: dict[str, str]) -> None:
    meta = {"name": name, "labels": {naming.MANAGED_BY: naming.MANAGER}, "annotations": annotations}
    client.CoreV1Api(kube.api_client()).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})


def create_deployment(kube, namespace: str, name: str, annotations: dict[str, str], sha: str) -> None:
    """A Deployment as a repository template could write it, labelled as previewbot's."""
    labels = {naming.MANAGED_BY: naming.MANAGER, "app": name}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"previewbot.io/sha": sha}},
                "spec": {"containers": [{"name": name, "image": "example.org/forged:1"}]},
            },
        },
    }
    client.AppsV1Api(kube.api_client()).create_namespaced_deployment(namespace, body)


def start(runtime: Runtime, **options: object) -> tuple[Watcher, threading.Thread]:
    watcher = Watcher(runtime.cluster, runtime.reporter, expired=WatchExpired, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return watcher, thread


def stop(watcher: Watcher, thread: threading.Thread) -> None:
    watcher.stop()
    thread.join(90)
    assert not thread.is_alive()


def deploy(lifecycle: Lifecycle, gh, number: int) -> str:
    sha = gh.open_pr(REPO, number, branch=f"topic-{number}")["head"]["sha"]
    lifecycle.sync(PullRef(REPO, number), sha)
    return sha


def states(gh, sha: str, repo: str = REPO) -> list[str]:
    return [s["state"] for s in gh.statuses(repo, sha)]


def state(gh, sha: str) -> str | None:
    found = states(gh, sha)
    return found[-1] if found else None


def test_three_cluster_wide_streams_report_each_change_once(runtime: Runtime, gh, kube) -> None:
    kube.clear_requests()
    watcher, thread = start(runtime)
    try:
        sha = deploy(runtime.lifecycle, gh, 21)
        wait_for(lambda: state(gh, sha) == "success", 30, what="success")
        descriptions = [s["description"] for s in gh.statuses(REPO, sha)]
        assert len(descriptions) == len(set(descriptions))  # never the same report twice in a row
        assert descriptions[-1] == "Preview ready"
        reads = [r for r in kube.requests if r.verb in ("list", "watch", "get") and r.resource != "namespaces"]
        reads += [r for r in kube.requests if r.resource == "namespaces" and r.verb in ("list", "watch")]
        assert {r.resource for r in reads} == {"namespaces", "deployments", "pods"}
        assert {r.namespace for r in reads} == {None}  # cluster-wide, never per preview
        assert {r.verb for r in reads} == {"list", "watch"}
    finally:
        stop(watcher, thread)


def test_restart_neither_repeats_nor_misses(runtime: Runtime, gh, kube) -> None:
    sha = deploy(runtime.lifecycle, gh, 22)
    watcher, thread = start(runtime)
    wait_for(lambda: state(gh, sha) == "success", 30, what="success")
    stop(watcher, thread)
    before = len(gh.statuses(REPO, sha))
    missed = deploy(runtime.lifecycle, gh, 23)  # rolls out while no watcher runs
    watcher, thread = start(runtime)
    try:
        wait_for(lambda: state(gh, missed) == "success", 30, what="missed rollout reported after restart")
        assert len(gh.statuses(REPO, sha)) == before
    finally:
        stop(watcher, thread)


def test_expired_resource_version_relists(runtime: Runtime, gh, kube) -> None:
    cluster: KubeCluster = runtime.cluster
    _, old = cluster.list_objects("deployments", SELECTOR)
    sha = deploy(runtime.lifecycle, gh, 24)
    kube.compact()  # history before now is gone: a watch from the old resourceVersion is too old
    with pytest.raises(WatchExpired):
        list(cluster.watch_objects("deployments", SELECTOR, old, 2))
    watcher = Watcher(cluster, runtime.reporter, expired=WatchExpired)
    watcher.streams["deployments"].resource_version = old  # as if it had been following since then
    for kind in ("namespaces", "pods"):
        watcher.listed.add(kind)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: state(gh, sha) == "success", 30, what="reported after relist")
        assert watcher.streams["deployments"].resource_version != old
        assert watcher.streams["deployments"].restarts >= 1
    finally:
        stop(watcher, thread)


def test_watch_errors_back_off_and_recover(runtime: Runtime, gh, kube, running: Watcher) -> None:
    kube.inject_fault("list", "pods", 503, count=2)
    sha = deploy(runtime.lifecycle, gh, 25)
    wait_for(lambda: state(gh, sha) == "success", 40, what="success after list errors")


def test_identity_comes_from_the_namespace_not_from_template_annotations(
    runtime: Runtime, gh, kube, running: Watcher
) -> None:
    """A Deployment a repository template annotates with another repository's name posts nothing there."""
    gh.add_repo(OTHER)
    victim = gh.open_pr(OTHER, 1, branch="main-work")["head"]["sha"]
    sha = deploy(runtime.lifecycle, gh, 26)
    wait_for(lambda: state(gh, sha) == "success", 30, what="own preview ready")
    ns = naming.namespace_name(REPO, 26)
    forged = {"previewbot.io/repo": OTHER, "previewbot.io/pr": "1", "previewbot.io/url": "https://evil.example"}
    create_deployment(kube, ns, "forged", forged, victim)
    wait_for(lambda: len(kube.objects("replicasets", ns)) >= 2, 30, what="the forged Deployment rolling out")
    other = deploy(runtime.lifecycle, gh, 27)  # a later event proves the watcher has seen the forged one
    wait_for(lambda: state(gh, other) == "success", 30, what="next preview ready")
    assert gh.statuses(OTHER, victim) == []
    assert gh.deployments(OTHER) == [] and gh.comments(OTHER, 1) == []
    assert all(s["target_url"] in (None, "https://pr-26-watched.preview.test") for s in gh.statuses(REPO, sha))


def test_a_malformed_object_does_not_stop_the_others(runtime: Runtime, gh, kube, running: Watcher) -> None:
    ns = "stray-malformed"
    create_namespace(kube, ns, {"previewbot.io/repo": REPO, "previewbot.io/pr": "²"})
    create_deployment(kube, ns, "odd", {"previewbot.io/repo": REPO, "previewbot.io/pr": "²"}, "²")
    sha = deploy(runtime.lifecycle, gh, 28)
    wait_for(lambda: state(gh, sha) == "success", 30, what="success despite a malformed neighbour")


@pytest.mark.parametrize("when", ["during", "after"])
def test_closing_leaves_no_commit_pending(runtime: Runtime, gh, kube, running: Watcher, when: str) -> None:
    number = 29 if when == "during" else 30
    sha = deploy(runtime.lifecycle, gh, number)
    if when == "after":
        wait_for(lambda: state(gh, sha) == "success", 30, what="ready before closing")
    gh.close_pr(REPO, number)
    runtime.lifecycle.teardown(PullRef(REPO, number), sha)
    ns = naming.namespace_name(REPO, number)
    wait_for(lambda: not [n for n in kube.objects("namespaces") if n["metadata"]["name"] == ns], 60, what="gone")
    later = deploy(runtime.lifecycle, gh, number + 100)  # the watcher has seen the deletion once it reports this
    wait_for(lambda: state(gh, later) == "success", 30, what="a later preview ready")
    final = states(gh, sha)
    assert final[-1] in ("success", "error"), final
    removal = next((i for i, s in enumerate(final) if s == "error"), len(final))
    assert "pending" not in final[removal:]
    if when == "after":
        assert final[-1] == "success"  # the commit keeps its green check; the Deployment says inactive
