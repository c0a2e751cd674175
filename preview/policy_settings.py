"""The operator's settings for running as root, preview namespaces' ResourceQuota and containers' resources.

``PREVIEWBOT_ALLOW_RUN_AS_ROOT`` (refused together with ``PREVIEWBOT_POD_SECURITY=restricted``),
``PREVIEWBOT_QUOTA_{CPU,MEMORY,PODS}`` with their ``PREVIEWBOT_QUOTA_MAX_*`` bounds, and the containers'
default requests and limits ``PREVIEWBOT_CONTAINER_{CPU,MEMORY}_{REQUEST,LIMIT}`` with their
``PREVIEWBOT_CONTAINER_MAX_{CPU,MEMORY}`` bounds (the LimitRange's ``max``, so every default request must be
within its default limit and every default limit within its maximum); read by :func:`preview.settings.load`,
applied by :mod:`preview.pod_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from preview.config_quota import MAX_QUOTA_PODS
from preview.config_schema import QUOTA_NAMES, RESOURCE_KINDS, RESOURCE_NAMES
from preview.quantities import QuantityError, parse_quantity

ALLOW_RUN_AS_ROOT = "PREVIEWBOT_ALLOW_RUN_AS_ROOT"
#: quota key -> (default setting, maximum setting, Settings attribute of the default, of the maximum)
QUOTA_SETTINGS = {
    name: (
        f"PREVIEWBOT_QUOTA_{name.upper()}",
        f"PREVIEWBOT_QUOTA_MAX_{name.upper()}",
        f"quota_{name}",
        f"quota_max_{name}",
    )
    for name in QUOTA_NAMES
}
#: (resources kind, name) -> (setting, Settings attribute) of a container's default request or limit
CONTAINER_DEFAULTS = {
    (kind, name): (
        f"PREVIEWBOT_CONTAINER_{name.upper()}_{kind.removesuffix('s').upper()}",
        f"container_{name}_{kind.removesuffix('s')}",
    )
    for kind in RESOURCE_KINDS
    for name in RESOURCE_NAMES
}
#: resource name -> (setting, Settings attribute) of the largest value a container may have
CONTAINER_MAX = {name: (f"PREVIEWBOT_CONTAINER_MAX_{name.upper()}", f"container_max_{name}") for name in RESOURCE_NAMES}


class PolicyError(ValueError):
    """An invalid policy setting (turned into a ``SettingsError`` by the settings loader)."""


def amount(name: str, value: str | int) -> object:
    """A comparable amount: a quantity for cpu and memory, an int for pods."""
    return value if name == "pods" else parse_quantity(value)


def _setting(name: str, variable: str, raw: str) -> str | int:
    if name == "pods":
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= MAX_QUOTA_PODS:
            raise PolicyError(f"{variable}: expected a whole number of pods from 1 to {MAX_QUOTA_PODS}, got {raw!r}")
        return int(raw)
    return _quantity(variable, raw)


def _quantity(variable: str, raw: str, *, zero: bool = False) -> str:
    """``raw`` if it is a Kubernetes quantity (above 0 unless ``zero``); else :class:`PolicyError`."""
    try:
        amount = parse_quantity(raw)
    except QuantityError as exc:
        raise PolicyError(f"{variable}: {exc.reason}: {raw!r}") from None
    if amount == 0 and not zero:
        raise PolicyError(f"{variable}: must be above 0")
    return raw


def load(get: Callable[[str], str], pod_security: str, defaults: object) -> dict[str, object]:
    """Settings keyword arguments from ``PREVIEWBOT_*`` values (``get`` takes the name without the prefix)."""
    out: dict[str, object] = {}
    if raw := get("ALLOW_RUN_AS_ROOT"):
        lowered = raw.lower()
        if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise PolicyError(f"{ALLOW_RUN_AS_ROOT}: expected true or false, got {raw!r}")
        out["allow_run_as_root"] = lowered in ("1", "true", "yes", "on")
    if out.get("allow_run_as_root") and pod_security == "restricted":
        raise PolicyError(
            f"{ALLOW_RUN_AS_ROOT}: cannot be true with PREVIEWBOT_POD_SECURITY=restricted (the restricted "
            "Pod Security level refuses containers running as root); use baseline, or leave it false"
        )
    for name, (default_var, max_var, default_attr, max_attr) in QUOTA_SETTINGS.items():
        for variable, attr in ((default_var, default_attr), (max_var, max_attr)):
            if raw := get(variable.removeprefix("PREVIEWBOT_")):
                out[attr] = _setting(name, variable, raw)
        default = out.get(default_attr, getattr(defaults, default_attr))
        bound = out.get(max_attr, getattr(defaults, max_attr))
        if amount(name, default) > amount(name, bound):  # type: ignore[operator]
            raise PolicyError(f"{default_var}: {default} is above {max_var} ({bound})")
    out.update(_containers(get, defaults))
    return out


def _containers(get: Callable[[str], str], defaults: object) -> dict[str, object]:
    """The containers' default requests and limits and their maximums: request <= limit <= maximum."""
    out: dict[str, object] = {}
    for name in RESOURCE_NAMES:
        chain = (*(CONTAINER_DEFAULTS[kind, name] for kind in RESOURCE_KINDS), CONTAINER_MAX[name])
        for variable, attr in chain:
            if raw := get(variable.removeprefix("PREVIEWBOT_")):
                out[attr] = _quantity(variable, raw, zero=attr.endswith("_request"))  # a request may be 0
        for (lower_var, lower_attr), (upper_var, upper_attr) in pairwise(chain):
            lower = str(out.get(lower_attr, getattr(defaults, lower_attr)))
            upper = str(out.get(upper_attr, getattr(defaults, upper_attr)))
            if parse_quantity(lower) > parse_quantity(upper):
                raise PolicyError(f"{lower_var}: {lower} is above {upper_var} ({upper})")
    return out
