"""The watcher against the Kubernetes emulator, GitHub emulator and Redis: one stream, resumption, 410."""

from __future__ import annotations

import threading

import pytest
import redis

from integrations.kube import KubeCluster, WatchExpired
from preview.lifecycle import Lifecycle
from preview.models import PullRef
from preview.settings import load
from tests.helpers import wait_for
from workers.runtime import Runtime
from workers.watcher import Watcher

REPO = "acme/watched"


@pytest.fixture
def runtime(gh, bot_env: dict[str, str], redis_db: redis.Redis) -> Runtime:
    gh.add_repo(REPO)
    return Runtime(load(bot_env))


def start(runtime: Runtime) -> tuple[Watcher, threading.Thread]:
    watcher = Watcher(runtime.cluster, runtime.reporter, resync_seconds=300, expired=WatchExpired)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return watcher, thread


def stop(watcher: Watcher, thread: threading.Thread) -> None:
    watcher.stop()
    thread.join(15)
    assert not thread.is_alive()


def deploy(lifecycle: Lifecycle, gh, number: int) -> str:
    sha = gh.open_pr(REPO, number, branch=f"topic-{number}")["head"]["sha"]
    lifecycle.sync(PullRef(REPO, number), sha)
    return sha


def state(gh, sha: str) -> str | None:
    found = gh.statuses(REPO, sha)
    return found[-1]["state"] if found else None


def test_one_watch_stream_reports_each_change_once(runtime: Runtime, gh, kube) -> None:
    kube.clear_requests()
    watcher, thread = start(runtime)
    try:
        sha = deploy(runtime.lifecycle, gh, 21)
        wait_for(lambda: state(gh, sha) == "success", 30, what="success")
        descriptions = [s["description"] for s in gh.statuses(REPO, sha)]
        assert len(descriptions) == len(set(descriptions))  # never the same report twice in a row
        assert descriptions[-1] == "Preview ready"
        deployment_reads = [r for r in kube.requests if r.resource == "deployments" and r.verb in ("list", "watch")]
        assert {r.namespace for r in deployment_reads} == {None}  # cluster-wide, never per preview
        assert not [r for r in kube.requests if r.resource == "pods"]  # pods read only on failure
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
    watcher = Watcher(cluster, runtime.reporter, resync_seconds=300, expired=WatchExpired)
    watcher.run_once(timeout_seconds=1)  # lists, then watches briefly
    old = watcher.resource_version
    assert old is not None
    sha = deploy(runtime.lifecycle, gh, 24)
    kube.compact()  # history before now is gone: the watcher's resourceVersion is too old
    with pytest.raises(WatchExpired):
        list(cluster.watch_deployments("app.kubernetes.io/managed-by=previewbot", old, 2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: state(gh, sha) == "success", 30, what="reported after relist")
        assert watcher.resource_version != old
    finally:
        stop(watcher, thread)


def test_watch_errors_back_off_and_recover(runtime: Runtime, gh, kube) -> None:
    kube.inject_fault("list", "deployments", 503, count=2)
    watcher, thread = start(runtime)
    try:
        sha = deploy(runtime.lifecycle, gh, 25)
        wait_for(lambda: state(gh, sha) == "success", 40, what="success after list errors")
        failed = [r for r in kube.requests if r.resource == "deployments" and r.status == 503]
        assert len(failed) == 2
    finally:
        stop(watcher, thread)
