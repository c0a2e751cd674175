"""The ``env`` key of ``.preview.yml``: literal values and references to Kubernetes Secrets."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from preview.config_problems import Path, Problems, key_label, show
from preview.config_schema import RESERVED_ENV, SecretRef

MAX_NUMBER_BITS = 256  # a longer number must be quoted to be used as text

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _secret_ref(value: Mapping[object, object], path: Path, out: Problems) -> SecretRef | None:
    ok = True
    for key in value:
        if key not in ("secret", "key"):
            out.add((*path, key_label(key)), "unknown key (allowed: secret, key)")
            ok = False
    secret, key = value.get("secret"), value.get("key")
    if not (isinstance(secret, str) and len(secret) <= 253 and _DNS_SUBDOMAIN.fullmatch(secret)):
        out.add((*path, "secret"), f"must be a Kubernetes Secret name (lowercase DNS name), got {show(secret)}")
        ok = False
    if not (isinstance(key, str) and len(key) <= 253 and _SECRET_KEY.fullmatch(key)):
        out.add((*path, "key"), f"must be a Secret key (letters, digits, '-', '_', '.'), got {show(key)}")
        ok = False
    return SecretRef(secret, key) if ok else None  # type: ignore[arg-type]


def _literal(value: bool | str | int | float) -> str | None:
    """The text of a scalar environment value; ``None`` for a number too long or not finite."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def env(value: object, path: Path, out: Problems) -> dict[str, str | SecretRef] | None:
    """``NAME: value`` (string, number or boolean) or ``NAME: {secret: ..., key: ...}``."""
    if not isinstance(value, Mapping):
        out.add(path, f"must be a mapping of variable names to values, got {show(value)}")
        return None
    result: dict[str, str | SecretRef] = {}
    ok = True
    for name, item in value.items():
        item_path = (*path, key_label(name))
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            out.add(item_path, "not a valid variable name (letters, digits and '_', not starting with a digit)")
            ok = False
            continue
        if name == RESERVED_ENV or name.startswith(f"{RESERVED_ENV}_"):
            out.add(item_path, f"reserved: previewbot sets {RESERVED_ENV} and {RESERVED_ENV}_* itself")
            ok = False
            continue
        if isinstance(item, str | int | float):
            text = _literal(item)
            if text is None:
                out.add(item_path, f"not a usable number, got {show(item)} (quote the value to use it as text)")
                ok = False
            else:
                result[name] = text
        elif isinstance(item, Mapping):
            ref = _secret_ref(item, item_path, out)
            if ref is None:
                ok = False
            else:
                result[name] = ref
        else:
            out.add(item_path, f"must be a string, number, boolean or {{secret: ..., key: ...}}, got {show(item)}")
            ok = False
    return result if ok else None
