"""previewbot's kustomize installation (k8s/deploy) builds, is valid Kubernetes, and keeps previewbot's conventions.

``kubectl kustomize k8s/deploy/overlays/example`` (the base in ``k8s/deploy/base`` with the example's values)
is built where it lies, as the install instructions build it. Every object is validated against the newest
Kubernetes schemas kubernetes-validate bundles, in strict mode (unknown fields are errors). Also checked: the
Dockerfile, .dockerignore and the monitoring rules and dashboard.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from app import create_app
from integrations.metrics import ROLES
from preview.quantities import parse_quantity
from preview.settings import Settings, load
from tests.helpers import ROOT

DEPLOY = ROOT / "k8s" / "deploy"
BASE = DEPLOY / "base"
EXAMPLE = DEPLOY / "overlays" / "example"
MONITORING = DEPLOY / "monitoring"
SCHEMA_VERSION = kubernetes_validate.latest_version()

NAMESPACE = "previewbot"
SECRETS_NAMESPACE = "previewbot-secrets"  # the source of the Secrets copied into previews
NAME, COMPONENT, PART_OF = "app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of"
COMPONENTS = {"web", "worker", "watcher", "redis"}
#: the component of objects that serve several components (namespace, settings, RBAC, shared policies)
SHARED = "shared"
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
WORKLOADS = {"Deployment", "StatefulSet"}
PRODUCT_PACKAGES = ("preview", "webhooks", "app", "workers", "integrations")
#: what the Secrets a user creates hold (k8s/deploy/README.md), with stand-ins for the settings check
SECRET_VALUES = {
    ("previewbot-github", "webhook-secret"): "webhook-secret-for-the-test",
    ("previewbot-github", "wake-link-secret"): "wake-link-secret-for-the-test",
    ("previewbot-redis", "url"): "rediss://:password@redis.example.internal:6380/0",
    ("previewbot-dashboard", "client-id"): "Iv1.0123456789abcdef",
    ("previewbot-dashboard", "client-secret"): "client-secret-for-the-test",
    ("previewbot-dashboard", "session-key"): "a-session-key-of-at-least-32-characters-for-the-test",
}
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nnot a real key\n-----END RSA PRIVATE KEY-----\n"
METRICS = {
    "previewbot_webhooks_total",
    "previewbot_queue_depth",
    "previewbot_previews",
    "previewbot_pending_oldest_seconds",
    "previewbot_github_budget_paused",
    "previewbot_watcher_leader",
    "previewbot_task_duration_seconds",
    "previewbot_webhook_to_ready_seconds",
    "previewbot_gc_deletions_total",
}
HISTOGRAMS = {"previewbot_task_duration_seconds", "previewbot_webhook_to_ready_seconds"}


# -- building ---------------------------------------------------------------------------------------------------


def kustomize(directory: Path) -> list[dict]:
    """The objects ``kubectl kustomize`` builds from ``directory``."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the manifests are built with `kubectl kustomize`")
    proc = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, f"kubectl kustomize {directory} failed:\n{proc.stderr}"
    docs = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    assert docs, f"kubectl kustomize {directory} built nothing"
    return docs


@pytest.fixture(scope="module")
def example() -> list[dict]:
    """The example overlay, built where it is, as the README's install command builds it."""
    return kustomize(EXAMPLE)


def with_component(root: Path, name: str) -> list[dict]:
    """The example with one of its components switched on, as its comment says to (in a copy under ``root``)."""
    root = root / "deploy"
    shutil.copytree(DEPLOY, root, ignore=shutil.ignore_patterns("monitoring", "README.md"))
    kustomization = root / "overlays" / "example" / "kustomization.yaml"
    text = kustomization.read_text()
    commented = f"#   - {name}\n"
    assert "# components:\n" in text and commented in text, f"the example no longer shows how to enable {name}"
    kustomization.write_text(text.replace("# components:\n", "components:\n").replace(commented, f"  - {name}\n"))
    return kustomize(root / "overlays" / "example")


