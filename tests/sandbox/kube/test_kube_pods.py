"""Cluster-wide pod watches and the kubelet's container waiting reasons and messages."""

from __future__ import annotations

import pytest
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from sandbox.kube import nonroot

MANAGED = "app.kubernetes.io/managed-by=previewbot"


def pod(name: str, image: str, **container) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "web", "image": image, **container}]}}


def waiting(k8s, ns: str, name: str):
    statuses = k8s.core.read_namespaced_pod(name, ns).status.container_statuses or []
    return statuses[0].state.waiting if statuses and statuses[0].state.waiting else None


def reasons_until(k8s, ns: str, name: str, rv: str, stop, timeout: int = 10) -> list:
    """Successive waiting states (reason, message) of the pod's container, until ``stop(states)``."""
    w, states, previous = watch.Watch(), [], None
    for event in w.stream(
        k8s.core.list_namespaced_pod,
        ns,
        field_selector=f"metadata.name={name}",
        resource_version=rv,
        timeout_seconds=timeout,
    ):
        statuses = event["object"].status.container_statuses or []
        state = statuses[0].state.waiting if statuses else None
        current = (state.reason, state.message) if state else None
        if current != previous and current is not None:
            states.append(current)
        previous = current
        if stop(states):
            w.stop()
    return states


def test_cluster_wide_pod_watch_with_label_selector(emu, k8s, deployment):
    namespaces = []
    emu.clear_requests()
    rv = k8s.core.list_pod_for_all_namespaces(label_selector=MANAGED).metadata.resource_version
    for managed in (True, False):
        name = f"pw-{'managed' if managed else 'other'}"
        k8s.core.create_namespace({"metadata": {"name": name}})
        namespaces.append(name)
        manifest = deployment("web", replicas=1)
        if managed:
            template = manifest["spec"]["template"]["metadata"]
            template["labels"]["app.kubernetes.io/managed-by"] = "previewbot"
            template["annotations"] = {"previewbot/sha": "abc123"}
        k8s.apps.create_namespaced_deployment(name, manifest)
    w, events = watch.Watch(), []
    for event in w.stream(
        k8s.core.list_pod_for_all_namespaces,
        label_selector=MANAGED,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=20,
    ):
        if event["type"] == "BOOKMARK":
            continue
        obj = event["object"]
        last_rv = obj.metadata.resource_version
        events.append((event["type"], obj.metadata.namespace, obj.status.phase, bool(obj.metadata.deletion_timestamp)))
        ready = any(c.type == "Ready" and c.status == "True" for c in obj.status.conditions or [])
        if event["type"] == "ADDED":
            assert obj.metadata.labels["app.kubernetes.io/managed-by"] == "previewbot"
            assert obj.metadata.annotations == {"previewbot/sha": "abc123"}
        if ready and not obj.metadata.deletion_timestamp:
            k8s.apps.delete_namespaced_deployment("web", obj.metadata.namespace)
        if event["type"] == "DELETED":
            w.stop()
    assert {e[1] for e in events} == {"pw-managed"}
    assert events[0][:3] == ("ADDED", "pw-managed", "Pending")
    assert ("MODIFIED", "pw-managed", "Running", False) in events
    assert ("MODIFIED", "pw-managed", "Running", True) in events  # deletionTimestamp set, grace period runs
    assert ("MODIFIED", "pw-managed", "Succeeded", True) in events  # containers stopped
    assert events[-1][0] == "DELETED"
    quiet = list(
        watch.Watch().stream(
            k8s.core.list_pod_for_all_namespaces,
            label_selector=MANAGED,
            resource_version=last_rv,
            allow_watch_bookmarks=True,
            timeout_seconds=1,
        )
    )
    assert quiet and {e["type"] for e in quiet} == {"BOOKMARK"}
    bookmark = quiet[-1]["raw_object"]
    assert bookmark["kind"] == "Pod" and bookmark["spec"] == {"containers": None}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(last_rv)
    request = next(r for r in emu.requests if r.verb == "watch" and r.resource == "pods")
    assert request.path == "/api/v1/pods" and request.namespace is None
    assert request.query["labelSelector"] == MANAGED and request.query["watch"] == "true"
    emu.compact()
    with pytest.raises(ApiException) as exc:
        list(watch.Watch().stream(k8s.core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=1))
    assert exc.value.status == 410
    for name in namespaces:
        k8s.core.delete_namespace(name)


