"""The Kubernetes adapter against the in-repo API emulator."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from integrations.kube import KubeCluster, WatchExpired, api_error
from integrations.render import TemplateRenderer
from preview import naming
from preview.models import ObjectRef
from preview.ports import PermanentError, TemporaryError
from preview.settings import DEFAULT_TEMPLATES, Settings
from sandbox.kube import KubeEmulator
from tests.helpers import free_port
from tests.unit.test_render import make_values

_names = itertools.count(1)


@pytest.fixture(scope="module")
def emu(kube: KubeEmulator) -> KubeEmulator:
    """The shared module-scoped emulator (``kube`` in tests/conftest.py)."""
    return kube


@pytest.fixture(scope="module")
def cluster(emu: KubeEmulator) -> KubeCluster:
    return KubeCluster(emu.api_client())


@pytest.fixture
def ns(cluster: KubeCluster) -> str:
    """A fresh namespace per test, so tests sharing the emulator never collide."""
    name = f"t-{next(_names)}"
    cluster.apply(namespace(name))
    return name


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(ns: str, data: dict[str, str], name: str = "cm") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def deployment(ns: str, image: str = "nginx:1", name: str = "web", labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {**labels, "app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def one(emu: KubeEmulator, resource: str, ns: str, name: str) -> dict:
    found = [o for o in emu.objects(resource, ns) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{resource} {ns}/{name}: {len(found)} found"
    return found[0]


def requests_since(emu: KubeEmulator, mark: int) -> list:
    return list(emu.requests[mark:])


def test_from_settings_uses_the_kubeconfig(emu: KubeEmulator, tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    emu.write_kubeconfig(path)
    cluster = KubeCluster.from_settings(Settings(kubeconfig=str(path)))
    try:
        assert cluster.read_namespace("default") is not None
        assert cluster.read_namespace("nope") is None
    finally:
        cluster.close()


def test_read_namespace(cluster: KubeCluster, ns: str) -> None:
    assert cluster.read_namespace("does-not-exist") is None
    cluster.apply({**namespace(ns), "metadata": {"name": ns, "annotations": {"previewbot.io/sha": "abc"}}})
    info = cluster.read_namespace(ns)
    assert info is not None
    assert (info.name, info.phase, info.terminating) == (ns, "Active", False)
    assert info.annotations["previewbot.io/sha"] == "abc"


def test_apply_creates_then_updates(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    cluster.apply(configmap(ns, {"a": "1"}))
    assert one(emu, "configmaps", ns, "cm")["data"] == {"a": "1"}
    cluster.apply(configmap(ns, {"a": "2", "b": "3"}))
    assert one(emu, "configmaps", ns, "cm")["data"] == {"a": "2", "b": "3"}

    cluster.apply(deployment(ns, "nginx:1"))
    first = one(emu, "deployments", ns, "web")
    cluster.apply(deployment(ns, "nginx:1"))
    assert one(emu, "deployments", ns, "web")["metadata"]["generation"] == first["metadata"]["generation"]
    cluster.apply(deployment(ns, "nginx:2"))
    second = one(emu, "deployments", ns, "web")
    assert second["metadata"]["generation"] == first["metadata"]["generation"] + 1
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_apply_is_exactly_one_patch(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    mark = len(emu.requests)
    cluster.apply(configmap(ns, {"x": "y"}, name="single"))
    made = requests_since(emu, mark)
    assert len(made) == 1, made
    request = made[0]
    assert request.verb == "apply"  # the emulator's name for a PATCH with an apply-patch body
    assert (request.resource, request.namespace, request.name) == ("configmaps", ns, "single")
    assert request.query.get("fieldManager") == naming.FIELD_MANAGER
    assert request.query.get("force") == "true"


def test_apply_full_preview(cluster: KubeCluster, emu: KubeEmulator) -> None:
    values = make_values(env={"FEATURE": "on"}, ingress_class="nginx")
    objects = TemplateRenderer(DEFAULT_TEMPLATES).render(values)
    for obj in objects:
        cluster.apply(obj)
    name = values["namespace"]
    assert cluster.read_namespace(name) is not None
    for obj in objects[1:]:
        irregular = {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}
        plural = irregular.get(obj["kind"], obj["kind"].lower() + "s")
        stored = one(emu, plural, name, obj["metadata"]["name"])
        assert values["labels"].items() <= stored["metadata"]["labels"].items()
    stored = one(emu, "deployments", name, "web")
    assert stored["metadata"]["annotations"][naming.Annotations.SHA] == values["sha"]
    cluster.delete_namespace(name)


def test_unknown_kind_is_permanent(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    mark = len(emu.requests)
    manifest = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x", "namespace": ns}}
    with pytest.raises(PermanentError, match="CronJob"):
        cluster.apply(manifest)
    with pytest.raises(PermanentError, match="CronJob"):
        cluster.delete(ObjectRef.of(manifest))
    assert requests_since(emu, mark) == []


def test_delete_missing_is_fine(cluster: KubeCluster, ns: str, emu: KubeEmulator) -> None:
    cluster.delete(ObjectRef("v1", "ConfigMap", "never-existed", ns))
    cluster.apply(configmap(ns, {"k": "v"}, name="doomed"))
    cluster.delete(ObjectRef("v1", "ConfigMap", "doomed", ns))
    assert [o for o in emu.objects("configmaps", ns) if o["metadata"]["name"] == "doomed"] == []
    cluster.delete(ObjectRef("v1", "ConfigMap", "doomed", ns))


def test_delete_namespace_twice(cluster: KubeCluster, ns: str) -> None:
    cluster.apply(configmap(ns, {"k": "v"}))
    cluster.delete_namespace(ns)
    cluster.delete_namespace(ns)
    cluster.delete_namespace("never-existed")
    info = cluster.read_namespace(ns)
    assert info is None or info.terminating


def test_server_errors_are_temporary(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    emu.inject_fault("apply", "configmaps", 503)
    with pytest.raises(TemporaryError) as err:
        cluster.apply(configmap(ns, {"a": "1"}))
    assert "503" in str(err.value)
    assert emu.token not in str(err.value)
    cluster.apply(configmap(ns, {"a": "1"}))  # the fault was used up


def test_throttling_honours_retry_after(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    emu.inject_fault("apply", "configmaps", 429, retry_after=7)
    with pytest.raises(TemporaryError) as err:
        cluster.apply(configmap(ns, {"a": "1"}))
    assert err.value.delay == 7


def test_conflict_is_temporary(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    emu.inject_fault("apply", "deployments", 409)
    with pytest.raises(TemporaryError):
        cluster.apply(deployment(ns))


def test_invalid_object_is_permanent_with_message(cluster: KubeCluster, ns: str) -> None:
    with pytest.raises(PermanentError) as err:
        cluster.apply(configmap(ns, {"a": "1"}, name="Not_Valid"))
    assert not isinstance(err.value, TemporaryError)
    message = str(err.value)
    assert "422" in message and "Not_Valid" in message
    assert "RFC 1123" in message


def test_apply_into_missing_namespace_is_permanent(cluster: KubeCluster) -> None:
    with pytest.raises(PermanentError, match="404"):
        cluster.apply(configmap("no-such-namespace", {"a": "1"}))


def test_apply_into_terminating_namespace_is_temporary(cluster: KubeCluster, ns: str) -> None:
    cluster.apply(configmap(ns, {"a": "1"}))
    cluster.delete_namespace(ns)
    info = cluster.read_namespace(ns)
    if info is None:
        pytest.skip("the emulator removed the namespace at once")
    with pytest.raises(TemporaryError, match="being terminated") as err:
        cluster.apply(configmap(ns, {"a": "2"}, name="late"))
    assert err.value.delay


def test_unreachable_server_is_temporary() -> None:
    configuration = client.Configuration(host=f"http://127.0.0.1:{free_port()}")
    configuration.retries = False
    cluster = KubeCluster(client.ApiClient(configuration), request_timeout=(1.0, 1.0))
    with pytest.raises(TemporaryError, match="cannot reach"):
        cluster.read_namespace("x")


def collect(events: Iterator[tuple[str, dict]], until: str, name: str) -> list[tuple[str, dict]]:
    """Read events until ``until`` arrives for ``name`` (or the watch times out)."""
    seen = []
    with contextlib.closing(events):  # type: ignore[type-var]
        for event in events:
            seen.append(event)
            if event[0] == until and event[1].get("metadata", {}).get("name") == name:
                break
    return seen


def test_list_and_watch_deployments(cluster: KubeCluster, emu: KubeEmulator, ns: str) -> None:
    selector = f"team={ns}"
    items, version = cluster.list_deployments(selector)
    assert items == [] and version

    cluster.apply(deployment(ns, name="first", labels={"team": ns}))
    seen = collect(cluster.watch_deployments(selector, version, timeout_seconds=5), "ADDED", "first")
    assert seen and seen[-1][0] == "ADDED"
    added = seen[-1][1]
    assert added["metadata"]["namespace"] == ns and added["spec"]["replicas"] == 1
    assert all(obj.get("metadata", {}).get("labels", {}).get("team") in (ns, None) for _, obj in seen)

    resume = added["metadata"]["resourceVersion"]
    cluster.apply(deployment(ns, name="first", image="nginx:9", labels={"team": ns}))
    cluster.delete(ObjectRef("apps/v1", "Deployment", "first", ns))
    seen = collect(cluster.watch_deployments(selector, resume, timeout_seconds=5), "DELETED", "first")
    kinds = [kind for kind, _ in seen if kind != "BOOKMARK"]
    assert "ADDED" not in kinds
    assert "MODIFIED" in kinds and kinds[-1] == "DELETED"

    items, _ = cluster.list_deployments(selector)
    assert items == []


def test_list_deployments_returns_plain_dicts(cluster: KubeCluster, ns: str) -> None:
    cluster.apply(deployment(ns, name="listed", labels={"listed": ns}))
    items, version = cluster.list_deployments(f"listed={ns}")
    assert [item["metadata"]["name"] for item in items] == ["listed"]
    assert items[0]["kind"] == "Deployment" and "resourceVersion" in items[0]["metadata"]
    assert int(version) >= int(items[0]["metadata"]["resourceVersion"])


def test_list_pods(cluster: KubeCluster, ns: str) -> None:
    assert cluster.list_pods(ns, "app=nothing") == []
    assert isinstance(cluster.list_pods(ns), list)


def test_watch_expired() -> None:
    emulator = KubeEmulator(history_window=2).start()
    try:
        cluster = KubeCluster(emulator.api_client())
        _, version = cluster.list_deployments("")
        cluster.apply(namespace("expiring"))
        for i in range(4):
            cluster.apply(configmap("expiring", {"i": str(i)}, name=f"cm-{i}"))
        with pytest.raises(WatchExpired):
            for _ in cluster.watch_deployments("", version, timeout_seconds=2):
                pass
    finally:
        emulator.stop()


def test_watch_http_410_and_errors(cluster: KubeCluster, emu: KubeEmulator) -> None:
    _, version = cluster.list_deployments("")
    emu.inject_fault("watch", "deployments", 410)
    with pytest.raises(WatchExpired):
        list(cluster.watch_deployments("", version, timeout_seconds=2))
    emu.inject_fault("watch", "deployments", 503)
    with pytest.raises(TemporaryError):
        list(cluster.watch_deployments("", version, timeout_seconds=2))


def test_quiet_watch_sends_bookmarks_and_ends(cluster: KubeCluster) -> None:
    _, version = cluster.list_deployments("quiet=yes")
    events = list(cluster.watch_deployments("quiet=yes", version, timeout_seconds=1))
    assert events and {kind for kind, _ in events} == {"BOOKMARK"}
    assert all(obj["metadata"]["resourceVersion"] for _, obj in events)


@pytest.mark.parametrize(
    ("status", "body", "headers", "temporary", "delay"),
    [
        (500, None, None, True, None),
        (504, None, {"Retry-After": "2"}, True, 2.0),
        (429, None, None, True, None),
        (429, None, {"Retry-After": "soon"}, True, None),
        (409, '{"kind": "Status", "message": "the object has been modified"}', None, True, None),
        (403, '{"message": "namespace x is being terminated"}', None, True, 5.0),
        (403, '{"message": "forbidden: cannot patch"}', None, False, None),
        (400, '{"message": "bad patch"}', None, False, None),
        (401, "not json", None, False, None),
        (404, None, None, False, None),
        (422, '{"message": "is invalid"}', None, False, None),
    ],
)
def test_error_mapping(
    status: int, body: str | None, headers: dict | None, temporary: bool, delay: float | None
) -> None:
    error = api_error("apply X", status, body, headers, reason="Reason")
    assert isinstance(error, TemporaryError) is temporary
    assert isinstance(error, PermanentError) is not temporary
    assert str(error).startswith(f"apply X: HTTP {status}: ")
    if temporary:
        assert error.delay == delay
    if body and body.startswith("{"):
        assert str(error).endswith(body.split('"message": "')[1].rstrip('"}'))


def test_from_settings_with_a_broken_kubeconfig(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    with pytest.raises(PermanentError, match="Kubernetes configuration"):
        KubeCluster.from_settings(Settings(kubeconfig=str(path)))
