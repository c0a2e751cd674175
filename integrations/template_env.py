"""The Jinja2 set-up shared by previewbot's templates and the child process that renders a repository's."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jinja2

# Characters JSON leaves raw but YAML would reject or fold (C1 controls, line/paragraph
# separators, surrogates, non-characters): written as escapes instead.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _check_defined(value: Any) -> None:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable


def to_yaml(value: Any) -> str:
    """Inline ``value`` as one YAML flow node that parses back to exactly ``value``."""
    _check_defined(value)
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``mapping`` without ``keys``."""
    _check_defined(mapping)
    return {k: v for k, v in mapping.items() if k not in keys}


FILTERS = {"yaml": to_yaml, "without": without}
ENV_OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "autoescape": False,
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
}
