"""Kubernetes resource quantities (``500m``, ``0.5``, ``64Mi``, ``1e3``), read exactly and range-checked.

The grammar is Kubernetes' ``resource.Quantity``: a signed decimal number followed by a binary suffix
(``Ki`` … ``Ei``), a decimal suffix (``n``, ``u``, ``m``, ``k``, ``M`` … ``E``) or a decimal exponent
(``e3``, ``E-2``). Kubernetes keeps at most 2^63-1 and steps of 1n; anything it would have to cap or
round is refused here, as are negative amounts (no container resource may be negative).
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal, DecimalException, Inexact, InvalidOperation, Overflow, localcontext

MAX_TEXT = 64  # characters
MAX_EXPONENT = 100  # |n| in a ``e<n>`` suffix
LARGEST = Decimal(2**63 - 1)
TOO_LARGE = "out of range: Kubernetes quantities are at most 2^63-1 (9223372036854775807)"

EXAMPLES = "such as 500m, 0.5, 64Mi, 1Gi"

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<suffix>[KMGTPE]i|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?"
)
_DECIMAL_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIX = {f"{p}i": 10 * (i + 1) for i, p in enumerate("KMGTPE")}

# Inputs are short and exponents bounded before any arithmetic, so 120 digits keep every result exact;
# should that ever not hold, the traps turn it into an error rather than a rounded or infinite value.
_CONTEXT = Context(prec=120, Emax=10_000, Emin=-10_000, traps=[InvalidOperation, Overflow, Inexact])


class QuantityError(ValueError):
    """``value`` is not a quantity Kubernetes would keep exactly; ``reason`` says why (without the value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(value: object) -> str:
    """The quantity's text; numbers from YAML or JSON are taken as written."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QuantityError(f"not a Kubernetes quantity ({EXAMPLES})")
    if isinstance(value, float) and not math.isfinite(value):
        raise QuantityError("not a finite number")
    if isinstance(value, int) and value.bit_length() > 64:
        raise QuantityError(TOO_LARGE)
    text = str(value)
    if len(text) > MAX_TEXT:
        raise QuantityError(f"too long for a quantity (at most {MAX_TEXT} characters)")
    return text


def parse_quantity(value: object) -> Decimal:
    """The amount ``value`` stands for, in the resource's base unit (cores, bytes).

    Raises :class:`QuantityError` for anything that is not a non-negative Kubernetes quantity
    within 0 … 2^63-1 and a whole number of 1n steps; never any other exception.
    """
    text = _text(value)
    match = _QUANTITY.fullmatch(text)
    if not match:
        raise QuantityError(f"not a Kubernetes quantity ({EXAMPLES})")
    exponent = match["exponent"]
    if exponent is not None:
        digits = exponent.lstrip("+-").lstrip("0") or "0"  # bounded before int() sees it
        if len(digits) > len(str(MAX_EXPONENT)) or int(digits) > MAX_EXPONENT:
            raise QuantityError(f"exponent out of range (e-{MAX_EXPONENT} to e{MAX_EXPONENT})")
    suffix = match["suffix"] or ""
    try:
        with localcontext(_CONTEXT):
            amount = Decimal(match["number"])
            if exponent is not None:
                amount = amount.scaleb(int(exponent))
            elif suffix in _BINARY_SUFFIX:
                amount = amount * (2 ** _BINARY_SUFFIX[suffix])
            else:
                amount = amount.scaleb(_DECIMAL_SUFFIX[suffix])
            steps = amount.scaleb(9)  # in units of 1n
            whole = steps == steps.to_integral_value()
    except DecimalException:
        raise QuantityError(f"not a Kubernetes quantity ({EXAMPLES})") from None
    if match["sign"] == "-" and amount != 0:
        raise QuantityError("must not be negative")
    if amount > LARGEST:
        raise QuantityError(TOO_LARGE)
    if not whole:
        raise QuantityError("more precise than Kubernetes keeps (the smallest step is 1n)")
    return amount