def test_image_pull_failure_alternates_with_back_off(k8s, ns):
    rv = k8s.core.list_namespaced_pod(ns).metadata.resource_version
    k8s.core.create_namespaced_pod(ns, pod("puller", "example/web:fail-pull-7"))
    states = reasons_until(k8s, ns, "puller", rv, lambda s: len(s) >= 5)
    ref = "docker.io/example/web:fail-pull-7"
    pull_error = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )
    back_off = f'Back-off pulling image "example/web:fail-pull-7": ErrImagePull: {pull_error}'
    assert states == [
        ("ContainerCreating", None),
        ("ErrImagePull", pull_error),
        ("ImagePullBackOff", back_off),
        ("ErrImagePull", pull_error),
        ("ImagePullBackOff", back_off),
    ]
    current = k8s.core.read_namespaced_pod("puller", ns)
    assert current.status.phase == "Pending" and current.status.pod_ip
    assert current.status.container_statuses[0].image_id == ""


def test_pull_error_names_short_images_as_containerd_does(k8s, ns, wait_for):
    k8s.core.create_namespaced_pod(ns, pod("short", "nginx:fail-pull"))
    state = wait_for(lambda: (w := waiting(k8s, ns, "short")) and w.reason == "ErrImagePull" and w)
    ref = "docker.io/library/nginx:fail-pull"
    assert state.message == (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )


def test_crash_loop_back_off_doubles(k8s, ns):
    rv = k8s.core.list_namespaced_pod(ns).metadata.resource_version
    uid = k8s.core.create_namespaced_pod(ns, pod("crasher", "example/web:crash-1")).metadata.uid
    states = reasons_until(k8s, ns, "crasher", rv, lambda s: len(s) >= 3, timeout=15)
    prefix = "back-off {} restarting failed container=web pod=crasher_" + f"{ns}({uid})"
    assert states == [
        ("ContainerCreating", None),
        ("CrashLoopBackOff", prefix.format("10s")),
        ("CrashLoopBackOff", prefix.format("20s")),
    ]
    status = k8s.core.read_namespaced_pod("crasher", ns).status
    container = status.container_statuses[0]
    assert status.phase == "Running" and not container.ready and container.restart_count == 2
    terminated = container.last_state.terminated
    assert terminated.exit_code == 1 and terminated.reason == "Error" and terminated.finished_at


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (":::", "invalid reference format"),
        ("example/Web:v1", "invalid reference format: repository name (example/Web) must be lowercase"),
    ],
)
def test_unparseable_image_is_invalid_image_name(k8s, ns, wait_for, image, error):
    k8s.core.create_namespaced_pod(ns, pod("invalid", image))
    state = wait_for(lambda: (w := waiting(k8s, ns, "invalid")) and w.reason == "InvalidImageName" and w)
    assert state.message == (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": {error}'
    )
    assert k8s.core.read_namespaced_pod("invalid", ns).status.phase == "Pending"


def test_missing_config_is_create_container_config_error_until_created(k8s, ns, wait_for):
    env = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "OPTIONAL", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}},
    ]
    k8s.core.create_namespaced_pod(
        ns, pod("configured", "example/web:v1", env=env, envFrom=[{"configMapRef": {"name": "settings"}}])
    )

    def config_error(message):
        def check():
            state = waiting(k8s, ns, "configured")
            return state is not None and state.reason == "CreateContainerConfigError" and state.message == message

        wait_for(check, what=message)

    config_error('configmap "settings" not found')
    k8s.core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"MODE": "demo"}})
    config_error('secret "db" not found')
    k8s.core.create_namespaced_secret(ns, {"metadata": {"name": "db"}, "stringData": {"user": "app"}})
    config_error(f"couldn't find key password in Secret {ns}/db")
    assert k8s.core.read_namespaced_pod("configured", ns).status.phase == "Pending"
    k8s.core.patch_namespaced_secret("db", ns, {"stringData": {"password": "s3cret"}})

    def ready():
        status = k8s.core.read_namespaced_pod("configured", ns).status
        return status.phase == "Running" and status.container_statuses[0].ready

    wait_for(ready)


