"""The ``run_as_root`` and ``quota`` keys of ``.preview.yml``, checked on their own.

Whether the operator allows them (``PREVIEWBOT_ALLOW_RUN_AS_ROOT``, ``PREVIEWBOT_QUOTA_MAX_*``) is decided
later, against the settings, by :mod:`preview.pod_policy`.
"""

from __future__ import annotations

from collections.abc import Mapping

from preview.config_fields import is_int
from preview.config_problems import Path, Problems, key_label, show
from preview.config_schema import QUOTA_NAMES, Quota
from preview.quantities import QuantityError, parse_quantity

MAX_QUOTA_PODS = 10_000  # the most any operator may allow (PREVIEWBOT_QUOTA_MAX_PODS)


def run_as_root(value: object, path: Path, out: Problems) -> bool | None:
    if isinstance(value, bool):
        return value
    out.add(path, f"must be true or false, got {show(value)}")
    return None


def quota(value: object, path: Path, out: Problems) -> Quota | None:
    """``cpu`` and ``memory`` as positive quantities, ``pods`` as a whole number of at least 1."""
    if not isinstance(value, Mapping):
        out.add(path, f"must be a mapping with 'cpu', 'memory' and/or 'pods', got {show(value)}")
        return None
    given: dict[str, str | int] = {}
    ok = True
    for name, amount in value.items():
        entry_path = (*path, key_label(name))
        if name not in QUOTA_NAMES:
            out.add(entry_path, f"unknown key (allowed: {', '.join(QUOTA_NAMES)})")
            ok = False
        elif amount is None:
            continue  # keep the operator's default
        elif name == "pods":
            if is_int(amount) and 1 <= amount <= MAX_QUOTA_PODS:
                given[name] = amount
            else:
                out.add(entry_path, f"must be a whole number between 1 and {MAX_QUOTA_PODS}, got {show(amount)}")
                ok = False
        else:
            try:
                parsed = parse_quantity(amount)
            except QuantityError as exc:
                out.add(entry_path, f"{exc.reason}: {show(amount)}")
                ok = False
                continue
            if parsed == 0:
                out.add(entry_path, f"must be above 0, got {show(amount)}")
                ok = False
                continue
            given[name] = str(amount)
    return Quota(**given) if ok else None  # type: ignore[arg-type]
