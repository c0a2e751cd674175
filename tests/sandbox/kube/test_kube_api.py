"""Discovery, CRUD, errors, selectors and patches through the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException


def _status(exc: pytest.ExceptionInfo[ApiException]) -> dict:
    return json.loads(exc.value.body)


def test_discovery_via_dynamic_client(k8s, ns, tmp_path):
    client = dynamic.DynamicClient(k8s.api, cache_file=str(tmp_path / "discovery.json"))
    deployments = client.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    leases = client.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    created = leases.create(
        body={
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "leader"},
            "spec": {"holderIdentity": "a"},
        },
        namespace=ns,
    )
    assert created.spec.holderIdentity == "a"
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    assert not namespaces.namespaced
    assert ns in [item.metadata.name for item in namespaces.get().items]
    assert client.version["kubernetes"]["major"] == "1"


def test_crud_and_metadata(k8s, ns):
    cm = k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert cm.metadata.namespace == ns and cm.metadata.uid and cm.metadata.creation_timestamp
    rv1 = int(cm.metadata.resource_version)
    cm.data["a"] = "2"
    updated = k8s.core.replace_namespaced_config_map("cfg", ns, cm)
    assert int(updated.metadata.resource_version) > rv1
    listed = k8s.core.list_namespaced_config_map(ns)
    assert int(listed.metadata.resource_version) >= int(updated.metadata.resource_version)
    assert "cfg" in [i.metadata.name for i in listed.items]
    k8s.core.delete_namespaced_config_map("cfg", ns)
    with pytest.raises(ApiException) as exc:
        k8s.core.read_namespaced_config_map("cfg", ns)
    assert exc.value.status == 404
    assert _status(exc)["message"] == 'configmaps "cfg" not found'


def test_already_exists(k8s, ns, deployment):
    k8s.apps.create_namespaced_deployment(ns, deployment("web"))
    with pytest.raises(ApiException) as exc:
        k8s.apps.create_namespaced_deployment(ns, deployment("web"))
    body = _status(exc)
    assert exc.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'deployments.apps "web" already exists'
    assert body["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


def test_stale_resource_version_conflicts(k8s, ns):
    cm = k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}, "data": {"v": "1"}})
    k8s.core.patch_namespaced_config_map("c", ns, {"data": {"v": "2"}})
    cm.data["v"] = "3"
    with pytest.raises(ApiException) as exc:
        k8s.core.replace_namespaced_config_map("c", ns, cm)
    assert exc.value.status == 409
    assert _status(exc)["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    cm.metadata.resource_version = None
    assert k8s.core.replace_namespaced_config_map("c", ns, cm).data["v"] == "3"


def test_label_selectors(k8s, ns):
    for name, labels in {"a": {"env": "prod", "tier": "web"}, "b": {"env": "dev"}, "c": {"tier": "db"}}.items():
        k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(selector: str) -> list[str]:
        items = k8s.core.list_namespaced_config_map(ns, label_selector=selector).items
        return sorted(i.metadata.name for i in items if i.metadata.name != "kube-root-ca.crt")

    assert names("env=prod") == ["a"]
    assert names("env==dev") == ["b"]
    assert names("env!=prod") == ["b", "c"]
    assert names("env in (prod,dev)") == ["a", "b"]
    assert names("env notin (prod)") == ["b", "c"]
    assert names("tier") == ["a", "c"]
    assert names("!tier") == ["b"]
    assert names("tier,env=prod") == ["a"]
    with pytest.raises(ApiException) as exc:
        k8s.core.list_namespaced_config_map(ns, label_selector="a b c")
    assert exc.value.status == 400


def test_field_selector_and_cluster_wide_list(k8s, ns):
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "two"}})
    items = k8s.core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns},metadata.name=two")
    assert [(i.metadata.namespace, i.metadata.name) for i in items.items] == [(ns, "two")]
    pods = k8s.core.list_pod_for_all_namespaces()
    assert pods.items is not None


def test_patch_flavours(k8s, ns, deployment):
    k8s.apps.create_namespaced_deployment(ns, deployment("web"))
    patched = k8s.apps.patch_namespaced_deployment(
        "web",
        ns,
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "A", "value": "1"}]}]}}}},
    )
    container = patched.spec.template.spec.containers[0]
    assert container.image == "example/web:v1" and container.env[0].name == "A"
    assert patched.metadata.generation == 2
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "m", "labels": {"x": "1", "y": "2"}}})
    out = k8s.core.patch_namespaced_config_map("m", ns, {"metadata": {"labels": {"x": None, "z": "3"}}})
    assert out.metadata.labels == {"y": "2", "z": "3"}
    out = k8s.core.patch_namespaced_config_map(
        "m",
        ns,
        [
            {"op": "add", "path": "/data", "value": {"k": "v"}},
            {"op": "replace", "path": "/metadata/labels/y", "value": "9"},
        ],
    )
    assert out.data == {"k": "v"} and out.metadata.labels["y"] == "9"
    with pytest.raises(ApiException) as exc:
        k8s.core.patch_namespaced_config_map("m", ns, [{"op": "remove", "path": "/data/missing"}])
    assert exc.value.status == 422


def test_merge_patch_content_type(emu, ns, k8s):
    import urllib.request

    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "mp"}, "data": {"a": "1", "b": "2"}})
    req = urllib.request.Request(
        f"{emu.url}/api/v1/namespaces/{ns}/configmaps/mp",
        method="PATCH",
        data=json.dumps({"data": {"a": None, "c": "3"}}).encode(),
        headers={"Content-Type": "application/merge-patch+json", "Authorization": f"Bearer {emu.token}"},
    )
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["data"] == {"b": "2", "c": "3"}


def test_validation_and_missing_namespace(k8s, ns, deployment):
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespace({"metadata": {"name": "Bad_Name"}})
    body = _status(exc)
    assert exc.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    with pytest.raises(ApiException) as exc:
        k8s.apps.create_namespaced_deployment(ns, deployment("Web"))
    assert exc.value.status == 422 and "RFC 1123 subdomain" in _status(exc)["message"]
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespace({"metadata": {"name": "x" * 64}})
    assert "must be no more than 63 characters" in _status(exc)["message"]
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert exc.value.status == 404 and _status(exc)["message"] == 'namespaces "nowhere" not found'
    with pytest.raises(ApiException) as exc:
        k8s.apps.create_namespaced_deployment(ns, {**deployment("x"), "kind": "ReplicaSet"})
    assert exc.value.status == 400


def test_fault_injection_latency_and_record(emu, k8s, ns):
    emu.inject_fault("list", "configmaps", 503, count=1)
    with pytest.raises(ApiException) as exc:
        k8s.core.list_namespaced_config_map(ns)
    assert exc.value.status == 503 and _status(exc)["reason"] == "ServiceUnavailable"
    assert k8s.core.list_namespaced_config_map(ns).items is not None
    emu.inject_fault("create", "*", 429, retry_after=3)
    with pytest.raises(ApiException) as exc:
        k8s.core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "3"
    assert k8s.core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}}).data
    emu.clear_requests()
    emu.set_latency(0.2)
    try:
        import time

        start = time.monotonic()
        k8s.core.read_namespaced_secret("s", ns)
        assert time.monotonic() - start >= 0.2
    finally:
        emu.set_latency(0)
    record = emu.requests
    assert [(r.verb, r.resource, r.namespace, r.name, r.status) for r in record] == [("get", "secrets", ns, "s", 200)]
    assert emu.objects("secrets", ns)[0]["metadata"]["name"] == "s"


def test_finalizers_block_deletion(k8s, ns):
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}})
    k8s.core.delete_namespaced_config_map("f", ns)
    held = k8s.core.read_namespaced_config_map("f", ns)
    assert held.metadata.deletion_timestamp is not None
    k8s.core.patch_namespaced_config_map("f", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as exc:
        k8s.core.read_namespaced_config_map("f", ns)
    assert exc.value.status == 404


def test_rbac_networking_leases(k8s, ns):
    k8s.rbac.create_namespaced_role(
        ns, {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    )
    k8s.rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "rb"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
        },
    )
    k8s.net.create_namespaced_ingress(ns, {"metadata": {"name": "i"}, "spec": {"rules": [{"host": "a.example"}]}})
    k8s.net.create_namespaced_network_policy(ns, {"metadata": {"name": "np"}, "spec": {"podSelector": {}}})
    lease = k8s.coord.create_namespaced_lease(ns, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}})
    assert lease.spec.holder_identity == "me"
    svc = k8s.core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip and svc.spec.ports[0].target_port == 80
    assert [r.metadata.name for r in k8s.rbac.list_namespaced_role_binding(ns).items] == ["rb"]
