"""Simulated rollouts, failure modes by image tag, and namespace termination."""

from __future__ import annotations

import json

import pytest
from kubernetes import watch
from kubernetes.client.exceptions import ApiException


def _condition(dep, kind):
    return next((c for c in dep.status.conditions or [] if c.type == kind), None)


def _progress_reason(k8s, ns, name):
    cond = _condition(k8s.apps.read_namespaced_deployment(name, ns), "Progressing")
    return cond.reason if cond else None


def test_deployment_becomes_available(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    wait_for(lambda: _progress_reason(k8s, ns, "web") == "NewReplicaSetAvailable")
    dep = k8s.apps.read_namespaced_deployment("web", ns)
    assert dep.status.observed_generation == 1
    assert (
        dep.status.replicas,
        dep.status.updated_replicas,
        dep.status.ready_replicas,
        dep.status.available_replicas,
    ) == (2, 2, 2, 2)
    assert _condition(dep, "Available").reason == "MinimumReplicasAvailable"
    rs_list = k8s.apps.list_namespaced_replica_set(ns, label_selector="app=web").items
    assert len(rs_list) == 1
    rs = rs_list[0]
    assert _condition(dep, "Progressing").message == f'ReplicaSet "{rs.metadata.name}" has successfully progressed.'
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert rs.metadata.owner_references[0].uid == dep.metadata.uid
    pods = k8s.core.list_namespaced_pod(ns, label_selector="app=web").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.metadata.name.startswith(rs.metadata.name + "-")
        assert pod.metadata.labels["pod-template-hash"] == rs.metadata.labels["pod-template-hash"]
        assert pod.spec.node_name and pod.status.phase == "Running"
        status = pod.status.container_statuses[0]
        assert status.ready and status.image == "example/web:v1" and status.state.running
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"


def test_rolling_update_replaces_pods(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, deployment("roll", replicas=2))
    wait_for(lambda: _progress_reason(k8s, ns, "roll") == "NewReplicaSetAvailable")
    old_pods = {p.metadata.name for p in k8s.core.list_namespaced_pod(ns).items}
    rv = k8s.core.list_namespaced_pod(ns).metadata.resource_version
    k8s.apps.patch_namespaced_deployment(
        "roll", ns, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "example/web:v2"}]}}}}
    )

    def rolled():
        dep = k8s.apps.read_namespaced_deployment("roll", ns)
        cond = _condition(dep, "Progressing")
        return (
            dep.status.observed_generation == 2
            and cond.reason == "NewReplicaSetAvailable"
            and dep.status.replicas == 2
            and dep.status.updated_replicas == 2
        )

    wait_for(rolled)
    wait_for(lambda: not old_pods & {p.metadata.name for p in k8s.core.list_namespaced_pod(ns).items})
    pods = k8s.core.list_namespaced_pod(ns).items
    assert {p.spec.containers[0].image for p in pods} == {"example/web:v2"}
    rs = {
        r.metadata.annotations["deployment.kubernetes.io/revision"]: r.spec.replicas
        for r in k8s.apps.list_namespaced_replica_set(ns).items
    }
    assert rs == {"1": 0, "2": 2}
    deleted = [
        e["object"].metadata.name
        for e in watch.Watch().stream(k8s.core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=1)
        if e["type"] == "DELETED"
    ]
    assert set(deleted) == old_pods
    k8s.apps.patch_namespaced_deployment("roll", ns, {"spec": {"replicas": 3}})
    wait_for(lambda: k8s.apps.read_namespaced_deployment("roll", ns).status.available_replicas == 3)


def test_fail_pull_hits_progress_deadline(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(
        ns, deployment("bad", image="example/web:fail-pull-123", replicas=1, progressDeadlineSeconds=20)
    )
    wait_for(lambda: _progress_reason(k8s, ns, "bad") == "ProgressDeadlineExceeded", timeout=15)
    dep = k8s.apps.read_namespaced_deployment("bad", ns)
    cond = _condition(dep, "Progressing")
    assert cond.status == "False" and cond.message.endswith("has timed out progressing.")
    assert _condition(dep, "Available").reason == "MinimumReplicasUnavailable"

    def waiting_reason():
        pod = k8s.core.list_namespaced_pod(ns).items[0]
        state = pod.status.container_statuses[0].state
        return state.waiting.reason if state.waiting else None

    wait_for(lambda: waiting_reason() == "ImagePullBackOff")
    pod = k8s.core.list_namespaced_pod(ns).items[0]
    assert pod.status.phase == "Pending" and not pod.status.container_statuses[0].ready


def test_crash_loops(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, deployment("crashy", image="example/web:crash", replicas=1))

    def crash_looping():
        pods = k8s.core.list_namespaced_pod(ns).items
        if not pods or not pods[0].status.container_statuses:
            return None
        status = pods[0].status.container_statuses[0]
        if status.state.waiting and status.state.waiting.reason == "CrashLoopBackOff" and status.restart_count > 0:
            return status
        return None

    status = wait_for(crash_looping)
    assert status.last_state.terminated.exit_code == 1 and not status.ready


def test_namespace_termination(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, deployment("gone", replicas=1))
    wait_for(lambda: k8s.core.list_namespaced_pod(ns).items)
    rv = k8s.core.list_namespaced_pod(ns).metadata.resource_version
    answer = json.loads(k8s.core.delete_namespace(ns, _preload_content=False).data)
    assert answer["kind"] == "Namespace" and answer["status"]["phase"] == "Terminating"
    current = k8s.core.read_namespace(ns)
    assert current.status.phase == "Terminating" and current.metadata.deletion_timestamp
    assert current.spec.finalizers == ["kubernetes"]
    k8s.core.delete_namespace(ns)  # deleting again is fine
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    body = json.loads(exc.value.body)
    assert exc.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        f'configmaps "late" is forbidden: unable to create new content in namespace {ns} because it is being terminated'
    )

    def ns_gone():
        try:
            k8s.core.read_namespace(ns)
        except ApiException as err:
            return err.status == 404
        return False

    wait_for(ns_gone)
    deleted = [
        e["object"].metadata.name
        for e in watch.Watch().stream(k8s.core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=1)
        if e["type"] == "DELETED" and e["object"].metadata.namespace == ns
    ]
    assert deleted
    assert not k8s.apps.list_namespaced_deployment(ns).items
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "after"}})
    assert exc.value.status == 404


def test_deployment_deletion_cascades_unless_orphaned(k8s, ns, deployment, wait_for):
    from kubernetes.client import V1DeleteOptions

    for name in ("bg", "fg", "orphan"):
        k8s.apps.create_namespaced_deployment(ns, deployment(name, replicas=1))
    wait_for(lambda: len(k8s.core.list_namespaced_pod(ns).items) == 3)
    k8s.apps.delete_namespaced_deployment("bg", ns)
    k8s.apps.delete_namespaced_deployment("fg", ns, body=V1DeleteOptions(propagation_policy="Foreground"))
    k8s.apps.delete_namespaced_deployment("orphan", ns, propagation_policy="Orphan")

    def remaining_pods():
        return sorted(p.metadata.labels["app"] for p in k8s.core.list_namespaced_pod(ns).items)

    wait_for(lambda: remaining_pods() == ["orphan"])
    wait_for(lambda: not k8s.apps.list_namespaced_deployment(ns).items)
    replica_sets = k8s.apps.list_namespaced_replica_set(ns).items
    assert [r.metadata.labels["app"] for r in replica_sets] == ["orphan"]
    assert not replica_sets[0].metadata.owner_references
