"""A repository's own preview settings (``.preview.yml``), validated into frozen values.

Everything here is pure: :func:`parse` takes what a YAML loader produced and either returns a
:class:`RepoConfig` or raises :class:`ConfigError` listing every problem (up to a limit), each naming
its key, its line when the loader knows it, and the reason. Reading the file and parsing YAML live in
``integrations.repo_config_loader``. This module is the public entry point; the schema, the field
validators, quantities and environment references live in the ``preview.config_*`` and
``preview.quantities`` modules.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping

from preview import config_fields as fields
from preview.config_env import env
from preview.config_fields import parse_duration
from preview.config_problems import Path, Problems, format_path, key_label, show, where
from preview.config_quota import quota, run_as_root
from preview.config_resources import resources
from preview.config_schema import (
    DEFAULT,
    FILE_NAME,
    IMAGE_PLACEHOLDERS,
    KEYS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    MAX_PROBLEMS,
    MAX_REPLICAS,
    MIN_TTL_SECONDS,
    QUOTA_NAMES,
    RESERVED_ENV,
    RESOURCE_KINDS,
    RESOURCE_NAMES,
    ROOT_CAPABILITIES,
    SEPARATOR,
    ConfigError,
    Quota,
    RepoConfig,
    Resources,
    SecretRef,
    describe_schema,
)

__all__ = [
    "DEFAULT",
    "FILE_NAME",
    "IMAGE_PLACEHOLDERS",
    "KEYS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_PROBLEMS",
    "MAX_REPLICAS",
    "MIN_TTL_SECONDS",
    "QUOTA_NAMES",
    "RESERVED_ENV",
    "RESOURCE_KINDS",
    "RESOURCE_NAMES",
    "ROOT_CAPABILITIES",
    "SEPARATOR",
    "ConfigError",
    "Path",
    "Quota",
    "RepoConfig",
    "Resources",
    "SecretRef",
    "describe_schema",
    "format_path",
    "key_label",
    "parse",
    "parse_duration",
    "where",
]

_Validator = Callable[[object, Path, Problems], object]

# key -> (RepoConfig attribute, validator, whether null is allowed and keeps the default)
_FIELDS: dict[str, tuple[str, _Validator, bool]] = {
    "enabled": ("enabled", fields.enabled, False),
    "image": ("image", fields.image, True),
    "port": ("port", fields.port, True),
    "health_path": ("health_path", fields.health_path, False),
    "replicas": ("replicas", fields.replicas, False),
    "resources": ("resources", resources, True),
    "env": ("env", env, True),
    "templates": ("templates", fields.templates, True),
    "ttl": ("ttl_seconds", fields.ttl, True),
    "required_checks": ("required_checks", fields.required_checks, True),
    "run_as_root": ("run_as_root", run_as_root, False),
    "quota": ("quota", quota, True),
    "strategy": ("strategy", fields.strategy, True),
}
assert tuple(_FIELDS) == KEYS


def _unknown_key(key: object) -> str:
    label = key_label(key)
    close = difflib.get_close_matches(label, KEYS, n=1) if len(label) <= 2 * max(map(len, KEYS)) else []
    hint = f", did you mean '{close[0]}'?" if close else ""
    return f"unknown key{hint} (allowed: {', '.join(KEYS)})"


def parse(data: object, lines: Mapping[Path, int] | None = None) -> RepoConfig:
    """Validate loaded ``.preview.yml`` data; raise :class:`ConfigError` listing the problems found.

    ``lines`` maps key paths such as ``("resources", "limits", "cpu")`` or ``("required_checks", 1)``
    to their 1-based line in the file, so that each problem can name where it is.
    """
    if data is None:
        return DEFAULT
    out = Problems(lines)
    if not isinstance(data, Mapping):
        out.add((), f"must be a mapping of settings (key: value), got {show(data)}")
        raise out.error()
    values: dict[str, object] = {}
    for key, value in data.items():
        if not isinstance(key, str) or key not in _FIELDS:
            out.add((key_label(key),), _unknown_key(key))
            continue
        attr, validate, nullable = _FIELDS[key]
        if value is None and nullable:
            continue  # keep the default (see describe_schema)
        parsed = validate(value, (key,), out)
        if parsed is not None:
            values[attr] = parsed
    if out:
        raise out.error()
    return RepoConfig(**values)  # type: ignore[arg-type]


def load_json(text: str | None) -> RepoConfig:
    """Parse ``.preview.yml`` written as JSON (valid YAML), bounded like the YAML loader; stdlib only."""
    if text is None:
        return DEFAULT
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ConfigError([f"{FILE_NAME}: file is too large (at most {MAX_FILE_BYTES // 1024} KiB)"])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{FILE_NAME} line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except (RecursionError, ValueError):
        raise ConfigError([f"{FILE_NAME}: nested too deeply or a number too long"]) from None
    return parse(data)
