"""What kube-apiserver does with a coordination.k8s.io/v1 Lease beyond storing it.

* ``spec.acquireTime`` and ``spec.renewTime`` are MicroTimes: parsed with Go's layout
  ``2006-01-02T15:04:05.000000Z07:00`` (exactly six fractional digits, ``Z`` or an offset) and
  returned in UTC, e.g. ``2026-01-01T00:00:00.000000Z``; anything else is 400 BadRequest with Go's
  parse error. ``null`` leaves the field out.
* ``spec.leaseDurationSeconds`` must be greater than 0 and ``spec.leaseTransitions`` at least 0
  (422 Invalid).
* The registry allows create on update (a PUT of a missing Lease creates it, 201, if the user may
  also ``create``) and refuses an unconditional update (a PUT without ``metadata.resourceVersion``
  of an existing Lease is 422).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from . import errors

LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
MICRO_FIELDS = ("acquireTime", "renewTime")
INT_FIELDS = ("leaseDurationSeconds", "leaseTransitions")
STRING_FIELDS = ("holderIdentity", "strategy", "preferredHolder")
#: Go's layout split as time.Parse walks it: (layout element, what the value must hold there)
_ELEMENTS = (
    ("2006", r"\d{4}"),
    ("-", "-"),
    ("01", r"\d{2}"),
    ("-", "-"),
    ("02", r"\d{2}"),
    ("T", "T"),
    ("15", r"\d{2}"),
    (":", ":"),
    ("04", r"\d{2}"),
    (":", ":"),
    ("05", r"\d{2}"),
    (".000000", r"\.\d{6}"),
    ("Z07:00", r"Z|[+-]\d{2}:\d{2}"),
)
_RANGES = (("month", 1, 1, 12), ("day", 2, 1, 31), ("hour", 3, 0, 23), ("minute", 4, 0, 59), ("second", 5, 0, 59))


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def parse_microtime(value: str) -> str:
    """``value`` as the API server stores and returns it; :class:`ValueError` with Go's message otherwise."""
    rest, parts = value, []
    for layout, pattern in _ELEMENTS:
        found = re.match(pattern, rest)
        if found is None:
            raise ValueError(
                f"parsing time {_quote(value)} as {_quote(LAYOUT)}: cannot parse {_quote(rest)} as {_quote(layout)}"
            )
        parts.append(found.group())
        rest = rest[found.end() :]
    if rest:
        raise ValueError(f"parsing time {_quote(value)}: extra text: {_quote(rest)}")
    numbers = [int(p) for p in parts[0:11:2]]  # year, month, day, hour, minute, second
    for name, index, low, high in _RANGES:
        if not low <= numbers[index] <= high:
            raise ValueError(f"parsing time {_quote(value)}: {name} out of range")
    zone = parts[12]
    offset = (
        dt.timedelta()
        if zone == "Z"
        else int(zone[0] + "1") * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    )
    try:
        when = dt.datetime(*numbers, int(parts[11][1:]), tzinfo=dt.timezone(offset))  # type: ignore[misc]
    except ValueError:
        raise ValueError(f"parsing time {_quote(value)}: day out of range") from None
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unmarshal_error(field: str, value: Any, go_type: str) -> str:
    """encoding/json's complaint about a JSON ``value`` that does not fit ``LeaseSpec.<field>``."""
    if isinstance(value, bool):
        found = "bool"
    elif isinstance(value, (int, float)):
        found = f"number {value}"
    else:
        found = {str: "string", list: "array"}.get(type(value), "object")
    return f"json: cannot unmarshal {found} into Go struct field LeaseSpec.spec.{field} of type {go_type}"


def decode(obj: dict[str, Any]) -> None:
    """Decode a Lease's spec in place as kube-apiserver does; 400 BadRequest where it cannot."""

    def refuse(why: str) -> errors.ApiError:
        return errors.bad_request(f'Lease in version "v1" cannot be handled as a Lease: {why}')

    spec = obj.get("spec")
    if spec is None:
        obj.pop("spec", None)
        return
    if not isinstance(spec, dict):
        raise refuse("json: cannot unmarshal non-object into Go struct field Lease.spec of type v1.LeaseSpec")
    for field in (*MICRO_FIELDS, *INT_FIELDS, *STRING_FIELDS):
        value = spec.get(field)
        if value is None:
            spec.pop(field, None)
        elif field in INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
                raise refuse(_unmarshal_error(field, value, "int32"))
        elif not isinstance(value, str):
            raise refuse(_unmarshal_error(field, value, "string"))
        elif field in MICRO_FIELDS:
            try:
                spec[field] = parse_microtime(value)
            except ValueError as exc:
                raise refuse(str(exc)) from None


def problems(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    """422 causes of a decoded Lease (``ValidateLeaseSpec``)."""
    spec = obj.get("spec") or {}
    causes = []
    duration, transitions = spec.get("leaseDurationSeconds"), spec.get("leaseTransitions")
    if isinstance(duration, int) and duration <= 0:
        causes.append(
            ("FieldValueInvalid", "spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0")
        )
    if isinstance(transitions, int) and transitions < 0:
        causes.append(
            (
                "FieldValueInvalid",
                "spec.leaseTransitions",
                f"Invalid value: {transitions}: must be greater than or equal to 0",
            )
        )
    if spec.get("preferredHolder") and not spec.get("strategy"):
        causes.append(
            ("FieldValueForbidden", "spec.preferredHolder", "Forbidden: may only be specified if `strategy` is defined")
        )
    return causes
