"""The ``resources`` key of ``.preview.yml``: requests and limits as checked Kubernetes quantities.

Only the values the file gives are kept. The operator's defaults fill in the rest, and the operator's
maximums bound them, later, against the settings (:mod:`preview.pod_policy`); here a limit is only held
against a request given beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from preview.config_problems import Path, Problems, format_path, key_label, show
from preview.config_schema import RESOURCE_KINDS, RESOURCE_NAMES, Resources
from preview.quantities import QuantityError, parse_quantity


def resources(value: object, path: Path, out: Problems) -> Resources | None:
    """The given ``requests``/``limits``; a limit given with its request must not be below it."""
    if not isinstance(value, Mapping):
        out.add(path, f"must be a mapping with 'requests' and/or 'limits', got {show(value)}")
        return None
    given: dict[str, dict[str, str]] = {kind: {} for kind in RESOURCE_KINDS}
    amounts: dict[tuple[str, str], Decimal] = {}
    ok = True
    for kind, entries in value.items():
        kind_path = (*path, key_label(kind))
        if kind not in RESOURCE_KINDS:
            out.add(kind_path, f"unknown key (allowed: {', '.join(RESOURCE_KINDS)})")
            ok = False
            continue
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            out.add(kind_path, f"must be a mapping with 'cpu' and/or 'memory', got {show(entries)}")
            ok = False
            continue
        for name, amount in entries.items():
            entry_path = (*kind_path, key_label(name))
            if name not in RESOURCE_NAMES:
                out.add(entry_path, f"unknown key (allowed: {', '.join(RESOURCE_NAMES)})")
                ok = False
                continue
            if amount is None:
                continue  # keep the operator's default
            try:
                amounts[kind, name] = parse_quantity(amount)
            except QuantityError as exc:
                out.add(entry_path, f"{exc.reason}: {show(amount)}")
                ok = False
                continue
            given[kind][name] = str(amount)
    for name in RESOURCE_NAMES:
        if ("requests", name) not in amounts or ("limits", name) not in amounts:
            continue  # held against the operator's default by preview.pod_policy
        if amounts["limits", name] >= amounts["requests", name]:
            continue
        request_path, limit_path = (*path, "requests", name), (*path, "limits", name)
        out.add(limit_path, f"{given['limits'][name]} is below {format_path(request_path)} ({given['requests'][name]})")
        ok = False
    return Resources(requests=given["requests"], limits=given["limits"]) if ok else None
