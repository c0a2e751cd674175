"""LimitRanger and ResourceQuota admission of pods, the quota controller, and FailedCreate in the controllers."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes
import pytest

from tests.helpers import wait_for
from tests.sandbox.kube.conftest import Clients


def _pod(name: str, *containers: dict[str, Any]) -> dict[str, Any]:
    spec = list(containers) or [{"name": "web", "image": "example/web:v1"}]
    return {"metadata": {"name": name}, "spec": {"containers": spec}}


def _refusal(k8s: Clients, ns: str, body: dict[str, Any]) -> str:
    with pytest.raises(kubernetes.client.ApiException) as err:
        k8s.core.create_namespaced_pod(ns, body)
    assert err.value.status == 403
    return str(json.loads(err.value.body)["message"])


def _limit_range(k8s: Clients, ns: str, item: dict[str, Any]) -> None:
    k8s.core.create_namespaced_limit_range(ns, {"metadata": {"name": "limits"}, "spec": {"limits": [item]}})


def _quota(k8s: Clients, ns: str, hard: dict[str, str], name: str = "q") -> None:
    k8s.core.create_namespaced_resource_quota(ns, {"metadata": {"name": name}, "spec": {"hard": hard}})
    wait_for(lambda: (_status(k8s, ns, name).get("hard") or {}) == hard, what="quota status")


def _status(k8s: Clients, ns: str, name: str = "q") -> dict[str, Any]:
    raw = k8s.core.read_namespaced_resource_quota(name, ns)
    return k8s.api.sanitize_for_serialization(raw.status) or {}


def test_limit_range_defaults_fill_container_resources(k8s: Clients, ns: str) -> None:
    _limit_range(k8s, ns, {"type": "Container", "max": {"cpu": "2"}, "defaultRequest": {"cpu": "100m"}})
    (stored,) = k8s.core.list_namespaced_limit_range(ns).items
    item = stored.spec.limits[0]
    assert (item.default, item.default_request, item.max) == ({"cpu": "2"}, {"cpu": "100m"}, {"cpu": "2"})
    plain = k8s.core.create_namespaced_pod(ns, _pod("plain"))
    assert plain.spec.containers[0].resources.to_dict() == {
        "claims": None,
        "limits": {"cpu": "2"},
        "requests": {"cpu": "100m"},
    }
    assert plain.metadata.annotations["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container web; cpu limit for container web"
    )
    assert plain.status.qos_class == "Burstable"
    limited = _pod("limited", {"name": "web", "image": "example/web:v1", "resources": {"limits": {"cpu": "500m"}}})
    created = k8s.core.create_namespaced_pod(ns, limited)
    assert created.spec.containers[0].resources.requests == {"cpu": "500m"}  # from its own limit, not the default


def test_limit_range_refuses_containers_outside_min_and_max(k8s: Clients, ns: str) -> None:
    _limit_range(k8s, ns, {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"memory": "64Mi"}})
    big = {"name": "web", "image": "example/web:v1", "resources": {"limits": {"cpu": "4"}}}
    assert _refusal(k8s, ns, _pod("web-abc", big)) == (
        'pods "web-abc" is forbidden: maximum cpu usage per Container is 2, but limit is 4'
    )
    small = {"name": "web", "image": "example/web:v1", "resources": {"requests": {"memory": "32Mi"}}}
    assert _refusal(k8s, ns, _pod("small", small)) == (
        'pods "small" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi'
    )
    both = {"name": "web", "image": "example/web:v1", "resources": {"limits": {"cpu": "3", "memory": "2Gi"}}}
    assert _refusal(k8s, ns, _pod("both", both)) == (
        'pods "both" is forbidden: [maximum cpu usage per Container is 2, but limit is 3, '
        "maximum memory usage per Container is 1Gi, but limit is 2Gi]"
    )
    assert not k8s.core.list_namespaced_pod(ns).items


def test_quota_requires_resources_it_limits_and_counts_pods(k8s: Clients, ns: str) -> None:
    _quota(k8s, ns, {"pods": "2", "limits.cpu": "1"})
    assert _status(k8s, ns)["used"] == {"pods": "0", "limits.cpu": "0"}
    bare = _pod("bare", {"name": "web", "image": "example/web:v1"}, {"name": "side", "image": "example/side:v1"})
    assert _refusal(k8s, ns, bare) == (
        'pods "bare" is forbidden: failed quota: q: must specify limits.cpu for: side,web'
    )
    sized = {"name": "web", "image": "example/web:v1", "resources": {"limits": {"cpu": "400m"}}}
    k8s.core.create_namespaced_pod(ns, _pod("a", sized))
    k8s.core.create_namespaced_pod(ns, _pod("b", sized))
    assert _status(k8s, ns)["used"] == {"pods": "2", "limits.cpu": "800m"}
    assert _refusal(k8s, ns, _pod("c", sized)) == (
        'pods "c" is forbidden: exceeded quota: q, requested: limits.cpu=400m,pods=1, used: '
        "limits.cpu=800m,pods=2, limited: limits.cpu=1,pods=2"
    )
    k8s.core.delete_namespaced_pod("a", ns)
    wait_for(lambda: _status(k8s, ns)["used"] == {"pods": "1", "limits.cpu": "400m"}, what="usage after delete")
    k8s.core.create_namespaced_pod(ns, _pod("c", sized))


def _condition(obj: Any, kind: str) -> Any:
    return next((c for c in obj.status.conditions or [] if c.type == kind), None)


def test_deployment_beyond_pod_quota_reports_replica_failure_until_quota_is_raised(
    k8s: Clients, ns: str, deployment: Any
) -> None:
    _quota(k8s, ns, {"pods": "2"})
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=3))
    rs = wait_for(lambda: (k8s.apps.list_namespaced_replica_set(ns).items or [None])[0], what="replica set")
    name = rs.metadata.name
    failed = wait_for(lambda: _condition(k8s.apps.read_namespaced_replica_set(name, ns), "ReplicaFailure"))
    assert (failed.status, failed.reason) == ("True", "FailedCreate")
    expected = (
        rf'pods "{name}-[a-z0-9]{{5}}" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, '
        r"limited: pods=2"
    )
    assert re.fullmatch(expected, failed.message), failed.message
    deploy_failed = wait_for(lambda: _condition(k8s.apps.read_namespaced_deployment("web", ns), "ReplicaFailure"))
    assert (deploy_failed.status, deploy_failed.reason, deploy_failed.message) == (
        "True",
        "FailedCreate",
        failed.message,
    )
    assert len(k8s.core.list_namespaced_pod(ns).items) == 2
    k8s.core.patch_namespaced_resource_quota("q", ns, {"spec": {"hard": {"pods": "3"}}})
    wait_for(lambda: len(k8s.core.list_namespaced_pod(ns).items) == 3, timeout=60, what="third pod")
    wait_for(lambda: _condition(k8s.apps.read_namespaced_replica_set(name, ns), "ReplicaFailure") is None)
    wait_for(lambda: _condition(k8s.apps.read_namespaced_deployment("web", ns), "ReplicaFailure") is None)
    wait_for(lambda: _status(k8s, ns)["used"] == {"pods": "3"}, what="quota usage")
