"""Containers' requests and limits: the operator's defaults and maximums, a repository's `resources`, render."""

from __future__ import annotations

import re

import pytest

from integrations.render import TemplateRenderer
from integrations.repo_config_loader import load
from preview import pod_policy
from preview.repo_config import ConfigError, RepoConfig, Resources, describe_schema
from preview.settings import DEFAULT_TEMPLATES, Settings, SettingsError
from preview.settings import load as load_settings
from preview.values import template_values
from tests.unit.test_pod_policy import PR

#: an operator who gives containers more by default, and allows more
GENEROUS = {
    "container_cpu_request": "100m",
    "container_memory_request": "128Mi",
    "container_cpu_limit": "1",
    "container_memory_limit": "1Gi",
    "container_max_cpu": "4",
    "container_max_memory": "8Gi",
}


def rendered(config_text: str | None, **settings: object) -> dict[str, dict]:
    values = template_values(PR, "preview-x", Settings(**settings), load(config_text))  # type: ignore[arg-type]
    return {obj["kind"]: obj for obj in TemplateRenderer(DEFAULT_TEMPLATES).render(values)}


def refused(config_text: str, **settings: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        pod_policy.check(load(config_text), Settings(**settings))  # type: ignore[arg-type]
    return info.value.problems


# -- operator settings ----------------------------------------------------------------------------


def test_settings_defaults() -> None:
    s = load_settings({})
    assert (s.container_cpu_request, s.container_memory_request) == ("50m", "64Mi")
    assert (s.container_cpu_limit, s.container_memory_limit) == ("500m", "256Mi")
    assert (s.container_max_cpu, s.container_max_memory) == ("2", "2Gi")


def test_settings_are_read() -> None:
    env = {f"PREVIEWBOT_{attr.upper()}": value for attr, value in GENEROUS.items()}
    s = load_settings(env)
    assert {attr: getattr(s, attr) for attr in GENEROUS} == GENEROUS
    assert load_settings({"PREVIEWBOT_CONTAINER_CPU_REQUEST": "0"}).container_cpu_request == "0"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PREVIEWBOT_CONTAINER_CPU_REQUEST": "half"},
            "PREVIEWBOT_CONTAINER_CPU_REQUEST: not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): 'half'",
        ),
        (
            {"PREVIEWBOT_CONTAINER_MEMORY_LIMIT": "-1Gi"},
            "PREVIEWBOT_CONTAINER_MEMORY_LIMIT: must not be negative: '-1Gi'",
        ),
        ({"PREVIEWBOT_CONTAINER_CPU_LIMIT": "0"}, "PREVIEWBOT_CONTAINER_CPU_LIMIT: must be above 0"),
        ({"PREVIEWBOT_CONTAINER_MAX_MEMORY": "0"}, "PREVIEWBOT_CONTAINER_MAX_MEMORY: must be above 0"),
        (
            {"PREVIEWBOT_CONTAINER_MEMORY_REQUEST": "512Mi"},
            "PREVIEWBOT_CONTAINER_MEMORY_REQUEST: 512Mi is above PREVIEWBOT_CONTAINER_MEMORY_LIMIT (256Mi)",
        ),
        (
            {"PREVIEWBOT_CONTAINER_CPU_LIMIT": "10m"},
            "PREVIEWBOT_CONTAINER_CPU_REQUEST: 50m is above PREVIEWBOT_CONTAINER_CPU_LIMIT (10m)",
        ),
        (
            {"PREVIEWBOT_CONTAINER_CPU_LIMIT": "3"},
            "PREVIEWBOT_CONTAINER_CPU_LIMIT: 3 is above PREVIEWBOT_CONTAINER_MAX_CPU (2)",
        ),
        (
            {"PREVIEWBOT_CONTAINER_MAX_MEMORY": "128Mi"},
            "PREVIEWBOT_CONTAINER_MEMORY_LIMIT: 256Mi is above PREVIEWBOT_CONTAINER_MAX_MEMORY (128Mi)",
        ),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert str(info.value) == message


