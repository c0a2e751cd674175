"""The preview templates: golden output, hostile PR text, and the renderer's guarantees."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import yaml

from integrations.render import RenderError, TemplateRenderer, to_yaml
from preview import naming
from preview.ports import PermanentError
from preview.settings import DEFAULT_TEMPLATES
from tests.helpers import ROOT

GOLDEN = Path(__file__).parent / "golden"
REPO = "octo-org/hello-world"
NUMBER = 42
SHA = "0123456789abcdef0123456789abcdef01234567"
HOSTILE_TITLE = "x\nkind: Secret\n{{ 7*7 }}"
HOSTILE_BRANCH = 'feat: "quoted" # not a comment {{ branch }}'


def make_values(**overrides: object) -> dict:
    """A complete values dict as the lifecycle builds it."""
    namespace = naming.namespace_name(REPO, NUMBER)
    host = naming.preview_host(REPO, NUMBER, "preview.example.com")
    values: dict = {
        "namespace": namespace,
        "repo": REPO,
        "owner": "octo-org",
        "repo_name": "hello-world",
        "number": NUMBER,
        "sha": SHA,
        "short_sha": naming.short_sha(SHA),
        "branch": "feature/login",
        "base": "main",
        "title": "Add login page",
        "author": "mona",
        "image": f"registry.example.com/octo-org/hello-world:{SHA}",
        "host": host,
        "url": f"https://{host}",
        "port": 8080,
        "health_path": "/healthz",
        "replicas": 1,
        "progress_deadline_seconds": 600,
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "resources_max": {"cpu": "2", "memory": "2Gi"},
        "env": {},
        "secret_env": [],
        "labels": naming.labels(REPO, NUMBER),
        "annotations": {
            naming.Annotations.REPO: REPO,
            naming.Annotations.PR: str(NUMBER),
            naming.Annotations.INSTALLATION: "1234",
            naming.Annotations.URL: f"https://{host}",
            naming.Annotations.SHA: SHA,
            naming.Annotations.CONTEXT: "preview",
        },
        "ingress_class": "",
        "ingress_namespace": "ingress-nginx",
        "egress": "open",
        "quota": {"cpu": "2", "memory": "2Gi", "pods": "10"},
        "run_as_root": False,
        "root_capabilities": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        "pod_security": "baseline",
        "image_pull_secrets": [],
        "tls": None,
    }
    values.update(overrides)
    return values


def dump(objects: list[dict]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=True, default_flow_style=False, allow_unicode=True)


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(DEFAULT_TEMPLATES)


def by_kind(objects: list[dict]) -> dict[str, dict]:
    return {obj["kind"]: obj for obj in objects}


@pytest.mark.parametrize(
    ("golden", "overrides"),
    [
        ("preview.yaml", {}),
        (
            "preview-ingress-class-env.yaml",
            {
                "ingress_class": "nginx",
                "env": {"LOG_LEVEL": "debug", "A": "1"},
                "secret_env": [{"name": "DATABASE_URL", "secret": "preview-db", "key": "url"}],
            },
        ),
        (
            "preview-pull-secrets-tls.yaml",
            {
                "image_pull_secrets": ["registry-auth"],
                "tls": {"secret": "preview-tls", "cluster_issuer": "letsencrypt"},
            },
        ),
    ],
)
def test_golden(renderer: TemplateRenderer, golden: str, overrides: dict) -> None:
    """Set UPDATE_GOLDEN=1 to rewrite the stored output after an intended template change."""
    text = dump(renderer.render(make_values(**overrides)))
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {golden}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_order_and_kinds(renderer: TemplateRenderer) -> None:
    kinds = [obj["kind"] for obj in renderer.render(make_values())]
    assert kinds == [
        "Namespace", "ResourceQuota", "LimitRange", "ConfigMap", "Deployment", "Service", "Ingress", "NetworkPolicy"
    ]


def _isolation(renderer: TemplateRenderer, **overrides: object) -> dict:
    return by_kind(renderer.render(make_values(**overrides)))["NetworkPolicy"]["spec"]


def test_other_namespaces_cannot_reach_a_preview_but_the_ingress_controller_can(renderer: TemplateRenderer) -> None:
    spec = _isolation(renderer, ingress_namespace="traefik")
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]  # every pod; egress stays open
    (rule,) = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {}},  # its own namespace
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}},
    ]


def test_egress_can_be_restricted(renderer: TemplateRenderer) -> None:
    none = _isolation(renderer, egress="none")
    assert none["policyTypes"] == ["Ingress", "Egress"]
    assert [list(rule["to"][0]) for rule in none["egress"]] == [["podSelector"], ["namespaceSelector"]]
    assert {p["port"] for p in none["egress"][1]["ports"]} == {53}
    internet = _isolation(renderer, egress="internet")
    block = internet["egress"][-1]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0" and "10.0.0.0/8" in block["except"] and "169.254.0.0/16" in block["except"]


def test_hostile_pr_text_round_trips(renderer: TemplateRenderer) -> None:
    clean = renderer.render(make_values())
    hostile = renderer.render(make_values(title=HOSTILE_TITLE, branch=HOSTILE_BRANCH, author="a: b\n- c"))
    assert [(o["kind"], o["metadata"]["name"]) for o in hostile] == [(o["kind"], o["metadata"]["name"]) for o in clean]
    objs = by_kind(hostile)
    annotations = objs["Namespace"]["metadata"]["annotations"]
    assert annotations["previewbot.io/title"] == HOSTILE_TITLE
    assert annotations["previewbot.io/branch"] == HOSTILE_BRANCH
    assert annotations["previewbot.io/author"] == "a: b\n- c"
    assert objs["ConfigMap"]["data"]["PREVIEW_BRANCH"] == HOSTILE_BRANCH
    assert set(objs["ConfigMap"]["data"]) == set(by_kind(clean)["ConfigMap"]["data"])
    assert set(annotations) == set(by_kind(clean)["Namespace"]["metadata"]["annotations"])
    assert "Secret" not in objs


def test_env_entries_are_strings(renderer: TemplateRenderer) -> None:
    env = {"FEATURE_FLAG": "on", "WEIRD": "1: {a} # b", "NUMBERISH": "007"}
    data = by_kind(renderer.render(make_values(env=env)))["ConfigMap"]["data"]
    assert {k: data[k] for k in env} == env
    assert data["PREVIEW"] == "true"
    assert data["PREVIEW_PR_NUMBER"] == "42"
    assert all(isinstance(v, str) for v in data.values())


def test_every_object_has_labels_and_namespace(renderer: TemplateRenderer) -> None:
    values = make_values()
    for obj in renderer.render(values):
        meta = obj["metadata"]
        assert values["labels"].items() <= meta["labels"].items(), obj["kind"]
        assert obj["apiVersion"] and meta["name"]
        if obj["kind"] == "Namespace":
            assert "namespace" not in meta
            assert naming.Annotations.SHA not in meta["annotations"]
        else:
            assert meta["namespace"] == values["namespace"]


def test_containers_have_resources_and_probes(renderer: TemplateRenderer) -> None:
    deployments = [o for o in renderer.render(make_values()) if o["kind"] == "Deployment"]
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert set(container["resources"]) == {"requests", "limits"}
            for kind in ("cpu", "memory"):
                assert container["resources"]["requests"][kind]
                assert container["resources"]["limits"][kind]
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["runAsNonRoot"] is True


def test_selector_is_stable_and_template_changes_per_sha(renderer: TemplateRenderer) -> None:
    first = by_kind(renderer.render(make_values()))
    second = by_kind(renderer.render(make_values(sha="f" * 40, short_sha="f" * 7)))
    assert first["Deployment"]["spec"]["selector"] == second["Deployment"]["spec"]["selector"]
    assert first["Service"]["spec"]["selector"] == first["Deployment"]["spec"]["selector"]["matchLabels"]
    template_labels = first["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert first["Deployment"]["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
    assert second["Deployment"]["spec"]["template"]["metadata"]["annotations"] == {"previewbot.io/sha": "f" * 40}


def test_ingress_class_only_when_set(renderer: TemplateRenderer) -> None:
    assert "ingressClassName" not in by_kind(renderer.render(make_values()))["Ingress"]["spec"]
    spec = by_kind(renderer.render(make_values(ingress_class="nginx")))["Ingress"]["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["rules"][0]["host"] == make_values()["host"]


def test_missing_variable_names_the_template(renderer: TemplateRenderer) -> None:
    values = make_values()
    del values["health_path"]
    with pytest.raises(RenderError) as err:
        renderer.render(values)
    assert isinstance(err.value, PermanentError)
    assert err.value.template == "30-deployment.yaml.j2"
    assert "health_path" in str(err.value)


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


BASE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ namespace | yaml }}\n"


def test_yaml_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "00-ns.yaml.j2", BASE)
    write(tmp_path, "10-bad.yaml.j2", "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n")
    with pytest.raises(RenderError, match=r"10-bad\.yaml\.j2: invalid YAML at line \d"):
        TemplateRenderer(tmp_path).render(make_values())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "without apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "without kind"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "without metadata.name"),
        ("apiVersion: v1\nkind: ConfigMap\n", "without metadata"),
        ("- just a list\n", "not a mapping"),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n", "not the preview's namespace"),
    ],
)
def test_missing_fields(tmp_path: Path, text: str, problem: str) -> None:
    write(tmp_path, "10-broken.yaml.j2", text)
    with pytest.raises(RenderError, match=problem) as err:
        TemplateRenderer(tmp_path).render(make_values())
    assert err.value.template == "10-broken.yaml.j2"


def test_enforces_labels_namespace_and_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        "00-svc.yaml.j2",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
        "  namespace: elsewhere\n  labels: {team: x, app.kubernetes.io/managed-by: someone}\n",
    )
    write(
        tmp_path,
        "10-multi.yaml.j2",
        "---\napiVersion: v1\nkind: Role\nmetadata: {name: r}\n---\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    )
    write(tmp_path, "20-ns.yaml.j2", BASE)
    write(tmp_path, "_partial.yaml.j2", "not: rendered: alone")
    write(tmp_path, "notes.txt", "ignored")
    values = make_values()
    objects = TemplateRenderer(tmp_path).render(values)
    assert [o["kind"] for o in objects] == ["Namespace", "Deployment", "Service", "Role"]
    service = objects[2]
    assert service["metadata"]["namespace"] == values["namespace"]
    assert service["metadata"]["labels"] == {"team": "x", **values["labels"]}


def test_extra_dirs_add_and_override(tmp_path: Path) -> None:
    base, extra = tmp_path / "base", tmp_path / "extra"
    base.mkdir()
    extra.mkdir()
    write(base, "00-ns.yaml.j2", BASE)
    write(base, "10-cm.yaml.j2", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n")
    write(extra, "10-cm.yaml.j2", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: override}\n")
    write(extra, "20-sa.yaml.j2", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra}\n")
    objects = TemplateRenderer(base, [extra]).render(make_values())
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", make_values()["namespace"]),
        ("ServiceAccount", "extra"),
        ("ConfigMap", "override"),
    ]


def test_no_templates_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no"):
        TemplateRenderer(tmp_path).render(make_values())


@pytest.mark.parametrize(
    "value",
    [
        HOSTILE_TITLE,
        "",
        "null",
        "yes",
        "0x1F",
        "1e3",
        "~",
        "'single' \"double\" \\back\\slash",
        "tab\there\r\nwindows",
        "}{][,&*!|>%@`",
        "".join(chr(c) for c in range(0, 0x2100)),
        "\u2028\u2029\ufeff\U0001f600 emoji",
        {"nested": ["list", 1, True, None], "k: v": "#"},
    ],
)
def test_yaml_filter_round_trips(value: object) -> None:
    assert yaml.safe_load(f"key: {to_yaml(value)}\n") == {"key": value}


def test_repository_templates_add_namespaced_objects(renderer: TemplateRenderer) -> None:
    extra = {
        "worker.yaml.j2": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: elsewhere\n"
            "data:\n  pr: {{ number | string | yaml }}\n"
        )
    }
    objects = renderer.render(make_values(), extra)
    (added,) = [o for o in objects if o["metadata"]["name"] == "extra"]
    assert added["metadata"]["namespace"] == make_values()["namespace"]  # forced into the preview
    assert added["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "previewbot"
    assert added["data"] == {"pr": str(NUMBER)}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ namespace }}\n", "may not create a Namespace"),
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: x\n",
            "may not create a ClusterRole",
        ),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe template"),
    ],
)
def test_repository_templates_are_confined(renderer: TemplateRenderer, text: str, problem: str) -> None:
    with pytest.raises(RenderError, match=problem):
        renderer.render(make_values(), {"evil.yaml.j2": text})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{% for i in range(10**9) %}{% endfor %}", "Range too big"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "s of CPU"),
        ("{{ 'x' * 10**9 }}", "MiB|memory|bytes"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "recursion too deep"),
        ("{% include 'loop.yaml.j2' %}", "recursion too deep"),
    ],
)
def test_hostile_repository_templates_end_in_a_named_failure(
    renderer: TemplateRenderer, text: str, problem: str
) -> None:
    started = time.monotonic()
    with pytest.raises(RenderError, match=problem) as info:
        renderer.render(make_values(), {"loop.yaml.j2": text})
    assert str(info.value).startswith("loop.yaml.j2")
    assert time.monotonic() - started < 20  # the child's limits, not the test's patience, ended it


def test_template_failures_name_the_line(renderer: TemplateRenderer) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ 1 // 0 }}\n"
    with pytest.raises(RenderError, match=r"^bad.yaml.j2 line 6: ZeroDivisionError"):
        renderer.render(make_values(), {"bad.yaml.j2": text})


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            CONFIGMAP + "  annotations:\n    previewbot.io/repo: other/repo\n",
            "may not set previewbot's previewbot.io/repo",
        ),
        (CONFIGMAP + "  labels:\n    app.kubernetes.io/managed-by: me\n", "may not set previewbot's"),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\nspec:\n  template:\n    metadata:\n"
            "      annotations:\n        previewbot.io/sha: 0000000000000000000000000000000000000000\n",
            "spec.template.metadata.annotations may not set previewbot's previewbot.io/sha",
        ),
        (
            CONFIGMAP + "  annotations:\n    previewbot.io/strategy: rolling\n",
            "ConfigMap extra: metadata.annotations may not set previewbot's previewbot.io/strategy",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\n  annotations:\n"
            "    previewbot.io/strategy: blue-green\n",
            "Deployment db: metadata.annotations may not set previewbot's previewbot.io/strategy",
        ),
        ("apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: more\n", "may not create a ResourceQuota"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", "may not create a Pod"),
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b\n"
            "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n",
            "may refer only to a Role",
        ),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n", "already defined by the preview"),
    ],
)
def test_repository_templates_cannot_claim_previewbots_objects(
    renderer: TemplateRenderer, text: str, problem: str
) -> None:
    with pytest.raises(RenderError, match=problem):
        renderer.render(make_values(), {"claim.yaml.j2": text})


def test_repository_workloads_get_previewbots_labels_on_their_pods(renderer: TemplateRenderer) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\nspec:\n  selector:\n    matchLabels:\n"
        "      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers: []\n"
    )
    (db,) = [o for o in renderer.render(make_values(), {"db.yaml.j2": text}) if o["metadata"]["name"] == "db"]
    labels = db["spec"]["template"]["metadata"]["labels"]
    assert labels["app"] == "db" and labels["app.kubernetes.io/managed-by"] == "previewbot"


def test_the_namespace_enforces_the_pod_security_level(renderer: TemplateRenderer) -> None:
    labels = by_kind(renderer.render(make_values(pod_security="restricted")))["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["app.kubernetes.io/managed-by"] == "previewbot"


def restricted_violations(pod_spec: dict) -> list[str]:
    """The Pod Security Standards' restricted profile, for the fields the templates set."""
    problems = []
    pod_ctx = pod_spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            problems.append(key)
    if any("hostPath" in v for v in pod_spec.get("volumes") or []):
        problems.append("hostPath volume")
    for container in (pod_spec.get("initContainers") or []) + pod_spec["containers"]:
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            problems.append("privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation")
        if (ctx.get("capabilities") or {}).get("drop") != ["ALL"]:
            problems.append("capabilities.drop")
        if set((ctx.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append("capabilities.add")
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            problems.append("runAsNonRoot")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile")
        if container.get("ports") and any(p.get("hostPort") for p in container["ports"]):
            problems.append("hostPort")
    return problems


def test_the_default_templates_pass_the_restricted_profile(renderer: TemplateRenderer) -> None:
    for obj in renderer.render(make_values()):
        if obj["kind"] == "Deployment":
            assert restricted_violations(obj["spec"]["template"]["spec"]) == []


ROLE = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules:\n"


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ('  - apiGroups: [""]\n    resources: [namespaces]\n    verbs: [patch]\n', "on namespaces"),
        ('  - apiGroups: [""]\n    resources: ["*"]\n    verbs: [get]\n', "wildcards"),
        ("  - apiGroups: [rbac.authorization.k8s.io]\n    resources: [roles]\n    verbs: [create]\n", "API groups"),
    ],
)
def test_repository_roles_stay_inside_the_preview(renderer: TemplateRenderer, rules: str, problem: str) -> None:
    with pytest.raises(RenderError, match=problem):
        renderer.render(make_values(), {"role.yaml.j2": ROLE + rules})


def test_a_repository_role_for_its_own_pods_is_fine(renderer: TemplateRenderer) -> None:
    rules = '  - apiGroups: [""]\n    resources: [pods]\n    verbs: [list, watch]\n'
    assert any(o["kind"] == "Role" for o in renderer.render(make_values(), {"role.yaml.j2": ROLE + rules}))


def test_the_readme_database_example_renders_as_written(renderer: TemplateRenderer) -> None:
    """The README's repository-template example (an app with its PostgreSQL) is accepted and lands in the preview."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Example: an app with its database") :]
    config, template = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[:2]
    assert yaml.safe_load(config)["env"]["DATABASE_URL"] == {"secret": "app-db", "key": "url"}
    objects = renderer.render(make_values(), {"database.yaml.j2": template})
    ours = {(o["kind"], o["metadata"]["name"]) for o in objects if o["metadata"]["name"] in ("db", "app-db")}
    assert ours == {("Secret", "app-db"), ("Service", "db"), ("Deployment", "db")}
    assert all(o["metadata"]["namespace"] == make_values()["namespace"] for o in objects if o["kind"] != "Namespace")
