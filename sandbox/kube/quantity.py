"""Resource quantities (``500m``, ``1Gi``, ``1e3``) as apimachinery's ``resource.Quantity`` parses and prints them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
DECIMAL_SUFFIX = {exp: suffix for suffix, exp in DECIMAL.items()}
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
NANO = Fraction(1, 10**9)


@dataclass(frozen=True)
class Quantity:
    """An exact value plus the format it prints in: ``BinarySI``, ``DecimalSI`` or ``DecimalExponent``."""

    value: Fraction
    fmt: str = "DecimalSI"

    def __add__(self, other: Quantity) -> Quantity:
        """``Quantity.Add``: a zero receiver takes the other's format."""
        return Quantity(self.value + other.value, other.fmt if self.value == 0 else self.fmt)

    def milli(self) -> int:
        """``MilliValue()``: thousandths, rounded up."""
        return math.ceil(self.value * 1000)

    def __str__(self) -> str:
        return canonical(self)


def parse(text: object) -> Quantity:
    """Parse a quantity (numbers too); ``ValueError`` when it is not one. Precision below 1n rounds up."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    raw = str(text).strip()
    m = _QUANTITY.match(raw)
    if not m:
        raise ValueError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    number, suffix = Fraction(m.group(1)), m.group(2) or ""
    if suffix in BINARY:
        value, fmt = number * 1024 ** BINARY[suffix], "BinarySI"
    elif suffix[:1] in ("e", "E"):
        value, fmt = number * Fraction(10) ** int(suffix[1:]), "DecimalExponent"
    else:
        value, fmt = number * Fraction(10) ** DECIMAL[suffix], "DecimalSI"
    if value.denominator != 1 and (value / NANO).denominator != 1:
        value = Fraction(math.ceil(value / NANO)) * NANO
    return Quantity(value, fmt)


def _decimal(value: Fraction, fmt: str) -> str:
    exp = -9
    mantissa = int(value / NANO)
    while mantissa % 1000 == 0 and exp < 18:
        mantissa //= 1000
        exp += 3
    if fmt == "DecimalExponent":
        return f"{mantissa}e{exp}" if exp else str(mantissa)
    return f"{mantissa}{DECIMAL_SUFFIX[exp]}"


def canonical(q: Quantity) -> str:
    """``Quantity.String()``: the shortest exact form in the quantity's format."""
    if q.value == 0:
        return "0"
    fmt = q.fmt
    if fmt == "BinarySI" and (abs(q.value) < 1024 or q.value.denominator != 1):
        fmt = "DecimalSI"
    if fmt != "BinarySI":
        return _decimal(q.value, fmt)
    mantissa, exp = int(q.value), 0
    while mantissa % 1024 == 0 and exp < 6:
        mantissa //= 1024
        exp += 1
    suffix = {v: k for k, v in BINARY.items()}.get(exp, "")
    return f"{mantissa}{suffix}"


def normalised(text: object) -> object:
    """``text`` in canonical form when it parses, else unchanged (as the server serialises stored quantities)."""
    try:
        return canonical(parse(text))
    except ValueError:
        return text


def quantities(values: dict[str, Any] | None) -> dict[str, Quantity]:
    """Parsed entries of a resource list (unparsable ones skipped)."""
    out = {}
    for key, value in (values or {}).items():
        try:
            out[key] = parse(value)
        except ValueError:
            continue
    return out