# -- .preview.yml against the operator ------------------------------------------------------------


def test_without_resources_containers_get_the_operators_defaults() -> None:
    assert pod_policy.resources(RepoConfig(), Settings()) == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert pod_policy.resources(load("resources:\n"), Settings(**GENEROUS)) == {  # type: ignore[arg-type]
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    assert pod_policy.resources_max(Settings(**GENEROUS)) == {"cpu": "4", "memory": "8Gi"}  # type: ignore[arg-type]


def test_a_repository_lowers_and_raises_values_one_by_one_within_bounds() -> None:
    lowered = load("resources:\n  requests: {cpu: 10m, memory: 32Mi}\n  limits: {memory: 128Mi}\n")
    assert pod_policy.check(lowered, Settings()) is lowered
    assert pod_policy.resources(lowered, Settings()) == {
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"cpu": "500m", "memory": "128Mi"},
    }
    # exactly the default maximums, with a quota that has room for the extra pod of an update
    raised = load("resources:\n  limits: {cpu: 2, memory: 2Gi}\nquota: {cpu: 4, memory: 4Gi}\n")
    assert pod_policy.check(raised, Settings()) is raised
    assert pod_policy.resources(raised, Settings()) == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }


def test_a_limit_above_the_maximum_is_refused() -> None:
    assert refused("resources:\n  limits: {cpu: 2001m, memory: 4Gi}\n") == [
        "resources.limits.cpu: 2001m is above the maximum 2 (PREVIEWBOT_CONTAINER_MAX_CPU)",
        "resources.limits.memory: 4Gi is above the maximum 2Gi (PREVIEWBOT_CONTAINER_MAX_MEMORY)",
    ]
    within = load("resources: {limits: {memory: 4Gi}}\nquota: {memory: 8Gi}\n")
    assert pod_policy.check(within, Settings(**GENEROUS))  # type: ignore[arg-type]


def test_a_request_above_the_maximum_is_refused_once() -> None:
    assert refused("resources: {requests: {cpu: 3}, limits: {cpu: 3}}\n") == [
        "resources.requests.cpu: 3 is above the maximum 2 (PREVIEWBOT_CONTAINER_MAX_CPU)",
        "resources.limits.cpu: 3 is above the maximum 2 (PREVIEWBOT_CONTAINER_MAX_CPU)",
    ]
    assert refused("resources: {requests: {memory: 3Gi}}\n") == [
        "resources.requests.memory: 3Gi is above the maximum 2Gi (PREVIEWBOT_CONTAINER_MAX_MEMORY)"
    ]


def test_a_given_value_must_fit_the_operators_default_beside_it() -> None:
    assert refused("resources: {requests: {memory: 512Mi}}\n") == [
        "resources.requests.memory: 512Mi is above the default limit 256Mi (PREVIEWBOT_CONTAINER_MEMORY_LIMIT), "
        "so raise resources.limits.memory too"
    ]
    assert refused("resources: {limits: {cpu: 0}}\n") == [
        "resources.limits.cpu: 0 is below the default request 50m (PREVIEWBOT_CONTAINER_CPU_REQUEST), "
        "so lower resources.requests.cpu too"
    ]
    # the same values fit where the operator's defaults are larger
    assert pod_policy.check(load("resources: {requests: {memory: 512Mi}}\n"), Settings(**GENEROUS))  # type: ignore[arg-type]
    assert refused("resources: {limits: {cpu: 50m}}\n", **GENEROUS) == [
        "resources.limits.cpu: 50m is below the default request 100m (PREVIEWBOT_CONTAINER_CPU_REQUEST), "
        "so lower resources.requests.cpu too"
    ]


def test_a_limit_below_its_given_request_is_refused_without_a_file_too() -> None:
    config = RepoConfig(resources=Resources(requests={"cpu": "1"}, limits={"cpu": "500m"}))
    with pytest.raises(ConfigError) as info:
        pod_policy.check(config, Settings())
    assert info.value.problems == ["resources.limits.cpu: 500m is below resources.requests.cpu (1)"]


