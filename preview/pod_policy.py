"""What the operator lets a repository's previews do: running as root, and the namespace's ResourceQuota.

:mod:`preview.policy_settings` reads the ``PREVIEWBOT_ALLOW_RUN_AS_ROOT`` and ``PREVIEWBOT_QUOTA_*``
settings; :func:`check` holds a parsed ``.preview.yml`` against them before anything is applied (raising the same
:class:`~preview.config_schema.ConfigError` an invalid file does); :func:`quota` and :func:`run_as_root`
give the values the templates are rendered with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from preview.config_schema import ConfigError, RepoConfig
from preview.policy_settings import ALLOW_RUN_AS_ROOT, QUOTA_SETTINGS, amount

if TYPE_CHECKING:
    from preview.settings import Settings


def quota(config: RepoConfig, settings: Settings) -> dict[str, str]:
    """The preview namespace's ResourceQuota: the repository's values, else the operator's defaults."""
    values = {}
    for name, (_, _, default_attr, _) in QUOTA_SETTINGS.items():
        given = getattr(config.quota, name)
        values[name] = str(given if given is not None else getattr(settings, default_attr))
    return values


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
    return found


def check(config: RepoConfig, settings: Settings) -> RepoConfig:
    """``config`` if the operator allows all it asks; else :class:`ConfigError` naming each key and bound."""
    found = problems(config, settings)
    if found:
        raise ConfigError(found)
    return config
