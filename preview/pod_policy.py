"""What the operator lets a repository's previews do: running as root, the namespace's ResourceQuota and
its containers' requests and limits.

:mod:`preview.policy_settings` reads the ``PREVIEWBOT_ALLOW_RUN_AS_ROOT``, ``PREVIEWBOT_QUOTA_*`` and
``PREVIEWBOT_CONTAINER_*`` settings; :func:`check` holds a parsed ``.preview.yml`` against them before anything
is applied (raising the same :class:`~preview.config_schema.ConfigError` an invalid file does); :func:`quota`,
:func:`resources`, :func:`resources_max` and :func:`run_as_root` give the values the templates are rendered with.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from preview.config_schema import RESOURCE_KINDS, RESOURCE_NAMES, ConfigError, RepoConfig
from preview.policy_settings import ALLOW_RUN_AS_ROOT, CONTAINER_DEFAULTS, CONTAINER_MAX, QUOTA_SETTINGS, amount
from preview.quantities import parse_quantity

if TYPE_CHECKING:
    from preview.settings import Settings


def quota(config: RepoConfig, settings: Settings) -> dict[str, str]:
    """The preview namespace's ResourceQuota: the repository's values, else the operator's defaults."""
    values = {}
    for name, (_, _, default_attr, _) in QUOTA_SETTINGS.items():
        given = getattr(config.quota, name)
        values[name] = str(given if given is not None else getattr(settings, default_attr))
    return values


def resources(config: RepoConfig, settings: Settings) -> dict[str, dict[str, str]]:
    """A container's requests and limits: the repository's values, else the operator's defaults."""
    given = config.resources.as_dict()
    return {
        kind: {
            name: given[kind].get(name, getattr(settings, CONTAINER_DEFAULTS[kind, name][1])) for name in RESOURCE_NAMES
        }
        for kind in RESOURCE_KINDS
    }


def resources_max(settings: Settings) -> dict[str, str]:
    """The largest limit (and so request) any container of a preview may have: the LimitRange's ``max``."""
    return {name: str(getattr(settings, attr)) for name, (_, attr) in CONTAINER_MAX.items()}


def run_as_root(config: RepoConfig, settings: Settings) -> bool:
    """Whether the preview's containers may run as root (asked for and allowed)."""
    return config.run_as_root and settings.allow_run_as_root


def problems(config: RepoConfig, settings: Settings) -> list[str]:
    """What ``config`` asks beyond the operator's bounds, one ``key: reason`` line each."""
    found = []
    if config.run_as_root and not settings.allow_run_as_root:
        found.append(f"run_as_root: not allowed by this installation ({ALLOW_RUN_AS_ROOT} is not true)")
    for name, (_, max_var, _, max_attr) in QUOTA_SETTINGS.items():
        given = getattr(config.quota, name)
        bound = getattr(settings, max_attr)
        if given is not None and amount(name, given) > amount(name, bound):  # type: ignore[operator]
            found.append(f"quota.{name}: {given} is above the maximum {bound} ({max_var})")
    found.extend(_resource_problems(config, settings))
    if not found:
        found.extend(_room_problems(config, settings))
    return found


def _room_problems(config: RepoConfig, settings: Settings) -> list[str]:
    """Whether the ResourceQuota leaves room for an update of the preview's own Deployment.

    A rolling update starts one pod more than ``replicas`` before it stops an old one; blue-green runs
    both commits side by side. Without that room the new pods are refused and the rollout never ends.
    """
    if config.replicas == 0:
        return []
    strategy = config.strategy or settings.default_strategy
    pods, why = (
        (2 * config.replicas, "both commits side by side")
        if strategy == "blue-green"
        else (
            config.replicas + 1,
            "one extra pod during an update",
        )
    )
    hard = quota(config, settings)
    limits = resources(config, settings)["limits"]
    needs = {
        "pods": (Decimal(pods), f"{pods} pods"),
        "cpu": (pods * parse_quantity(limits["cpu"]), f"{pods} × {limits['cpu']} CPU"),
        "memory": (pods * parse_quantity(limits["memory"]), f"{pods} × {limits['memory']} memory"),
    }
    found = []
    for name, (needed, shown) in needs.items():
        if needed > parse_quantity(hard[name]):
            found.append(
                f"replicas: {config.replicas} with strategy {strategy} needs room for {shown} ({why}), "
                f"above quota.{name} ({hard[name]})"
            )
    return found


def _resource_problems(config: RepoConfig, settings: Settings) -> list[str]:
    """Given requests and limits above the operator's maximum, or not fitting the default beside them."""
    found = []
    given, merged = config.resources.as_dict(), resources(config, settings)
    for name in RESOURCE_NAMES:
        max_var, max_attr = CONTAINER_MAX[name]
        bound = getattr(settings, max_attr)
        beyond = False
        for kind in RESOURCE_KINDS:
            if name in given[kind] and parse_quantity(given[kind][name]) > parse_quantity(bound):
                found.append(f"resources.{kind}.{name}: {given[kind][name]} is above the maximum {bound} ({max_var})")
                beyond = True
        request, limit = merged["requests"][name], merged["limits"][name]
        if beyond or parse_quantity(limit) >= parse_quantity(request):
            continue
        if name not in given["requests"]:
            found.append(
                f"resources.limits.{name}: {limit} is below the default request {request} "
                f"({CONTAINER_DEFAULTS['requests', name][0]}), so lower resources.requests.{name} too"
            )
        elif name not in given["limits"]:
            found.append(
                f"resources.requests.{name}: {request} is above the default limit {limit} "
                f"({CONTAINER_DEFAULTS['limits', name][0]}), so raise resources.limits.{name} too"
            )
        else:  # both given (a parsed file has already been refused for this)
            found.append(f"resources.limits.{name}: {limit} is below resources.requests.{name} ({request})")
    return found


def check(config: RepoConfig, settings: Settings) -> RepoConfig:
    """``config`` if the operator allows all it asks; else :class:`ConfigError` naming each key and bound."""
    found = problems(config, settings)
    if found:
        raise ConfigError(found)
    return config
