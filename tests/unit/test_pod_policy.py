"""Running as root and the namespace's ResourceQuota: .preview.yml keys, operator settings and bounds, render."""

from __future__ import annotations

import pytest

from integrations.render import TemplateRenderer
from integrations.repo_config_loader import load
from preview import pod_policy
from preview.lifecycle import Lifecycle, Outcome
from preview.models import PullRef, PullRequest, State
from preview.repo_config import ROOT_CAPABILITIES, ConfigError, Quota, describe_schema
from preview.reporting import Reporter
from preview.rollout import PodProblem
from preview.settings import DEFAULT_TEMPLATES, Settings, SettingsError
from preview.settings import load as load_settings
from preview.values import template_values
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

PR = PullRequest(
    ref=PullRef("octo-org/hello-world", 42, 1234),
    head_sha="0123456789abcdef0123456789abcdef01234567",
    head_ref="feature/login",
    base_ref="main",
    title="Add login page",
    author="mona",
    state="open",
)


def rendered(config_text: str | None, **settings: object) -> dict[str, dict]:
    values = template_values(PR, "preview-x", Settings(**settings), load(config_text))  # type: ignore[arg-type]
    return {obj["kind"]: obj for obj in TemplateRenderer(DEFAULT_TEMPLATES).render(values)}


# -- .preview.yml ---------------------------------------------------------------------------------


def test_the_keys_parse() -> None:
    config = load("run_as_root: true\nquota:\n  cpu: 1500m\n  memory: 4Gi\n  pods: 3\n")
    assert config.run_as_root is True
    assert config.quota == Quota(cpu="1500m", memory="4Gi", pods=3)
    assert load("quota: {pods: 12}\n").quota == Quota(pods=12)
    assert load("quota:\n").quota == Quota() and load("quota: {cpu: null}\n").quota == Quota()
    assert load(None).run_as_root is False and load(None).quota == Quota()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("run_as_root: yes please\n", "run_as_root (line 1): must be true or false, got 'yes please'"),
        ("quota: 2\n", "quota (line 1): must be a mapping with 'cpu', 'memory' and/or 'pods', got 2"),
        ("quota:\n  gpu: 1\n", "quota.gpu (line 2): unknown key (allowed: cpu, memory, pods)"),
        (
            "quota:\n  cpu: lots\n",
            "quota.cpu (line 2): not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): 'lots'",
        ),
        ("quota:\n  memory: 0\n", "quota.memory (line 2): must be above 0, got 0"),
        ("quota:\n  memory: -1Gi\n", "quota.memory (line 2): must not be negative: '-1Gi'"),
        ("quota:\n  pods: 0\n", "quota.pods (line 2): must be a whole number between 1 and 10000, got 0"),
        ("quota:\n  pods: '3'\n", "quota.pods (line 2): must be a whole number between 1 and 10000, got '3'"),
    ],
)
def test_invalid_values_name_key_and_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(text)
    assert info.value.problems == [problem]


def test_the_schema_documents_the_keys() -> None:
    keys = {key: meaning for key, _, meaning in describe_schema()}
    assert "PREVIEWBOT_ALLOW_RUN_AS_ROOT" in keys["run_as_root"]
    assert all(cap in keys["run_as_root"] for cap in ROOT_CAPABILITIES)
    assert "PREVIEWBOT_QUOTA_MAX_" in keys["quota"]


# -- operator settings ----------------------------------------------------------------------------


def test_settings_defaults() -> None:
    s = load_settings({})
    assert s.allow_run_as_root is False
    assert (s.quota_cpu, s.quota_memory, s.quota_pods) == ("2", "2Gi", 10)
    assert (s.quota_max_cpu, s.quota_max_memory, s.quota_max_pods) == ("4", "8Gi", 20)


