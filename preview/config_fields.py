"""Validators of the scalar and list keys of ``.preview.yml``.

Each takes the value, its :data:`~preview.config_problems.Path` and the :class:`Problems` so far, and
returns the parsed value, or ``None`` after recording why it is wrong.
"""

from __future__ import annotations

import posixpath
import re
import string
from typing import TypeGuard

from preview.config_problems import Path, Problems, show
from preview.config_schema import IMAGE_PLACEHOLDERS, MAX_REPLICAS, MIN_TTL_SECONDS

MAX_TTL_SECONDS = 365 * 86400
MAX_DURATION_TEXT = 32  # characters

_DURATION_PART = re.compile(r"([0-9]+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def is_int(value: object) -> TypeGuard[int]:
    """An integer that is not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_duration(value: object) -> int | None:
    """Seconds in ``value`` (an int of seconds, or ``30m``, ``72h``, ``1d12h``…); ``None`` if malformed."""
    if is_int(value):
        return value
    if not isinstance(value, str) or len(value) > MAX_DURATION_TEXT:
        return None
    text = value.strip().lower()
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or _DURATION_PART.sub("", text):
        return None
    return sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def enabled(value: object, path: Path, out: Problems) -> bool | None:
    if isinstance(value, bool):
        return value
    out.add(path, f"must be true or false, got {show(value)}")
    return None


def image(value: object, path: Path, out: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        out.add(path, f"must be a non-empty string, got {show(value)}")
        return None
    if any(c.isspace() for c in value):
        out.add(path, f"must not contain whitespace, got {show(value)}")
        return None
    try:
        fields = [(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError:
        out.add(path, f"unbalanced braces in {show(value)} (write a literal brace as '{{{{' or '}}}}')")
        return None
    allowed = ", ".join(f"{{{p}}}" for p in IMAGE_PLACEHOLDERS)
    bad = [
        "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        for name, conv, spec in fields
        if name not in IMAGE_PLACEHOLDERS or conv or spec
    ]
    if bad:
        shown = ", ".join(bad)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        out.add(path, f"unknown placeholder {shown} (allowed: {allowed})")
        return None
    return value


def port(value: object, path: Path, out: Problems) -> int | None:
    if is_int(value) and 1 <= value <= 65535:
        return value
    out.add(path, f"must be an integer between 1 and 65535, got {show(value)}")
    return None


def health_path(value: object, path: Path, out: Problems) -> str | None:
    if isinstance(value, str) and value.startswith("/") and not any(c.isspace() for c in value):
        return value
    out.add(path, f"must be a path starting with '/' and without spaces, got {show(value)}")
    return None


def replicas(value: object, path: Path, out: Problems) -> int | None:
    if is_int(value) and 0 <= value <= MAX_REPLICAS:
        return value
    out.add(path, f"must be an integer between 0 and {MAX_REPLICAS}, got {show(value)}")
    return None


STRATEGIES = ("rolling", "blue-green")


def strategy(value: object, path: Path, out: Problems) -> str | None:
    if isinstance(value, str) and value in STRATEGIES:
        return value
    out.add(path, f"must be one of {', '.join(STRATEGIES)}, got {show(value)}")
    return None


def templates(value: object, path: Path, out: Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        out.add(path, f"must be a directory path inside the repository, got {show(value)}")
        return None
    if value.startswith("/") or "\\" in value or "\0" in value or ".." in value.split("/"):
        out.add(path, f"must be a relative path inside the repository (no leading '/', no '..'): {show(value)}")
        return None
    return posixpath.normpath(value)


def ttl(value: object, path: Path, out: Problems) -> int | None:
    seconds = parse_duration(value)
    if seconds is None:
        out.add(path, f"must be a number of seconds or a duration such as 30m, 72h, 7d, 2w, got {show(value)}")
    elif seconds < MIN_TTL_SECONDS:
        out.add(path, f"must be at least {MIN_TTL_SECONDS // 60}m, got {show(value)}")
        seconds = None
    elif seconds > MAX_TTL_SECONDS:
        out.add(path, f"must be at most {MAX_TTL_SECONDS // 86400}d, got {show(value)}")
        seconds = None
    return seconds


def required_checks(value: object, path: Path, out: Problems) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        out.add(path, f"must be a list of check names, got {show(value)}")
        return None
    checks: list[str] = []
    seen: set[str] = set()
    ok = True
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            out.add((*path, i), f"must be a non-empty string, got {show(name)}")
            ok = False
        elif name in seen:
            out.add((*path, i), f"duplicate check {show(name)}")
            ok = False
        else:
            checks.append(name)
            seen.add(name)
    return tuple(checks) if ok else None
