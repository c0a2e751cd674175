"""Leases as kube-apiserver serves them: MicroTimes, validation, create on update, no unconditional update."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from kubernetes.client.exceptions import ApiException

from sandbox.kube import KubeEmulator
from tests.sandbox.kube.conftest import Clients
from tests.sandbox.kube.test_kube_rbac import as_account, grant

COORDINATION = "coordination.k8s.io"


def lease(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{COORDINATION}/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}


def refused(call: Any, code: int) -> str:
    with pytest.raises(ApiException) as exc:
        call()
    assert exc.value.status == code
    return json.loads(exc.value.body)["message"]


def post(emu: KubeEmulator, ns: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as it is (the typed client would turn the times into datetimes and check the types first)."""
    answer = requests.post(
        f"{emu.url}/apis/{COORDINATION}/v1/namespaces/{ns}/leases",
        json=body,
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )
    return answer.status_code, answer.json()


def test_microtimes_are_parsed_and_returned_in_utc(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    status, created = post(
        emu, ns, lease("l", holderIdentity="a", acquireTime="2026-01-01T02:00:00.000000+02:00", renewTime=None)
    )
    assert status == 201
    assert created["spec"] == {"holderIdentity": "a", "acquireTime": "2026-01-01T00:00:00.000000Z"}
    assert k8s.coord.read_namespaced_lease("l", ns).spec.acquire_time == datetime(2026, 1, 1, tzinfo=UTC)
    status, answer = post(emu, ns, lease("m", renewTime="2026-01-01T00:00:00Z"))
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-01-01T00:00:00Z" as '
        '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'
    )
    status, answer = post(emu, ns, lease("m", renewTime="2026-02-30T00:00:00.000000Z"))
    assert (status, answer["message"].rsplit(": ", 1)[-1]) == (400, "day out of range")
    status, answer = post(emu, ns, lease("m", leaseDurationSeconds="15"))
    assert status == 400 and answer["message"].endswith(
        "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32"
    )


def test_spec_validation(k8s: Clients, ns: str) -> None:
    message = refused(lambda: k8s.coord.create_namespaced_lease(ns, lease("l", leaseDurationSeconds=0)), 422)
    assert message == (
        'Lease.coordination.k8s.io "l" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'
    )
    message = refused(lambda: k8s.coord.create_namespaced_lease(ns, lease("l", leaseTransitions=-1)), 422)
    assert message.endswith("spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0")


def test_replace_needs_the_resource_version_and_creates_a_missing_lease(k8s: Clients, ns: str) -> None:
    created, status, _ = k8s.coord.replace_namespaced_lease_with_http_info("l", ns, lease("l", holderIdentity="a"))
    assert status == 201 and created.spec.holder_identity == "a"
    message = refused(lambda: k8s.coord.replace_namespaced_lease("l", ns, lease("l", holderIdentity="b")), 422)
    assert message == (
        'leases.coordination.k8s.io "l" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
        "must be specified for an update"
    )
    body = lease("l", holderIdentity="b")
    body["metadata"]["resourceVersion"] = created.metadata.resource_version
    updated, status, _ = k8s.coord.replace_namespaced_lease_with_http_info("l", ns, body)
    assert status == 200 and updated.spec.holder_identity == "b"
    body["spec"]["holderIdentity"] = "c"  # at the older resourceVersion
    message = refused(lambda: k8s.coord.replace_namespaced_lease("l", ns, body), 409)
    assert message.startswith('Operation cannot be fulfilled on leases.coordination.k8s.io "l": the object has been')
    message = refused(lambda: k8s.coord.create_namespaced_lease(ns, lease("l")), 409)
    assert message == 'leases.coordination.k8s.io "l" already exists'


def test_a_replace_that_creates_needs_create_too(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    rules = [{"apiGroups": [COORDINATION], "resources": ["leases"], "verbs": ["get", "update"]}]
    grant(k8s, ns, rules)
    bot = as_account(emu, k8s, ns)
    assert refused(lambda: bot.coord.replace_namespaced_lease("l", ns, lease("l")), 403).startswith(
        'leases.coordination.k8s.io "l" is forbidden'
    )
    grant(k8s, ns, [{"apiGroups": [COORDINATION], "resources": ["leases"], "verbs": ["create"]}])
    assert bot.coord.replace_namespaced_lease("l", ns, lease("l", holderIdentity="bot")).spec.holder_identity == "bot"
