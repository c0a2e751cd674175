"""The building blocks of settings: :class:`SettingsError`, :class:`Secret`, and parsers of single values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

#: the name of a Kubernetes object such as a Secret or a ClusterIssuer
OBJECT_NAME = re.compile(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?")


class SettingsError(ValueError):
    """A missing or invalid setting; the message names the variable and nothing secret."""


@dataclass(frozen=True, repr=False)
class Secret:
    """A value that never prints itself."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def parse_int(name: str, raw: str, low: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if value < low:
        raise SettingsError(f"{name}: must be at least {low}")
    return value


def parse_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise SettingsError(f"{name}: expected a {'/'.join(schemes)} URL")
    return raw.rstrip("/")


def parse_seconds(name: str, raw: str, low: float = 0.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected seconds, e.g. 1 or 0.5") from None
    if not low <= value < 1e9:  # also rejects nan and inf
        raise SettingsError(f"{name}: must be at least {low:g} seconds")
    return value


def parse_domain(name: str, raw: str) -> str:
    parts = raw.lower().strip(".").split(".")
    if not raw or any(not p or len(p) > 63 or not p.replace("-", "").isalnum() for p in parts):
        raise SettingsError(f"{name}: expected a DNS domain such as preview.example.com, got {raw!r}")
    return ".".join(parts)


def parse_image(name: str, raw: str) -> str:
    try:
        raw.format(owner="o", repo="r", sha="s", short_sha="s", number=1, branch="b")
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError(
            f"{name}: unknown placeholder {exc}; use {{owner}} {{repo}} {{sha}} {{short_sha}} {{number}} {{branch}}"
        ) from None
    return raw


def parse_bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def parse_names(name: str, raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    for item in names:
        if len(item) > 253 or not OBJECT_NAME.fullmatch(item):
            raise SettingsError(f"{name}: expected comma-separated Secret names, got {item!r}")
    return names
