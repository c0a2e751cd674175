"""Naming places in ``.preview.yml`` (key paths and lines) and collecting problems about them."""

from __future__ import annotations

import math
from collections.abc import Mapping

from preview.config_schema import FILE_NAME, MAX_PROBLEMS, ConfigError

#: Where a value sits: mapping keys (as :func:`key_label` shows them) and list indices, from the top.
Path = tuple[str | int, ...]

MAX_SHOWN = 60  # characters of a user's key or value repeated in a message


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def show(value: object) -> str:
    """A short, YAML-flavoured rendering of a user value (never a whole nested structure)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 128 else "a very large integer"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        return repr(_clip(value))
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def key_label(key: object) -> str:
    """How a mapping key appears in a :data:`Path`: strings as written, other scalars as :func:`show` puts them."""
    return key if isinstance(key, str) else show(key)


def format_path(path: Path) -> str:
    """``resources.limits.cpu``, ``required_checks[1]``; the file name for the top level."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + _clip(part)
    return text or FILE_NAME


def where(path: Path, line: int | None = None, column: int | None = None) -> str:
    """``key (line L, column C)``, leaving out what is not known."""
    if line is None:
        return format_path(path)
    return f"{format_path(path)} (line {line}" + (f", column {column})" if column is not None else ")")


class Problems:
    """Problems found so far, each ``key (line N): reason``; lines come from the loader when it knows them."""

    def __init__(self, lines: Mapping[Path, int] | None = None) -> None:
        self.items: list[str] = []
        self.omitted = 0
        self._lines = lines or {}

    def __bool__(self) -> bool:
        return bool(self.items)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest parent whose line is known."""
        while True:
            if path in self._lines:
                return self._lines[path]
            if not path:
                return None
            path = path[:-1]

    def add(self, path: Path, reason: str) -> None:
        """Record that the value at ``path`` is wrong and why."""
        if len(self.items) >= MAX_PROBLEMS:
            self.omitted += 1
            return
        self.items.append(f"{where(path, self.line(path))}: {reason}")

    def error(self) -> ConfigError:
        """A :class:`ConfigError` listing what was recorded (and how many more were left out)."""
        more = [f"{FILE_NAME}: {self.omitted} more problems not listed"] if self.omitted else []
        return ConfigError([*self.items, *more])