def test_the_schema_documents_the_settings() -> None:
    default, meaning = next((d, m) for key, d, m in describe_schema() if key == "resources")
    assert "PREVIEWBOT_CONTAINER_" in default and "PREVIEWBOT_CONTAINER_MAX_" in meaning


# -- render ---------------------------------------------------------------------------------------


def _limit_range(objects: dict[str, dict]) -> dict:
    (limits,) = objects["LimitRange"]["spec"]["limits"]
    return limits


def _container_resources(objects: dict[str, dict]) -> dict:
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container["resources"]


def test_the_limit_range_and_the_deployment_use_the_operators_values() -> None:
    objects = rendered(None, **GENEROUS)
    assert _limit_range(objects) == {
        "type": "Container",
        "default": {"cpu": "1", "memory": "1Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
        "max": {"cpu": "4", "memory": "8Gi"},
    }
    assert _container_resources(objects) == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    assert _limit_range(rendered(None))["max"] == {"cpu": "2", "memory": "2Gi"}


def test_a_repositorys_values_replace_the_operators_one_by_one() -> None:
    objects = rendered("resources: {requests: {cpu: 20m}, limits: {memory: 3Gi}}\n", **GENEROUS)
    expected = {"requests": {"cpu": "20m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "3Gi"}}
    assert _container_resources(objects) == expected
    limits = _limit_range(objects)
    assert (limits["defaultRequest"], limits["default"]) == (expected["requests"], expected["limits"])
    assert limits["max"] == {"cpu": "4", "memory": "8Gi"}  # the bound stays the operator's


# -- documentation --------------------------------------------------------------------------------


def test_the_readme_documents_the_resource_settings_with_their_defaults() -> None:
    """Each quota and container setting has a row in the README's configuration table with its default."""
    from preview.policy_settings import CONTAINER_DEFAULTS, CONTAINER_MAX, QUOTA_SETTINGS
    from tests.helpers import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    documented: dict[str, str] = {}
    for variables, defaults in re.findall(r"^\| (`PREVIEWBOT_[^|]+) \| ([^|]+) \|", section, re.MULTILINE):
        names, values = re.findall(r"`([A-Z_]+)`", variables), re.findall(r"`([^`]+)`", defaults)
        if len(names) == len(values):  # one default per variable
            documented.update(zip(names, values, strict=True))
    settings = [(var, attr) for var, _, attr, _ in QUOTA_SETTINGS.values()]
    settings += [(var, attr) for _, var, _, attr in QUOTA_SETTINGS.values()]
    settings += [*CONTAINER_DEFAULTS.values(), *CONTAINER_MAX.values()]
    assert {var: documented.get(var) for var, _ in settings} == {
        var: str(getattr(Settings(), attr)) for var, attr in settings
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "replicas: 10\n",
            "replicas: 10 with strategy rolling needs room for 11 pods (one extra pod during an update), "
            "above quota.pods (10)",
        ),
        (
            "replicas: 3\nstrategy: blue-green\n",
            "replicas: 3 with strategy blue-green needs room for 6 × 500m CPU (both commits side by side), "
            "above quota.cpu (2)",
        ),
        (
            "replicas: 5\nstrategy: blue-green\nquota: {cpu: 4, memory: 8Gi}\n",
            "replicas: 5 with strategy blue-green needs room for 10 × 500m CPU (both commits side by side), "
            "above quota.cpu (4)",
        ),
    ],
)
def test_the_quota_must_leave_room_for_an_update(text: str, problem: str) -> None:
    assert problem in refused(text)


def test_room_for_an_update_is_enough() -> None:
    assert pod_policy.check(load("replicas: 2\nstrategy: blue-green\n"), Settings())  # 4 pods × 500m = 2 CPU
    assert pod_policy.check(load("replicas: 0\nquota: {pods: 1}\n"), Settings())