def test_settings_are_read() -> None:
    s = load_settings(
        {
            "PREVIEWBOT_ALLOW_RUN_AS_ROOT": "true",
            "PREVIEWBOT_QUOTA_CPU": "1",
            "PREVIEWBOT_QUOTA_MEMORY": "1Gi",
            "PREVIEWBOT_QUOTA_PODS": "5",
            "PREVIEWBOT_QUOTA_MAX_CPU": "16",
            "PREVIEWBOT_QUOTA_MAX_MEMORY": "32Gi",
            "PREVIEWBOT_QUOTA_MAX_PODS": "50",
        }
    )
    assert s.allow_run_as_root is True
    assert (s.quota_cpu, s.quota_memory, s.quota_pods) == ("1", "1Gi", 5)
    assert (s.quota_max_cpu, s.quota_max_memory, s.quota_max_pods) == ("16", "32Gi", 50)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PREVIEWBOT_ALLOW_RUN_AS_ROOT": "true", "PREVIEWBOT_POD_SECURITY": "restricted"},
            "PREVIEWBOT_ALLOW_RUN_AS_ROOT: cannot be true with PREVIEWBOT_POD_SECURITY=restricted",
        ),
        ({"PREVIEWBOT_ALLOW_RUN_AS_ROOT": "sometimes"}, "PREVIEWBOT_ALLOW_RUN_AS_ROOT: expected true or false"),
        ({"PREVIEWBOT_QUOTA_CPU": "5"}, "PREVIEWBOT_QUOTA_CPU: 5 is above PREVIEWBOT_QUOTA_MAX_CPU (4)"),
        ({"PREVIEWBOT_QUOTA_MAX_MEMORY": "1Gi"}, "PREVIEWBOT_QUOTA_MEMORY: 2Gi is above PREVIEWBOT_QUOTA_MAX_MEMORY"),
        ({"PREVIEWBOT_QUOTA_PODS": "30"}, "PREVIEWBOT_QUOTA_PODS: 30 is above PREVIEWBOT_QUOTA_MAX_PODS (20)"),
        ({"PREVIEWBOT_QUOTA_MAX_PODS": "many"}, "PREVIEWBOT_QUOTA_MAX_PODS: expected a whole number of pods"),
        ({"PREVIEWBOT_QUOTA_MEMORY": "2GB"}, "PREVIEWBOT_QUOTA_MEMORY: not a Kubernetes quantity"),
        ({"PREVIEWBOT_QUOTA_CPU": "0"}, "PREVIEWBOT_QUOTA_CPU: must be above 0"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert str(info.value).startswith(message)


def test_root_is_fine_with_baseline_and_privileged() -> None:
    for level in ("baseline", "privileged"):
        assert load_settings({"PREVIEWBOT_ALLOW_RUN_AS_ROOT": "1", "PREVIEWBOT_POD_SECURITY": level}).allow_run_as_root


# -- bounds ---------------------------------------------------------------------------------------


def test_run_as_root_needs_the_operator() -> None:
    config = load("run_as_root: true\n")
    with pytest.raises(ConfigError) as info:
        pod_policy.check(config, Settings())
    assert info.value.problems == [
        "run_as_root: not allowed by this installation (PREVIEWBOT_ALLOW_RUN_AS_ROOT is not true)"
    ]
    assert pod_policy.check(config, Settings(allow_run_as_root=True)) is config
    assert pod_policy.check(load("run_as_root: false\n"), Settings()).run_as_root is False


def test_quota_within_bounds_and_beyond() -> None:
    assert pod_policy.check(load("quota: {cpu: 4000m, memory: 8Gi, pods: 20}\n"), Settings())
    with pytest.raises(ConfigError) as info:
        pod_policy.check(load("quota: {cpu: '4.5', memory: 9Gi, pods: 21}\n"), Settings())
    assert info.value.problems == [
        "quota.cpu: 4.5 is above the maximum 4 (PREVIEWBOT_QUOTA_MAX_CPU)",
        "quota.memory: 9Gi is above the maximum 8Gi (PREVIEWBOT_QUOTA_MAX_MEMORY)",
        "quota.pods: 21 is above the maximum 20 (PREVIEWBOT_QUOTA_MAX_PODS)",
    ]
    assert pod_policy.check(load("quota: {memory: 9Gi}\n"), Settings(quota_max_memory="16Gi"))


# -- values and render ----------------------------------------------------------------------------


def test_quota_comes_from_settings_and_the_repository() -> None:
    assert rendered(None)["ResourceQuota"]["spec"]["hard"] == {
        "requests.cpu": "2",
        "requests.memory": "2Gi",
        "limits.cpu": "2",
        "limits.memory": "2Gi",
        "pods": "10",
    }
    operator = {"quota_cpu": "1", "quota_memory": "1Gi", "quota_pods": 4}
    assert rendered(None, **operator)["ResourceQuota"]["spec"]["hard"]["requests.memory"] == "1Gi"
    hard = rendered("quota: {cpu: 3, pods: 6}\n", **operator)["ResourceQuota"]["spec"]["hard"]
    assert hard == {
        "requests.cpu": "3",
        "requests.memory": "1Gi",
        "limits.cpu": "3",
        "limits.memory": "1Gi",
        "pods": "6",
    }


def _contexts(objects: dict[str, dict]) -> tuple[dict, dict]:
    spec = objects["Deployment"]["spec"]["template"]["spec"]
    return spec["securityContext"], spec["containers"][0]["securityContext"]


def test_containers_run_as_non_root_by_default() -> None:
    for text, settings in ((None, {}), (None, {"allow_run_as_root": True}), ("run_as_root: false\n", {})):
        pod, container = _contexts(rendered(text, **settings))
        assert pod == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        assert container == {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_run_as_root_when_asked_and_allowed() -> None:
    objects = rendered("run_as_root: true\n", allow_run_as_root=True)
    pod, container = _contexts(objects)
    assert pod == {"runAsNonRoot": False, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container == {
        "runAsNonRoot": False,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"]},
    }
    assert "runAsUser" not in pod and "runAsUser" not in container
    # every added capability is one Pod Security "baseline" allows
    baseline = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"}
    baseline |= {"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
    assert set(container["capabilities"]["add"]) <= baseline
    labels = objects["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"


# -- lifecycle ------------------------------------------------------------------------------------


def _lifecycle(**settings: object) -> tuple[Lifecycle, FakeGitHub, FakeCluster]:
    github, cluster = FakeGitHub(), FakeCluster()
    reporter = Reporter(github, MemoryLedger(), "preview")
    lc = Lifecycle(github, cluster, FakeRenderer(), reporter, Settings(**settings))  # type: ignore[arg-type]
    return lc, github, cluster


@pytest.mark.parametrize(
    ("text", "settings", "problem"),
    [
        ('{"run_as_root": true}', {}, "run_as_root: not allowed by this installation (PREVIEWBOT_ALLOW_RUN_AS_ROOT"),
        ('{"quota": {"memory": "9Gi"}}', {"allow_run_as_root": True}, "quota.memory: 9Gi is above the maximum 8Gi"),
        (
            '{"resources": {"limits": {"memory": "4Gi"}}}',
            {},
            "resources.limits.memory: 4Gi is above the maximum 2Gi (PREVIEWBOT_CONTAINER_MAX_MEMORY)",
        ),
    ],
)
def test_beyond_the_operators_bounds_nothing_is_applied(text: str, settings: dict, problem: str) -> None:
    lc, github, cluster = _lifecycle(**settings)
    github.open("acme/web-shop", 7, "a" * 40)
    github.files[("a" * 40, ".preview.yml")] = text
    assert lc.sync(PullRef("acme/web-shop", 7), "a" * 40) is Outcome.FAILED
    assert cluster.objects == {}
    (failure,) = github.for_sha("a" * 40)
    assert failure.state is State.FAILURE
    assert failure.description.startswith(f"Invalid .preview.yml: {problem}")
    with pytest.raises(ConfigError):
        lc.render(PullRef("acme/web-shop", 7))


def test_allowed_root_deploys() -> None:
    lc, github, _ = _lifecycle(allow_run_as_root=True)
    github.open("acme/web-shop", 7, "a" * 40)
    github.files[("a" * 40, ".preview.yml")] = '{"run_as_root": true, "quota": {"pods": 4}}'
    assert lc.sync(PullRef("acme/web-shop", 7), "a" * 40) is Outcome.DEPLOYED


def test_a_root_refusal_is_described_by_its_reason() -> None:
    message = 'container has runAsNonRoot and image will run as root (pod: "web-5d8_preview-x(0a1b)", container: web)'
    problem = PodProblem("0a1b", "web", "CreateContainerConfigError", message)
    assert problem.describe() == (
        "CreateContainerConfigError on container web: container has runAsNonRoot and image will run as root"
    )