@pytest.fixture(scope="module")
def external_redis(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return with_component(tmp_path_factory.mktemp("k8s"), "external-redis")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return with_component(tmp_path_factory.mktemp("k8s"), "dashboard")


@pytest.fixture(scope="module")
def monitoring() -> list[dict]:
    return kustomize(MONITORING)


# -- helpers ----------------------------------------------------------------------------------------------------


def ident(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def find(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] in WORKLOADS]


def deployment_of(docs: list[dict], component: str) -> dict:
    found = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get(COMPONENT) == component]
    assert len(found) == 1, f"expected one Deployment of {component}, found {[ident(d) for d in found]}"
    return found[0]


def containers(doc: dict) -> list[dict]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def all_containers(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    for doc in workloads(docs):
        for container in containers(doc):
            yield doc, container


def matches(selector: dict, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector selects ``labels`` (an empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def pod_labels(doc: dict) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"]["labels"]


def image_tag(image: str) -> str | None:
    """The tag of an image reference, ``"@digest"`` for a digest, None without either."""
    if "@" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def validation_errors(docs: list[dict]) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{ident(doc)}: {'.'.join(map(str, exc.path)) or '(top)'}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{ident(doc)}: {exc.message}")
    return errors


class Recorder(dict):
    """An environment that notes every variable the settings loader asks for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:
        self.asked.add(key)
        return super().get(key, default)


def environment(docs: list[dict], workload: dict, key_file: Path) -> dict[str, str]:
    """The environment the container of ``workload`` starts with, secrets replaced by stand-ins.

    A private key file must be a mounted key of the Secret previewbot-github; it is replaced by ``key_file``.
    """
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"{ident(workload)}: settings come from ConfigMaps only"
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        if "fieldRef" in var["valueFrom"]:
            env[var["name"]] = f"<{var['valueFrom']['fieldRef']['fieldPath']}>"
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) in SECRET_VALUES, f"{ident(workload)}: {var['name']} from an unknown Secret"
        env[var["name"]] = SECRET_VALUES[ref["name"], ref["key"]]
    if path := env.get("PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE"):
        mounted = mounted_secret_file(workload, container, path)
        assert mounted == ("previewbot-github", "private-key.pem"), f"{ident(workload)}: {path} is not the App key"
        env["PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE"] = str(key_file)
    return env


def mounted_secret_file(workload: dict, container: dict, path: str) -> tuple[str, str] | None:
    """(Secret, key) of the file ``path`` in ``container``, if a Secret volume provides it."""
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        prefix = mount["mountPath"].rstrip("/") + "/"
        secret = volumes[mount["name"]].get("secret")
        if secret is None or not path.startswith(prefix):
            continue
        for item in secret.get("items", []):
            if prefix + item["path"] == path:
                return secret["secretName"], item["key"]
    return None


# -- building and validity --------------------------------------------------------------------------------------


def test_the_base_builds_in_place() -> None:
    names = {ident(d) for d in kustomize(BASE)}
    assert {"Deployment/previewbot-web", "Deployment/previewbot-worker", "Deployment/previewbot-watcher"} <= names


def test_the_example_builds_every_object_of_the_base(example: list[dict]) -> None:
    assert yaml.safe_load((EXAMPLE / "kustomization.yaml").read_text())["resources"] == ["../../base"]

    def names(docs: list[dict]) -> set[str]:  # generated ConfigMaps end in a hash of their content
        return {re.sub(r"-[a-z0-9]{10}$", "", ident(d)) if d["kind"] == "ConfigMap" else ident(d) for d in docs}

    assert names(example) == names(kustomize(BASE))


def test_every_object_is_valid_kubernetes(
    example: list[dict], external_redis: list[dict], dashboard: list[dict]
) -> None:
    errors = validation_errors(example) + validation_errors(external_redis) + validation_errors(dashboard)
    assert not errors, f"invalid against Kubernetes {SCHEMA_VERSION} (strict):\n" + "\n".join(errors)


def test_strict_validation_refuses_unknown_fields(example: list[dict]) -> None:
    """The validation above would notice a misspelt field (strict schemas forbid additional properties)."""
    deployment = copy.deepcopy(find(example, "Deployment", "previewbot-web"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert validation_errors([deployment])
    deployment = copy.deepcopy(find(example, "Deployment", "previewbot-web"))
    deployment["spec"]["replicas"] = "two"
    assert validation_errors([deployment])


# -- labels, namespace, images ----------------------------------------------------------------------------------


def test_every_object_carries_the_three_labels(example: list[dict], monitoring: list[dict]) -> None:
    for doc in [*example, *monitoring]:
        labels = doc["metadata"].get("labels") or {}
        assert labels.get(NAME) == "previewbot", ident(doc)
        assert labels.get(PART_OF) == "previewbot", ident(doc)
        assert labels.get(COMPONENT) in COMPONENTS | {SHARED, "monitoring"}, ident(doc)
    for doc in workloads(example):
        component = doc["metadata"]["labels"][COMPONENT]
        assert component in COMPONENTS, ident(doc)
        assert {k: pod_labels(doc).get(k) for k in (NAME, COMPONENT, PART_OF)} == {
            NAME: "previewbot",
            COMPONENT: component,
            PART_OF: "previewbot",
        }, f"{ident(doc)}: pod labels"
        assert matches(doc["spec"]["selector"], pod_labels(doc)), f"{ident(doc)}: its selector misses its pods"
    assert {d["metadata"]["labels"][COMPONENT] for d in workloads(example)} == COMPONENTS


def test_everything_lives_in_the_previewbot_namespace(example: list[dict]) -> None:
    for doc in example:
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in doc["metadata"], f"{ident(doc)} is cluster-scoped"
        elif doc["metadata"].get("namespace") == SECRETS_NAMESPACE:  # only previewbot's right to list its Secrets
            assert doc["kind"] in ("Role", "RoleBinding") and doc["metadata"]["name"] == SECRETS_NAMESPACE, ident(doc)
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, ident(doc)
    namespace = find(example, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_images_are_pinned(example: list[dict]) -> None:
    for doc, container in all_containers(example):
        tag = image_tag(container["image"])
        assert tag not in (None, "latest"), f"{ident(doc)}: image {container['image']} needs a fixed tag"
    own = {c["image"] for d in workloads(example) if d["kind"] == "Deployment" for c in containers(d)}
    assert own == {"ghcr.io/previewbot/previewbot:0.1.0"}, "web, worker and watcher run one previewbot image"
    (redis,) = containers(find(example, "StatefulSet", "previewbot-redis"))
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-[a-z0-9.]+)?", redis["image"]), redis["image"]


def test_image_tag_reading() -> None:
    assert image_tag("ghcr.io/previewbot/previewbot:0.1.0") == "0.1.0"
    assert image_tag("registry.example.com:5000/previewbot") is None
    assert image_tag("registry.example.com:5000/previewbot:1") == "1"
    assert image_tag("redis@sha256:" + "0" * 64) == "@digest"


# -- containers -------------------------------------------------------------------------------------------------


def test_every_container_has_requests_and_limits(example: list[dict]) -> None:
    for doc, container in all_containers(example):
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resource in (resources.get(kind) or {}), f"{ident(doc)} {container['name']}: {kind}.{resource}"
        for resource in ("cpu", "memory"):
            request, limit = resources["requests"][resource], resources["limits"][resource]
            assert parse_quantity(request) <= parse_quantity(limit), f"{ident(doc)}: {resource} request over limit"


def test_pods_run_restricted(example: list[dict]) -> None:
    for doc in workloads(example):
        pod = doc["spec"]["template"]["spec"]
        context = pod.get("securityContext") or {}
        assert context.get("runAsNonRoot") is True, ident(doc)
        assert context.get("runAsUser") == 10001, ident(doc)
        assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, ident(doc)
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), ident(doc)
        assert pod.get("enableServiceLinks") is False, f"{ident(doc)}: Service variables would look like settings"
        for container in containers(doc):
            where = f"{ident(doc)} {container['name']}"
            own = container.get("securityContext") or {}
            assert own.get("runAsNonRoot", context.get("runAsNonRoot")) is True, where
            assert own.get("runAsUser", context.get("runAsUser")) == 10001, where
            assert own.get("readOnlyRootFilesystem") is True, where
            assert own.get("allowPrivilegeEscalation") is False, where
            assert own.get("privileged") is not True, where
            assert (own.get("capabilities") or {}).get("drop") == ["ALL"], where
            assert not (own.get("capabilities") or {}).get("add"), where


def test_python_processes_get_a_writable_tmp(example: list[dict]) -> None:
    for component in ("web", "worker", "watcher"):
        doc = deployment_of(example, component)
        volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
        (container,) = containers(doc)
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], f"{component}: /tmp is not an emptyDir"


def test_replicas(example: list[dict]) -> None:
    assert {c: deployment_of(example, c)["spec"]["replicas"] for c in ("web", "worker", "watcher")} == {
        "web": 2,
        "worker": 2,
        "watcher": 2,
    }
    redis = find(example, "StatefulSet", "previewbot-redis")
    assert redis["spec"]["replicas"] == 1
    assert [t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]] == ["data"]
    (container,) = containers(redis)
    args = " ".join(container.get("command", []) + container.get("args", []))
    assert "--appendonly yes" in args


def test_processes_run_what_the_procfile_runs(example: list[dict]) -> None:
    def command(component: str) -> list[str]:
        (container,) = containers(deployment_of(example, component))
        return container.get("command", []) + container.get("args", [])

    assert command("worker")[:3] == ["python", "-m", "workers.worker"]
    assert command("watcher") == ["python", "-m", "workers.watcher"]
    web = command("web")
    assert web[0] == "gunicorn" and web[-1] == "app.wsgi:application()"
    assert "--bind=0.0.0.0:8000" in web


# -- web: probes, Service, Ingress ------------------------------------------------------------------------------


class Queue:
    """Stands in for the intake's Redis queue; ``up`` is what its ping answers."""

    def __init__(self, up: bool) -> None:
        self.up = up

    def submit(self, command: object) -> bool:
        return True

    def ping(self) -> bool:
        return self.up


def test_web_probes_use_endpoints_the_app_serves(example: list[dict]) -> None:
    (container,) = containers(deployment_of(example, "web"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    probes = {kind: container.get(kind) for kind in ("livenessProbe", "readinessProbe")}
    assert all(probes.values()), "web needs liveness and readiness probes"
    for probe in probes.values():
        assert probe["httpGet"]["port"] in ("http", 8000)
    settings = load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "probe-secret"})
    healthy = create_app(settings, Queue(up=True)).test_client()
    for kind, probe in probes.items():
        answer = healthy.get(probe["httpGet"]["path"])
        assert answer.status_code == 200, f"{kind} {probe['httpGet']['path']}: {answer.status_code}"
    # readiness follows Redis; liveness does not (a restart would not bring Redis back)
    unready = create_app(settings, Queue(up=False)).test_client()
    assert unready.get(probes["readinessProbe"]["httpGet"]["path"]).status_code == 503
    assert unready.get(probes["livenessProbe"]["httpGet"]["path"]).status_code == 200


def test_worker_and_watcher_probe_their_health_server(example: list[dict]) -> None:
    from workers.health_server import DEFAULT_PORTS

    for component in ("worker", "watcher"):
        (container,) = containers(deployment_of(example, component))
        (port,) = container["ports"]
        assert (port["name"], port["containerPort"]) == ("metrics", DEFAULT_PORTS[component]), component
        paths = {kind: container[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
        assert paths == {
            "livenessProbe": {"path": "/healthz", "port": "metrics"},
            "readinessProbe": {"path": "/readyz", "port": "metrics"},
        }, component
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env.get("PREVIEWBOT_METRICS_PORT", str(DEFAULT_PORTS[component])) == str(DEFAULT_PORTS[component])


def test_the_ingress_exposes_only_the_webhook_endpoint(example: list[dict]) -> None:
    ingress = find(example, "Ingress", "previewbot-web")
    service = find(example, "Service", "previewbot-web")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "previewbot.example.com"
    assert ingress["spec"]["tls"] == [{"hosts": ["previewbot.example.com"], "secretName": "previewbot-webhook-tls"}]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/webhooks/github", "Exact")
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    (port,) = [p for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]]
    assert port["targetPort"] == "http"
    assert matches({"matchLabels": service["spec"]["selector"]}, pod_labels(deployment_of(example, "web")))
    webhook = create_app(load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "s"}), Queue(up=True)).url_map
    assert any(r.rule == path["path"] and "POST" in r.methods for r in webhook.iter_rules())


# -- settings and secrets ---------------------------------------------------------------------------------------


def test_no_secret_values_are_shipped(example: list[dict], external_redis: list[dict]) -> None:
    assert not [ident(d) for d in [*example, *external_redis] if d["kind"] == "Secret"]
    for doc in example:
        if doc["kind"] == "ConfigMap":
            for key in doc["data"]:
                assert not re.search(r"SECRET|TOKEN|PRIVATE_KEY$|PASSWORD", key), f"{ident(doc)}: {key} is a secret"


@pytest.mark.parametrize("variant", ["example", "external_redis"])
def test_each_process_starts_with_its_settings(variant: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Each process's environment passes the settings loader it runs, and every variable set is a setting."""
    docs = request.getfixturevalue(variant)
    key_file = tmp_path / "private-key.pem"
    key_file.write_text(PRIVATE_KEY)
    loaded: dict[str, Settings] = {}
    for component in ("web", "worker", "watcher"):
        env = Recorder(environment(docs, deployment_of(docs, component), key_file))
        settings = load(env)
        loaded[component] = settings.require_webhook() if component == "web" else settings.require_github()
        unknown = {name for name in env if name.startswith("PREVIEWBOT_")} - env.asked
        assert not unknown, f"{component}: {sorted(unknown)} are not previewbot settings"
    assert loaded["web"].github_private_key is None and loaded["web"].github_app_id is None, "web needs no App key"
    for component in ("worker", "watcher"):
        assert loaded[component].github_app_id == 123456 and loaded[component].github_private_key is not None
        assert not loaded[component].webhook_secrets, f"{component} needs no webhook secret"
    assert len({s.redis_url for s in loaded.values()}) == 1, "all processes share one Redis"
    if variant == "external_redis":
        assert loaded["web"].redis_url == SECRET_VALUES["previewbot-redis", "url"]
    else:
        service = find(docs, "Service", "previewbot-redis")
        assert (
            loaded["web"].redis_url == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
        )
    worker = deployment_of(docs, "worker")["spec"]["template"]["spec"]
    assert loaded["worker"].service_account == f"{NAMESPACE}/{worker['serviceAccountName']}"
    assert find(docs, "ClusterRole", loaded["worker"].preview_role)


def test_the_dashboard_component_gives_web_what_the_dashboard_needs(dashboard: list[dict], tmp_path: Path) -> None:
    key_file = tmp_path / "private-key.pem"
    key_file.write_text(PRIVATE_KEY)
    web = deployment_of(dashboard, "web")
    settings = load(Recorder(environment(dashboard, web, key_file))).require_webhook()
    assert settings.dashboard_mode == "oauth" and settings.github_app_id == 123456 and settings.github_private_key
    spec = web["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is True
    binding = find(dashboard, "ClusterRoleBinding", "previewbot-dashboard")
    account = {"kind": "ServiceAccount", "name": spec["serviceAccountName"], "namespace": NAMESPACE}
    assert binding["subjects"] == [account]
    paths = [p["path"] for p in find(dashboard, "Ingress", "previewbot-web")["spec"]["rules"][0]["http"]["paths"]]
    assert paths == ["/webhooks/github", "/previews"]
    assert ("TCP", 443) in ports(policies_for(dashboard, web, "Egress"), "Egress"), "the dashboard reads GitHub"
    # without the component, web keeps no token, no App key and no way out
    plain = deployment_of(example_docs := kustomize(EXAMPLE), "web")
    assert plain["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert ("TCP", 443) not in ports(policies_for(example_docs, plain, "Egress"), "Egress")


def test_external_redis_replaces_the_bundled_one(external_redis: list[dict]) -> None:
    names = {ident(d) for d in external_redis}
    assert not {"StatefulSet/previewbot-redis", "Service/previewbot-redis", "NetworkPolicy/previewbot-redis"} & names
    assert {ident(d) for d in workloads(external_redis)} == {
        f"Deployment/previewbot-{c}" for c in ("web", "worker", "watcher")
    }


# -- Kubernetes rights ------------------------------------------------------------------------------------------


def without_labels_and_cel_layout(value: object, key: str = "") -> object:
    """``value`` without metadata labels, CEL expressions with their whitespace collapsed.

    kustomize re-folds a folded (``>-``) YAML scalar with more-indented lines, adding a blank line; CEL does
    not care about whitespace, so neither does the comparison.
    """
    if isinstance(value, dict):
        return {
            k: without_labels_and_cel_layout(v, k)
            for k, v in value.items()
            if not (key == "metadata" and k == "labels")
        }
    if isinstance(value, list):
        return [without_labels_and_cel_layout(v) for v in value]
    if key == "expression" and isinstance(value, str):
        return " ".join(value.split())
    return value


def test_rbac_and_admission_policy_are_included_unchanged(example: list[dict]) -> None:
    for name in ("rbac.yaml", "admission-policy.yaml"):
        for original in (d for d in yaml.safe_load_all((BASE / name).read_text()) if d):
            built = find(example, original["kind"], original["metadata"]["name"])
            assert without_labels_and_cel_layout(built) == without_labels_and_cel_layout(original), (
                f"{name}: {ident(original)} changed on the way"
            )
    kinds = {d["kind"] for d in example}
    assert {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy"} <= kinds


def test_only_worker_and_watcher_use_kubernetes_rights(example: list[dict]) -> None:
    """Web's ServiceAccount holds the dashboard's read rights, but its pods mount no token (unless the dashboard
    component is on); Redis gets none at all."""
    bound = {
        subject["name"]
        for doc in example
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in doc.get("subjects", [])
        if subject["kind"] == "ServiceAccount"
    }
    for component in ("worker", "watcher"):
        pod = deployment_of(example, component)["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "previewbot" and pod.get("automountServiceAccountToken", True)
        assert pod["serviceAccountName"] in bound
    for doc in (deployment_of(example, "web"), find(example, "StatefulSet", "previewbot-redis")):
        pod = doc["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, ident(doc)
    redis = find(example, "StatefulSet", "previewbot-redis")["spec"]["template"]["spec"]
    assert redis.get("serviceAccountName", "default") not in bound


# -- disruption budgets and network policies --------------------------------------------------------------------


def test_a_disruption_budget_selects_each_deployment(example: list[dict]) -> None:
    budgets = [d for d in example if d["kind"] == "PodDisruptionBudget"]
    for doc in (d for d in example if d["kind"] == "Deployment"):
        selecting = [b for b in budgets if matches(b["spec"]["selector"], pod_labels(doc))]
        assert len(selecting) == 1, f"{ident(doc)}: {len(selecting)} PodDisruptionBudgets select it"
        spec, replicas = selecting[0]["spec"], doc["spec"]["replicas"]
        allowed = replicas - spec["minAvailable"] if "minAvailable" in spec else spec["maxUnavailable"]
        assert 1 <= allowed < replicas, f"{ident(doc)}: the budget allows {allowed} of {replicas} pods to go"


def policies_for(docs: list[dict], pod: dict, direction: str) -> list[dict]:
    return [
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and direction in d["spec"]["policyTypes"]
        and matches(d["spec"]["podSelector"], pod_labels(pod))
    ]


def ports(policies: list[dict], direction: str) -> set[tuple[str, int]]:
    return {
        (port.get("protocol", "TCP"), port["port"])
        for policy in policies
        for rule in policy["spec"].get(direction.lower(), [])
        for port in rule.get("ports", [])
    }


def test_network_policies(example: list[dict]) -> None:
    pods = {d["metadata"]["labels"][COMPONENT]: d for d in workloads(example)}
    for component, pod in pods.items():
        for direction in ("Ingress", "Egress"):
            deny = [p for p in policies_for(example, pod, direction) if not p["spec"].get(direction.lower())]
            assert deny, f"{component}: no default-deny {direction} policy selects it"
        assert {("UDP", 53), ("TCP", 53)} <= ports(policies_for(example, pod, "Egress"), "Egress"), component
    assert ports(policies_for(example, pods["web"], "Ingress"), "Ingress") == {("TCP", 8000)}
    assert ports(policies_for(example, pods["redis"], "Ingress"), "Ingress") == {("TCP", 6379)}
    for component in ("worker", "watcher"):  # metrics only
        assert ports(policies_for(example, pods[component], "Ingress"), "Ingress") == {("TCP", 9100), ("TCP", 9101)}
    assert ("TCP", 443) not in ports(policies_for(example, pods["web"], "Egress"), "Egress"), "web needs no internet"
    for component in ("web", "worker", "watcher"):
        assert ("TCP", 6379) in ports(policies_for(example, pods[component], "Egress"), "Egress"), component
    for component in ("worker", "watcher"):
        assert ("TCP", 443) in ports(policies_for(example, pods[component], "Egress"), "Egress"), component
    # Redis admits previewbot's pods of its own namespace only
    for policy in policies_for(example, pods["redis"], "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{ident(policy)}: Redis open beyond previewbot's namespace"
                assert not matches(peer["podSelector"], {"app": "someone-else"})
                assert all(matches(peer["podSelector"], pod_labels(pods[c])) for c in ("web", "worker", "watcher"))


# -- monitoring -------------------------------------------------------------------------------------------------


def metric_names(expression: str) -> set[str]:
    names = set()
    for name in re.findall(r"\bpreviewbot_[a-z_]+", expression):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        names.add(base if base in HISTOGRAMS else name)
    return names


def balanced(expression: str) -> bool:
    stack, pairs = [], {")": "(", "]": "[", "}": "{"}
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_alert_rules(monitoring: list[dict]) -> None:
    plain = yaml.safe_load((MONITORING / "previewbot.rules.yaml").read_text())
    assert find(monitoring, "PrometheusRule", "previewbot")["spec"] == plain, "the two rule files differ"
    rules = [rule for group in plain["groups"] for rule in group["rules"]]
    used: set[str] = set()
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
        assert balanced(rule["expr"]), f"{rule['alert']}: unbalanced brackets"
        names = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in metric_names(rule["expr"])}
        exposed = {family for families in ROLES.values() for family in families}  # what the processes serve
        assert names <= exposed, f"{rule['alert']}: unknown metrics {sorted(names - exposed)}"
        used |= names
    # webhook errors, queue backlog, a preview pending too long, GitHub budget exhausted, no watcher leader
    assert {
        "previewbot_webhooks",
        "previewbot_queue_depth",
        "previewbot_pending_oldest_seconds",
        "previewbot_github_budget_paused",
        "previewbot_watcher_leader",
    } <= used
    pending = [r for r in rules if "previewbot_pending_oldest_seconds" in r["expr"]]
    assert [re.search(r">\s*(\d+)", r["expr"]).group(1) for r in pending] == ["600"], "pending over 10 minutes"
    promtool = shutil.which("promtool")
    if promtool:
        check = subprocess.run(
            [promtool, "check", "rules", str(MONITORING / "previewbot.rules.yaml")], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_grafana_dashboard(monitoring: list[dict]) -> None:
    text = (MONITORING / "previewbot-dashboard.json").read_text()
    dashboard = json.loads(text)
    config = find(monitoring, "ConfigMap", "previewbot-grafana-dashboard")
    assert config["data"]["previewbot-dashboard.json"] == text
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["uid"] == "previewbot" and dashboard["title"] == "previewbot"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids repeat"
    used: set[str] = set()
    for panel in panels:
        for target in panel.get("targets", []):
            assert balanced(target["expr"]), f"{panel['title']}: unbalanced brackets"
            assert target["datasource"]["uid"] == "${datasource}"
            used |= metric_names(target["expr"])
    assert used == METRICS, f"unknown: {sorted(used - METRICS)}, not shown: {sorted(METRICS - used)}"
    assert not validation_errors([config])


# -- the image --------------------------------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions of each stage of the Dockerfile (continuations joined), by stage name; ``""``: before any."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {"": []}
    current = ""
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            parts = line.split()
            current = parts[3] if len(parts) > 3 and parts[2].upper() == "AS" else f"final:{parts[1]}"
        stages.setdefault(current, []).append(line)
    return stages


def imports_sandbox(path: Path, top_level_only: bool = False) -> bool:
    tree = ast.parse(path.read_text())
    for node in tree.body if top_level_only else ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        if any(name.split(".")[0] == "sandbox" for name in names):
            return True
    return False


def test_no_product_module_needs_the_sandbox() -> None:
    """Why the image can leave sandbox/ out."""
    users = [
        str(path.relative_to(ROOT))
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if imports_sandbox(path)
    ]
    assert not users, f"these import sandbox, which the image leaves out: {users}"
    # scripts/ (the `previewbot` command and `make run`) imports it only where sandbox mode starts
    eager = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "scripts").glob("*.py")) if imports_sandbox(p, True)]
    assert not eager, f"these import sandbox on import, so the image's `previewbot` command would fail: {eager}"


def test_dockerfile() -> None:
    stages = dockerfile_stages()
    args = dict(line.split(None, 1)[1].split("=", 1) for line in stages[""] if line.upper().startswith("ARG "))
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", args["PYTHON_IMAGE"])
    assert args["INCLUDE_SANDBOX"] == "false"
    (final,) = [name for name in stages if name.startswith("final:")]
    assert final == "final:sandbox-${INCLUDE_SANDBOX}"
    # the sources of each COPY (its words between the instruction and the destination, options left out)
    copies = {
        name: [
            source
            for line in lines
            if line.upper().startswith("COPY ")
            for source in line.split()[1:-1]
            if not source.startswith("--")
        ]
        for name, lines in stages.items()
    }
    assert copies["sandbox-true"] == ["sandbox"] and not copies["sandbox-false"] and not copies[final]
    assert sorted(copies["base"]) == sorted(
        ["pyproject.toml", "README.md", "gunicorn.conf.py", *PRODUCT_PACKAGES, "scripts", "k8s/preview"]
    )
    assert not [p for lines in copies.values() for p in lines if p.startswith(("tests", ".", "bench"))]
    users = [line.split()[1] for lines in stages.values() for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] == "10001"
    exposed = [line.split()[1] for line in stages[final] if line.upper().startswith("EXPOSE ")]
    assert exposed == ["8000"]


def test_dockerignore_keeps_out_tests_and_secrets_but_nothing_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("tests", ".env", ".git", ".venv"):
        assert needed in patterns, needed
    copied = ["pyproject.toml", "README.md", "sandbox", "scripts", "k8s/preview", *PRODUCT_PACKAGES]
    for path in copied:
        assert not any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns), path
