"""Watch semantics: resumption, bookmarks, timeouts and expiry."""

from __future__ import annotations

import pytest
from kubernetes import watch
from kubernetes.client.exceptions import ApiException


def test_watch_replays_after_resource_version(k8s, ns):
    first = k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "b"}})
    k8s.core.patch_namespaced_config_map("a", ns, {"data": {"x": "1"}})
    k8s.core.delete_namespaced_config_map("b", ns)
    events = list(
        watch.Watch().stream(
            k8s.core.list_namespaced_config_map, ns, resource_version=first.metadata.resource_version, timeout_seconds=1
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(rvs)


def test_watch_without_rv_lists_then_streams_live(k8s, ns, wait_for):
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "pre", "labels": {"w": "1"}}})
    w = watch.Watch()
    seen = []
    for event in w.stream(k8s.core.list_namespaced_config_map, ns, label_selector="w=1", timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "live", "labels": {"w": "1"}}})
            k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "other"}})
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "pre"), ("ADDED", "live")]


def test_bookmarks_and_timeout(k8s, ns):
    events = list(
        watch.Watch().stream(
            k8s.core.list_namespaced_secret,
            ns,
            allow_watch_bookmarks=True,
            resource_version=k8s.core.list_namespaced_secret(ns).metadata.resource_version,
            timeout_seconds=1,
        )
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert set(bookmarks[0]["raw_object"]) == {"kind", "apiVersion", "metadata"}
    assert bookmarks[0]["raw_object"]["metadata"]["resourceVersion"]


def test_too_old_resource_version_expires_then_relist(emu, k8s, ns):
    old = k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "e"}}).metadata.resource_version
    k8s.core.patch_namespaced_config_map("e", ns, {"data": {"v": "1"}})
    emu.compact()
    with pytest.raises(ApiException) as exc:
        list(watch.Watch().stream(k8s.core.list_namespaced_config_map, ns, resource_version=old, timeout_seconds=1))
    assert exc.value.status == 410 and "too old resource version" in exc.value.reason
    fresh = k8s.core.list_namespaced_config_map(ns)
    k8s.core.patch_namespaced_config_map("e", ns, {"data": {"v": "2"}})
    events = list(
        watch.Watch().stream(
            k8s.core.list_namespaced_config_map, ns, resource_version=fresh.metadata.resource_version, timeout_seconds=1
        )
    )
    assert [(e["type"], e["object"].data) for e in events] == [("MODIFIED", {"v": "2"})]


def test_history_window_expiry_raw_error_event(k8s, ns):
    from sandbox.kube import KubeEmulator

    small = KubeEmulator(speed=20, history_window=5).start()
    try:
        from kubernetes import client

        core = client.CoreV1Api(small.api_client())
        start = core.list_namespaced_config_map("default").metadata.resource_version
        for i in range(8):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        resp = core.list_namespaced_config_map(
            "default", watch=True, resource_version=start, timeout_seconds=1, _preload_content=False
        )
        import json

        lines = [json.loads(line) for line in resp.read().decode().splitlines() if line]
        assert lines[0]["type"] == "ERROR"
        status = lines[0]["object"]
        assert status["code"] == 410 and status["reason"] == "Expired" and status["kind"] == "Status"
        assert status["message"].startswith(f"too old resource version: {start} (")
        assert len(lines) == 1
    finally:
        small.stop()