@pytest.mark.parametrize(
    ("image", "root"),
    [
        ("nginx", True),
        ("nginx:1.27", True),
        ("docker.io/library/nginx@sha256:" + "a" * 64, True),
        ("example/web:run-as-root", True),
        ("example/web-run-as-root:v1", True),
        ("example/nginx:v1", False),
        ("example/web:v1", False),
        (":::", False),
    ],
)
def test_which_images_run_as_root(image, root):
    assert nonroot.runs_as_root(image) is root


def test_run_as_non_root_refuses_a_root_image_like_the_kubelet(k8s, ns, wait_for):
    k8s.core.create_namespaced_pod(ns, pod("strict", "nginx:1.27", securityContext={"runAsNonRoot": True}))
    relaxed = pod("relaxed", "nginx:1.27", securityContext={"runAsNonRoot": False})  # the container's own wins
    relaxed["spec"]["securityContext"] = {"runAsNonRoot": True}
    k8s.core.create_namespaced_pod(ns, relaxed)
    as_user = {"runAsNonRoot": True, "runAsUser": 101}  # a non-root user given: the image's user does not matter
    k8s.core.create_namespaced_pod(ns, pod("uid", "example/web:run-as-root", securityContext=as_user))
    uid = k8s.core.read_namespaced_pod("strict", ns).metadata.uid
    message = f'container has runAsNonRoot and image will run as root (pod: "strict_{ns}({uid})", container: web)'

    def refused():
        state = waiting(k8s, ns, "strict")
        return state is not None and state.reason == "CreateContainerConfigError" and state.message == message

    wait_for(refused, what=message)

    def running(name):
        status = k8s.core.read_namespaced_pod(name, ns).status
        return status.phase == "Running" and status.container_statuses[0].ready

    wait_for(lambda: running("relaxed") and running("uid"), what="root allowed, or a non-root user given")
    assert k8s.core.read_namespaced_pod("strict", ns).status.phase == "Pending"


def _registry_auth(k8s, ns: str, name: str, host: str, kind: str = "kubernetes.io/dockerconfigjson") -> None:
    import base64
    import json

    config = json.dumps({"auths": {host: {"auth": base64.b64encode(b"user:password").decode()}}})
    data = {".dockerconfigjson": base64.b64encode(config.encode()).decode()}
    k8s.core.create_namespaced_secret(ns, {"metadata": {"name": name}, "type": kind, "data": data})


def test_private_registry_denies_a_pull_without_credentials(k8s, ns):
    _registry_auth(k8s, ns, "other-registry", "registry.example.com")
    rv = k8s.core.list_namespaced_pod(ns).metadata.resource_version
    spec = pod("denied", "private.example.com/shop/web:v1")
    spec["spec"]["imagePullSecrets"] = [{"name": "other-registry"}, {"name": "absent"}]
    k8s.core.create_namespaced_pod(ns, spec)
    states = reasons_until(k8s, ns, "denied", rv, lambda s: len(s) >= 3)
    ref = "private.example.com/shop/web:v1"
    denied = (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": failed to resolve reference '
        f'"{ref}": pull access denied, repository does not exist or may require authorization: server message: '
        "insufficient_scope: authorization failed"
    )
    assert states == [
        ("ContainerCreating", None),
        ("ErrImagePull", denied),
        ("ImagePullBackOff", f'Back-off pulling image "{ref}": ErrImagePull: {denied}'),
    ]


def test_private_registry_pulls_with_a_matching_image_pull_secret(k8s, ns, wait_for):
    _registry_auth(k8s, ns, "private-registry", "https://private.example.com")
    spec = pod("allowed", "private.example.com/shop/web:v1")
    spec["spec"]["imagePullSecrets"] = [{"name": "private-registry"}]
    k8s.core.create_namespaced_pod(ns, spec)
    wait_for(lambda: (s := k8s.core.read_namespaced_pod("allowed", ns).status.container_statuses) and s[0].ready)
