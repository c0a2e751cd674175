"""Server-side apply through the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException


def _apply(k8s, ns, body, manager, force=False):
    return k8s.apps.patch_namespaced_deployment(
        body["metadata"]["name"],
        ns,
        body,
        field_manager=manager,
        force=force,
        _content_type="application/apply-patch+yaml",
    )


def test_apply_create_update_and_managed_fields(k8s, ns, deployment):
    body = deployment("api", replicas=1)
    created = _apply(k8s, ns, body, "ci")
    assert created.metadata.generation == 1
    entry = next(m for m in created.metadata.managed_fields if m.manager == "ci")
    assert entry.operation == "Apply" and entry.fields_type == "FieldsV1" and entry.api_version == "apps/v1"
    assert "f:replicas" in entry.fields_v1["f:spec"]
    containers = entry.fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert 'k:{"name":"web"}' in containers

    body["metadata"]["labels"]["team"] = "a"
    relabeled = _apply(k8s, ns, body, "ci")
    assert relabeled.metadata.generation == 1 and relabeled.metadata.labels["team"] == "a"

    body["spec"]["replicas"] = 3
    scaled = _apply(k8s, ns, body, "ci")
    assert scaled.metadata.generation == 2 and scaled.spec.replicas == 3

    del body["metadata"]["labels"]["team"]
    pruned = _apply(k8s, ns, body, "ci")
    assert "team" not in pruned.metadata.labels


def test_apply_conflict_between_managers(k8s, ns, deployment):
    _apply(k8s, ns, deployment("shared", replicas=1), "owner")
    other = deployment("shared", replicas=5)
    with pytest.raises(ApiException) as exc:
        _apply(k8s, ns, other, "intruder")
    body = json.loads(exc.value.body)
    assert exc.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "owner" using apps/v1: .spec.replicas'
    assert body["details"]["causes"][0]["field"] == ".spec.replicas"
    forced = _apply(k8s, ns, other, "intruder", force=True)
    assert forced.spec.replicas == 5
    owners = {m.manager: m.fields_v1 for m in forced.metadata.managed_fields}
    assert "f:replicas" in owners["intruder"]["f:spec"]
    assert "f:replicas" not in owners["owner"].get("f:spec", {})


def test_apply_requires_field_manager(emu, ns):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{emu.url}/api/v1/namespaces/{ns}/configmaps/x",
        method="PATCH",
        data=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 422
    req.full_url = f"{emu.url}/api/v1/namespaces/{ns}/configmaps/x?fieldManager=yaml-user"
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 201
        assert json.loads(resp.read())["data"] == {"a": "b"}
