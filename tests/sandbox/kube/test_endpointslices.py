"""EndpointSlices maintained for Services by the emulated endpointslice controller."""

from __future__ import annotations

import kubernetes
import pytest
from kubernetes import watch

MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SERVICE_NAME = "kubernetes.io/service-name"


@pytest.fixture
def disc(k8s):
    return kubernetes.client.DiscoveryV1Api(k8s.api)


def _app(deployment, name, image="example/web:v1", replicas=2):
    manifest = deployment(name, image=image, replicas=replicas)
    manifest["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080}]
    return manifest


def _service(name, selector, **spec):
    ports = [{"name": "web", "port": 80, "targetPort": "http"}, {"name": "metrics", "port": 9090}]
    return {
        "metadata": {"name": name, "labels": {"team": "shop"}},
        "spec": {"selector": selector, "ports": ports, **spec},
    }


def _slices(disc, ns, service):
    return disc.list_namespaced_endpoint_slice(ns, label_selector=f"{SERVICE_NAME}={service}").items


def _endpoints(disc, ns, service):
    """``{pod name: endpoint}`` over the Service's slices."""
    return {ep.target_ref.name: ep for s in _slices(disc, ns, service) for ep in s.endpoints or []}


def _ready_pods(k8s, ns, app):
    pods = k8s.core.list_namespaced_pod(ns, label_selector=f"app={app}").items
    return {
        p.metadata.name: p for p in pods if {c.type: c.status for c in p.status.conditions or []}.get("Ready") == "True"
    }


def _serving(disc, ns, service, pods):
    """The Service's ready endpoints are exactly ``pods`` (non-empty)."""
    eps = _endpoints(disc, ns, service)
    return bool(pods) and {n for n, ep in eps.items() if ep.conditions.ready} == set(pods) == set(eps)


def test_discovery_lists_endpointslices(k8s):
    resources = kubernetes.client.DiscoveryV1Api(k8s.api).get_api_resources()
    assert resources.group_version == "discovery.k8s.io/v1"
    entry = next(r for r in resources.resources if r.name == "endpointslices")
    assert (entry.kind, entry.namespaced, entry.singular_name) == ("EndpointSlice", True, "endpointslice")
    assert {"list", "watch", "get"} <= set(entry.verbs)
    groups = {g.name for g in kubernetes.client.ApisApi(k8s.api).get_api_versions().groups}
    assert "discovery.k8s.io" in groups


def test_slice_follows_the_pods(k8s, disc, ns, deployment, wait_for):
    svc = k8s.core.create_namespaced_service(ns, _service("web", {"app": "web"}))
    placeholder = wait_for(lambda: _slices(disc, ns, "web"))[0]
    assert placeholder.endpoints is None and placeholder.ports is None
    name = placeholder.metadata.name
    assert name.startswith("web-") and len(name) == len("web-") + 5
    assert placeholder.metadata.generate_name == "web-"
    assert placeholder.address_type == "IPv4"
    assert placeholder.metadata.labels == {
        "team": "shop",
        SERVICE_NAME: "web",
        MANAGED_BY: "endpointslice-controller.k8s.io",
    }
    ref = placeholder.metadata.owner_references[0]
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == ("v1", "Service", "web", svc.metadata.uid)
    assert ref.controller and ref.block_owner_deletion

    k8s.apps.create_namespaced_deployment(ns, _app(deployment, "web"))
    wait_for(lambda: len(_ready_pods(k8s, ns, "web")) == 2)
    wait_for(lambda: _serving(disc, ns, "web", _ready_pods(k8s, ns, "web")))
    (slice_,) = _slices(disc, ns, "web")
    assert slice_.metadata.name == name
    assert [(p.name, p.protocol, p.port) for p in slice_.ports] == [("web", "TCP", 8080), ("metrics", "TCP", 9090)]
    for pod_name, pod in _ready_pods(k8s, ns, "web").items():
        ep = _endpoints(disc, ns, "web")[pod_name]
        assert ep.addresses == [pod.status.pod_ip]
        assert (ep.conditions.ready, ep.conditions.serving, ep.conditions.terminating) == (True, True, False)
        assert (ep.target_ref.kind, ep.target_ref.namespace, ep.target_ref.uid) == ("Pod", ns, pod.metadata.uid)
        assert ep.node_name == pod.spec.node_name == "sandbox-node"

    k8s.apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 1}})
    wait_for(lambda: len(_endpoints(disc, ns, "web")) == 1)
    assert [s.metadata.name for s in _slices(disc, ns, "web")] == [name]

    k8s.core.delete_namespaced_service("web", ns)
    wait_for(lambda: not _slices(disc, ns, "web"), what="slices garbage-collected")


