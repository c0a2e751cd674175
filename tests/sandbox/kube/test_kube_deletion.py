"""Deletion as a real cluster does it: namespace termination order and foreground/background cascades."""

from __future__ import annotations

import json

import pytest
from kubernetes import watch
from kubernetes.client import V1DeleteOptions
from kubernetes.client.exceptions import ApiException

MANAGED = {"app.kubernetes.io/managed-by": "previewbot"}
SELECTOR = "app.kubernetes.io/managed-by=previewbot"


def managed_deployment(deployment, name: str, replicas: int) -> dict:
    manifest = deployment(name, replicas=replicas)
    manifest["metadata"]["labels"].update(MANAGED)
    manifest["spec"]["template"]["metadata"]["labels"].update(MANAGED)
    return manifest


def history(k8s, rv: str, namespace: str | None = None) -> list[tuple[int, str, str, dict]]:
    """Every watch event since ``rv`` of namespaces, deployments and pods, in resourceVersion order."""
    listers = {
        "namespace": (k8s.core.list_namespace, ()),
        "deployment": (k8s.apps.list_namespaced_deployment, (namespace,))
        if namespace
        else (k8s.apps.list_deployment_for_all_namespaces, ()),
        "pod": (k8s.core.list_namespaced_pod, (namespace,))
        if namespace
        else (k8s.core.list_pod_for_all_namespaces, ()),
    }
    events = []
    for kind, (lister, args) in listers.items():
        stream = watch.Watch().stream(lister, *args, label_selector=SELECTOR, resource_version=rv, timeout_seconds=1)
        for event in stream:
            obj = event["raw_object"]
            events.append((int(obj["metadata"]["resourceVersion"]), kind, event["type"], obj))
    return sorted(events, key=lambda e: e[0])


def rolled_out(k8s, ns: str, name: str) -> bool:
    """The rollout is complete, so the Deployment's status no longer changes by itself."""
    status = k8s.apps.read_namespaced_deployment(name, ns).status
    return any(c.type == "Progressing" and c.reason == "NewReplicaSetAvailable" for c in status.conditions or [])


def condition(ns_obj: dict, kind: str) -> dict:
    return next(c for c in ns_obj.get("status", {}).get("conditions", []) if c["type"] == kind)


