"""The ``resources`` key of ``.preview.yml``: requests and limits as checked Kubernetes quantities."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from preview.config_problems import Path, Problems, format_path, key_label, show
from preview.config_schema import RESOURCE_KINDS, RESOURCE_NAMES, Resources, default_resources
from preview.quantities import QuantityError, parse_quantity


def resources(value: object, path: Path, out: Problems) -> Resources | None:
    """Given ``requests``/``limits`` replace the defaults one by one; every limit must cover its request."""
    if not isinstance(value, Mapping):
        out.add(path, f"must be a mapping with 'requests' and/or 'limits', got {show(value)}")
        return None
    merged = default_resources().as_dict()
    amounts: dict[tuple[str, str], Decimal] = {}
    given: set[str] = set()
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
            try:
                amounts[kind, name] = parse_quantity(amount)
            except QuantityError as exc:
                out.add(entry_path, f"{exc.reason}: {show(amount)}")
                ok = False
                continue
            merged[kind][name] = str(amount)
            if kind == "limits":
                given.add(name)
    for name in RESOURCE_NAMES:  # invalid entries kept their defaults, so every amount here is valid
        request, limit = (_amount(kind, name, merged, amounts) for kind in RESOURCE_KINDS)
        if limit >= request:
            continue
        shown_request, shown_limit = merged["requests"][name], merged["limits"][name]
        request_path, limit_path = (*path, "requests", name), (*path, "limits", name)
        if name in given:
            out.add(limit_path, f"{shown_limit} is below {format_path(request_path)} ({shown_request})")
        else:
            out.add(
                request_path,
                f"{shown_request} is above the default limit ({shown_limit}), so raise {format_path(limit_path)} too",
            )
        ok = False
    return Resources(requests=merged["requests"], limits=merged["limits"]) if ok else None


def _amount(
    kind: str, name: str, merged: dict[str, dict[str, str]], amounts: dict[tuple[str, str], Decimal]
) -> Decimal:
    """The parsed amount of ``kind.name``: the given one, else the default's."""
    if (kind, name) in amounts:
        return amounts[kind, name]
    return parse_quantity(merged[kind][name])