def test_not_ready_pods_are_listed_as_not_ready(k8s, disc, ns, deployment, wait_for):
    k8s.core.create_namespaced_service(ns, _service("crashy", {"app": "crashy"}))
    k8s.apps.create_namespaced_deployment(ns, _app(deployment, "crashy", image="example/web:crash", replicas=1))
    eps = wait_for(lambda: _endpoints(disc, ns, "crashy"))
    (pod,) = k8s.core.list_namespaced_pod(ns, label_selector="app=crashy").items
    ep = eps[pod.metadata.name]
    assert ep.addresses == [pod.status.pod_ip]
    assert (ep.conditions.ready, ep.conditions.serving, ep.conditions.terminating) == (False, False, False)


def test_selector_change_moves_the_endpoints(k8s, disc, ns, deployment, wait_for):
    k8s.apps.create_namespaced_deployment(ns, _app(deployment, "blue"))
    k8s.apps.create_namespaced_deployment(ns, _app(deployment, "green", replicas=1))
    k8s.core.create_namespaced_service(ns, _service("site", {"app": "blue"}))
    wait_for(lambda: len(_ready_pods(k8s, ns, "blue")) == 2)
    wait_for(lambda: _serving(disc, ns, "site", _ready_pods(k8s, ns, "blue")))
    name = _slices(disc, ns, "site")[0].metadata.name

    k8s.core.patch_namespaced_service("site", ns, {"spec": {"selector": {"app": "green"}}})
    wait_for(lambda: len(_ready_pods(k8s, ns, "green")) == 1)
    wait_for(lambda: _serving(disc, ns, "site", _ready_pods(k8s, ns, "green")), what="endpoints on green")
    assert [s.metadata.name for s in _slices(disc, ns, "site")] == [name]
    green = next(iter(_ready_pods(k8s, ns, "green").values()))
    assert _endpoints(disc, ns, "site")[green.metadata.name].addresses == [green.status.pod_ip]


def test_deleted_pod_is_terminating_until_it_stops(k8s, disc, ns, deployment, wait_for):
    k8s.core.create_namespaced_service(ns, _service("web", {"app": "web"}))
    k8s.apps.create_namespaced_deployment(ns, _app(deployment, "web", replicas=1))
    wait_for(lambda: _serving(disc, ns, "web", _ready_pods(k8s, ns, "web")))
    (pod_name,) = _ready_pods(k8s, ns, "web")
    rv = disc.list_namespaced_endpoint_slice(ns).metadata.resource_version
    k8s.core.delete_namespaced_pod(pod_name, ns)
    wait_for(lambda: pod_name not in _endpoints(disc, ns, "web"), what="old pod gone from the slice")
    states = [
        (ep.conditions.ready, ep.conditions.serving, ep.conditions.terminating)
        for event in watch.Watch().stream(
            disc.list_namespaced_endpoint_slice, ns, resource_version=rv, timeout_seconds=1
        )
        for ep in event["object"].endpoints or []
        if ep.target_ref.name == pod_name
    ]
    assert (False, True, True) in states  # listed while it shuts down: serving, but no longer ready


def test_service_without_selector_gets_no_slice(k8s, disc, ns, wait_for):
    k8s.core.create_namespaced_service(ns, {"metadata": {"name": "manual"}, "spec": {"ports": [{"port": 80}]}})
    k8s.core.create_namespaced_service(ns, _service("auto", {"app": "none"}))
    wait_for(lambda: _slices(disc, ns, "auto"))
    assert not _slices(disc, ns, "manual")