def test_namespace_termination_order(k8s, deployment, wait_for):
    name = "terminate-in-order"
    k8s.core.create_namespace({"metadata": {"name": name, "labels": MANAGED}})
    k8s.apps.create_namespaced_deployment(name, managed_deployment(deployment, "web", 2))
    wait_for(lambda: rolled_out(k8s, name, "web"))
    rv = k8s.core.list_namespace().metadata.resource_version

    answer = json.loads(k8s.core.delete_namespace(name, _preload_content=False).data)
    assert answer["status"]["phase"] == "Terminating" and answer["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespaced_config_map(name, {"metadata": {"generateName": "late-"}})
    assert exc.value.status == 403
    assert json.loads(exc.value.body)["message"] == (
        f'configmaps "Unknown" is forbidden: unable to create new content in namespace {name} '
        "because it is being terminated"
    )

    def gone():
        try:
            k8s.core.read_namespace(name)
        except ApiException as err:
            return err.status == 404
        return False

    wait_for(gone)
    events = history(k8s, rv)
    steps = [(kind, kind_type) for _, kind, kind_type, _ in events]

    # 1. the namespace turns Terminating before anything inside it changes
    first = events[0]
    assert first[1:3] == ("namespace", "MODIFIED")
    assert first[3]["status"]["phase"] == "Terminating" and first[3]["metadata"]["deletionTimestamp"]
    assert first[3]["spec"]["finalizers"] == ["kubernetes"]
    assert not first[3]["status"].get("conditions")

    def index(predicate) -> int:
        return next(i for i, event in enumerate(events) if predicate(*event[1:]))

    # 2. pods go first: they get a deletionTimestamp and disappear after their grace period
    pod_marked = index(
        lambda kind, t, obj: kind == "pod" and t == "MODIFIED" and obj["metadata"].get("deletionTimestamp")
    )
    pods_gone = max(i for i, (kind, t) in enumerate(steps) if (kind, t) == ("pod", "DELETED"))
    assert steps.count(("pod", "DELETED")) == 2
    # the namespace controller records the pods that are still terminating
    remaining = index(
        lambda kind, t, obj: (
            kind == "namespace"
            and obj["status"].get("conditions")
            and condition(obj, "NamespaceContentRemaining")["status"] == "True"
        )
    )
    assert pod_marked < remaining < pods_gone
    remaining_condition = condition(events[remaining][3], "NamespaceContentRemaining")
    assert remaining_condition["reason"] == "SomeResourcesRemain"
    assert remaining_condition["message"] == "Some resources are remaining: pods. has 2 resource instances"
    assert condition(events[remaining][3], "NamespaceDeletionDiscoveryFailure")["status"] == "False"
    assert condition(events[remaining][3], "NamespaceDeletionContentFailure")["reason"] == "ContentDeleted"
    assert condition(events[remaining][3], "NamespaceFinalizersRemaining")["reason"] == "ContentHasNoFinalizers"

    # 3. meanwhile the Deployment still exists and its status follows the terminating pods
    deployment_deleted = index(lambda kind, t, obj: (kind, t) == ("deployment", "DELETED"))
    shrinking = [e[3]["status"] for e in events[pod_marked:deployment_deleted] if e[1:3] == ("deployment", "MODIFIED")]
    assert shrinking and all(s.get("readyReplicas", 0) < 2 for s in shrinking)
    assert any(s.get("terminatingReplicas") == 2 for s in shrinking)
    assert shrinking[-1].get("replicas", 0) == 0 and shrinking[-1].get("terminatingReplicas") == 0

    # 4. then the rest of the content, then the namespace itself
    assert pods_gone < deployment_deleted
    cleared = events[-2]
    assert cleared[1:3] == ("namespace", "MODIFIED")
    assert condition(cleared[3], "NamespaceContentRemaining")["reason"] == "ContentRemoved"
    assert deployment_deleted < len(events) - 2
    assert events[-1][1:3] == ("namespace", "DELETED")
    assert not [e for e in events if e[1] == "pod" and e[2] == "ADDED"]  # no replacement pods


def test_foreground_deletion_waits_for_dependents(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, managed_deployment(deployment, "fg", 1))
    wait_for(lambda: rolled_out(k8s, ns, "fg"))
    rv = k8s.apps.list_namespaced_deployment(ns).metadata.resource_version

    answer = json.loads(
        k8s.apps.delete_namespaced_deployment(
            "fg", ns, body=V1DeleteOptions(propagation_policy="Foreground"), _preload_content=False
        ).data
    )
    assert answer["kind"] == "Deployment" and answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert answer["metadata"]["deletionTimestamp"] and answer["metadata"]["generation"] == 2
    held = k8s.apps.read_namespaced_deployment("fg", ns)
    assert held.metadata.deletion_timestamp and held.metadata.finalizers == ["foregroundDeletion"]

    wait_for(lambda: not k8s.apps.list_namespaced_deployment(ns).items)
    assert not k8s.apps.list_namespaced_replica_set(ns).items and not k8s.core.list_namespaced_pod(ns).items
    events = [e for e in history(k8s, rv, ns) if e[1] != "namespace"]
    deployment_events = [(t, obj) for _, kind, t, obj in events if kind == "deployment"]
    assert deployment_events[0][0] == "MODIFIED"
    assert deployment_events[0][1]["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert deployment_events[-1][0] == "DELETED"
    # the last stored state, finalizer included, is what watchers see on DELETED
    assert deployment_events[-1][1]["metadata"]["finalizers"] == ["foregroundDeletion"]
    # while pods terminate the deployment controller still reports status
    assert [obj["status"].get("readyReplicas", 0) for t, obj in deployment_events if t == "MODIFIED"][-1] == 0
    pod_deleted = next(i for i, e in enumerate(events) if e[1:3] == ("pod", "DELETED"))
    assert pod_deleted < next(i for i, e in enumerate(events) if e[1:3] == ("deployment", "DELETED"))
    pod_marked = next(e[3] for e in events if e[1] == "pod" and e[3]["metadata"].get("deletionTimestamp"))
    assert "finalizers" not in pod_marked["metadata"]  # pods have no dependents: deleted in the background


def test_background_deletion_removes_deployment_at_once(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, managed_deployment(deployment, "bg", 1))
    wait_for(lambda: rolled_out(k8s, ns, "bg"))
    rv = k8s.apps.list_namespaced_deployment(ns).metadata.resource_version
    answer = json.loads(
        k8s.apps.delete_namespaced_deployment("bg", ns, propagation_policy="Background", _preload_content=False).data
    )
    assert answer["kind"] == "Status" and answer["status"] == "Success"
    assert not k8s.apps.list_namespaced_deployment(ns).items
    wait_for(lambda: not k8s.core.list_namespaced_pod(ns).items)
    deployment_events = [(t, obj) for _, kind, t, obj in history(k8s, rv, ns) if kind == "deployment"]
    assert [t for t, _ in deployment_events] == ["DELETED"]
    assert not deployment_events[0][1]["metadata"].get("deletionTimestamp")
