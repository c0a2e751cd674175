"""The scale subresource of Deployments and ReplicaSets through the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.sandbox.kube.test_kube_rbac import as_account, grant


def _error(call, code):
    with pytest.raises(ApiException) as exc:
        call()
    assert exc.value.status == code
    return json.loads(exc.value.body)


def _ready_pods(k8s, ns, selector):
    pods = k8s.core.list_namespaced_pod(ns, label_selector=selector).items
    return [p for p in pods if {c.type: c.status for c in p.status.conditions or []}.get("Ready") == "True"]


def _available(k8s, ns, name, replicas):
    dep = k8s.apps.read_namespaced_deployment(name, ns)
    return dep.status.observed_generation == dep.metadata.generation and (dep.status.available_replicas or 0) == (
        replicas
    )


def test_scale_to_zero_and_back(k8s, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=2))
    wait_for(lambda: _available(k8s, ns, "web", 2))
    dep = k8s.apps.read_namespaced_deployment("web", ns)
    scale = k8s.apps.read_namespaced_deployment_scale("web", ns)
    assert (scale.api_version, scale.kind) == ("autoscaling/v1", "Scale")
    meta = scale.metadata
    assert (meta.name, meta.namespace, meta.uid, meta.resource_version, meta.creation_timestamp) == (
        "web",
        ns,
        dep.metadata.uid,
        dep.metadata.resource_version,
        dep.metadata.creation_timestamp,
    )
    assert meta.labels is None and meta.managed_fields is None
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (2, 2, "app=web")

    answer = k8s.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 0}})
    assert answer.spec.replicas is None  # 0 is omitted, as autoscaling/v1 ScaleSpec does
    assert answer.status.replicas == 2  # the controller has not acted yet
    dep = k8s.apps.read_namespaced_deployment("web", ns)
    assert (dep.spec.replicas, dep.metadata.generation) == (0, 2)
    entry = next(m for m in dep.metadata.managed_fields if m.subresource == "scale")
    assert (entry.manager, entry.operation, entry.api_version) == ("OpenAPI-Generator", "Update", "apps/v1")
    assert entry.fields_v1 == {"f:spec": {"f:replicas": {}}}
    assert all("f:replicas" not in (m.fields_v1.get("f:spec") or {}) for m in dep.metadata.managed_fields if m != entry)
    wait_for(lambda: not k8s.core.list_namespaced_pod(ns, label_selector="app=web").items, what="pods gone")
    wait_for(lambda: k8s.apps.read_namespaced_deployment_scale("web", ns).status.replicas == 0)

    scale = k8s.apps.read_namespaced_deployment_scale("web", ns)
    scale.spec.replicas = 3
    answer = k8s.apps.replace_namespaced_deployment_scale("web", ns, scale)
    assert answer.spec.replicas == 3
    wait_for(lambda: _available(k8s, ns, "web", 3))
    assert len(_ready_pods(k8s, ns, "app=web")) == 3
    assert k8s.apps.read_namespaced_deployment("web", ns).metadata.generation == 3


def test_scale_errors(k8s, ns, deployment):
    body = _error(lambda: k8s.apps.read_namespaced_deployment_scale("missing", ns), 404)
    assert body["message"] == 'deployments/scale.apps "missing" not found'
    assert body["details"] == {"name": "missing", "group": "apps", "kind": "deployments/scale"}
    _error(lambda: k8s.apps.patch_namespaced_deployment_scale("missing", ns, {"spec": {"replicas": 1}}), 404)

    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    body = _error(lambda: k8s.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": -1}}), 422)
    assert body["message"] == (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: -1: must be greater than or equal to 0",
            "field": "spec.replicas",
        }
    ]
    assert k8s.apps.read_namespaced_deployment("web", ns).spec.replicas == 1

    stale = k8s.apps.read_namespaced_deployment_scale("web", ns)
    k8s.apps.patch_namespaced_deployment("web", ns, {"metadata": {"labels": {"touched": "yes"}}})
    stale.spec.replicas = 4
    body = _error(lambda: k8s.apps.replace_namespaced_deployment_scale("web", ns, stale), 409)
    assert body["message"].startswith('Operation cannot be fulfilled on deployments.apps "web"')
    assert k8s.apps.read_namespaced_deployment("web", ns).spec.replicas == 1


def test_scale_by_json_patch_and_apply(k8s, ns, deployment):
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    patch = [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    answer = k8s.apps.patch_namespaced_deployment_scale("web", ns, patch)
    assert answer.spec.replicas == 2

    applied = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 5}}
    apply = "application/apply-patch+yaml"
    body = _error(
        lambda: k8s.apps.patch_namespaced_deployment_scale(
            "web", ns, applied, field_manager="autoscaler", _content_type=apply
        ),
        409,
    )
    assert body["message"] == (
        'Apply failed with 1 conflict: conflict with "OpenAPI-Generator" using apps/v1: .spec.replicas'
    )
    answer = k8s.apps.patch_namespaced_deployment_scale(
        "web", ns, applied, field_manager="autoscaler", force=True, _content_type=apply
    )
    assert answer.spec.replicas == 5
    dep = k8s.apps.read_namespaced_deployment("web", ns)
    owners = {(m.manager, m.operation, m.subresource) for m in dep.metadata.managed_fields if "f:spec" in m.fields_v1}
    assert ("autoscaler", "Apply", "scale") in owners
    entry = next(m for m in dep.metadata.managed_fields if m.manager == "autoscaler")
    assert (entry.api_version, entry.fields_v1) == ("apps/v1", {"f:spec": {"f:replicas": {}}})


def test_replicaset_scale(k8s, ns, wait_for):
    labels = {"app": "plain"}
    rs = {
        "metadata": {"name": "plain"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels, "matchExpressions": [{"key": "tier", "operator": "Exists"}]},
            "template": {
                "metadata": {"labels": {**labels, "tier": "web"}},
                "spec": {"containers": [{"name": "web", "image": "example/web:v1"}]},
            },
        },
    }
    k8s.apps.create_namespaced_replica_set(ns, rs)
    scale = k8s.apps.read_namespaced_replica_set_scale("plain", ns)
    assert scale.status.selector == "app=plain,tier"
    k8s.apps.patch_namespaced_replica_set_scale("plain", ns, {"spec": {"replicas": 3}})
    wait_for(lambda: len(_ready_pods(k8s, ns, "app=plain")) == 3)
    wait_for(lambda: k8s.apps.read_namespaced_replica_set_scale("plain", ns).status.replicas == 3)


def test_scale_needs_the_scale_subresource_permission(emu, k8s, ns, deployment):
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=1))
    grant(k8s, ns, [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}])
    bot = as_account(emu, k8s, ns)
    body = _error(lambda: bot.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 2}}), 403)
    assert body["message"] == (
        f'deployments.apps "web" is forbidden: User "system:serviceaccount:{ns}:bot" cannot patch resource '
        f'"deployments/scale" in API group "apps" in the namespace "{ns}"'
    )
    grant(k8s, ns, [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}])
    assert bot.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 2}}).spec.replicas == 2
    assert bot.apps.read_namespaced_deployment_scale("web", ns).spec.replicas == 2
