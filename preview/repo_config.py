"""A repository's own preview settings (``.preview.yml``), validated into frozen values.

Everything here is pure: :func:`parse` takes what a YAML loader produced and either returns a
:class:`RepoConfig` or raises :class:`ConfigError` listing *every* problem, each naming its
field and reason. Reading the file and parsing YAML live in ``integrations.repo_config_loader``.
"""

from __future__ import annotations

import difflib
import posixpath
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeGuard

FILE_NAME = ".preview.yml"

IMAGE_PLACEHOLDERS = ("owner", "repo", "sha", "short_sha", "number", "branch")
MAX_REPLICAS = 10
MIN_TTL_SECONDS = 600
RESOURCE_KINDS = ("requests", "limits")
RESOURCE_NAMES = ("cpu", "memory")
RESERVED_ENV = "PREVIEW"

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_QUANTITY = re.compile(r"(?P<num>\d+(?:\.\d*)?|\.\d+)(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][-+]?\d+)?")
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{f"{p}i": Decimal(1024) ** (i + 1) for i, p in enumerate("KMGTPE")},
}


@dataclass(frozen=True)
class Resources:
    """Container resource requests and limits, as Kubernetes quantity strings."""

    requests: dict[str, str]
    limits: dict[str, str]

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Plain data for templates."""
        return {"requests": dict(self.requests), "limits": dict(self.limits)}


def default_resources() -> Resources:
    """The resources a preview gets unless ``.preview.yml`` says otherwise."""
    return Resources(requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "256Mi"})


@dataclass(frozen=True)
class SecretRef:
    """An environment value taken from key ``key`` of Kubernetes Secret ``secret`` in the preview namespace."""

    secret: str
    key: str


@dataclass(frozen=True)
class RepoConfig:
    """What a repository asks of its previews; ``None`` fields fall back to the operator's settings."""

    enabled: bool = True
    image: str | None = None
    port: int | None = None
    health_path: str = "/"
    replicas: int = 1
    resources: Resources = field(default_factory=default_resources)
    env: dict[str, str | SecretRef] = field(default_factory=dict)
    templates: str | None = None
    ttl_seconds: int | None = None
    required_checks: tuple[str, ...] = ()

    @property
    def plain_env(self) -> dict[str, str]:
        """Literal environment values (for the ConfigMap)."""
        return {k: v for k, v in self.env.items() if isinstance(v, str)}

    @property
    def secret_env(self) -> dict[str, SecretRef]:
        """Environment values read from Secrets (for ``secretKeyRef``)."""
        return {k: v for k, v in self.env.items() if isinstance(v, SecretRef)}

    def image_template(self, default: str) -> str:
        """This repository's image template, or the operator's ``default``."""
        return self.image if self.image is not None else default

    def container_port(self, default: int) -> int:
        """This repository's container port, or the operator's ``default``."""
        return self.port if self.port is not None else default


DEFAULT = RepoConfig()


class ConfigError(ValueError):
    """An invalid ``.preview.yml``; ``problems`` holds one ``field: reason`` line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def __str__(self) -> str:
        return "; ".join(self.problems)


_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("enabled", "true", "Deploy previews for this repository's pull requests (`false` turns them off)."),
    (
        "image",
        "operator's image template",
        "Image to run; may use the placeholders " + ", ".join(f"`{{{p}}}`" for p in IMAGE_PLACEHOLDERS) + ".",
    ),
    ("port", "operator's container port", "Port the container listens on (1-65535)."),
    ("health_path", "`/`", "HTTP path for readiness and liveness probes; starts with `/`, no spaces."),
    ("replicas", "1", f"Number of pods (0-{MAX_REPLICAS})."),
    (
        "resources",
        "requests `cpu: 50m`, `memory: 64Mi`; limits `cpu: 500m`, `memory: 256Mi`",
        "`requests` and/or `limits`, each with `cpu` and/or `memory` Kubernetes quantities; "
        "given values replace the defaults one by one; a limit may not be below its request.",
    ),
    (
        "env",
        "none",
        "Environment variables: `NAME: value` (a string, number or boolean; quote values such as `'3.10'` "
        "to keep their exact text) or `NAME: {secret: <Secret name>, key: <key>}` to read a Secret in the "
        "preview namespace; `PREVIEW` and `PREVIEW_*` are reserved.",
    ),
    ("templates", "none", "Directory in the repository with extra `*.yaml.j2` templates (relative path)."),
    (
        "ttl",
        "never expires",
        f"Remove the preview after this long: seconds or a duration such as `30m`, `72h`, `7d`, `2w`; "
        f"at least {MIN_TTL_SECONDS // 60}m; `null` means never.",
    ),
    ("required_checks", "none", "Check names that must succeed on the head commit before deploying."),
)
KEYS = tuple(key for key, _, _ in _SCHEMA)


def describe_schema() -> list[tuple[str, str, str]]:
    """``(key, default, meaning)`` for every key ``.preview.yml`` accepts, in documentation order."""
    return list(_SCHEMA)


# -- helpers ------------------------------------------------------------------------------------


def _show(value: object) -> str:
    """A short, YAML-flavoured rendering of a user value (never a whole nested structure)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _quantity(value: object) -> Decimal | None:
    """The numeric value of a Kubernetes quantity, or ``None`` if ``value`` is not one."""
    if _is_int(value) or isinstance(value, float):
        value = str(value)
    if not isinstance(value, str) or not (match := _QUANTITY.fullmatch(value)):
        return None
    suffix = match["suffix"] or ""
    try:
        number = Decimal(match["num"])
        if suffix[:1] in ("e", "E"):
            return number.scaleb(int(suffix[1:]))
    except (InvalidOperation, ValueError):
        return None
    return number * _SUFFIX[suffix]


def parse_duration(value: object) -> int | None:
    """Seconds in ``value`` (an int of seconds, or ``30m``, ``72h``, ``1d12h``…); ``None`` if malformed."""
    if _is_int(value):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    if not text or _DURATION_PART.sub("", text):
        return None
    return sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))


class _Problems(list[str]):
    def add(self, path: str, reason: str) -> None:
        self.append(f"{path}: {reason}")


# -- field validators: each returns the parsed value, or None after recording problems -----------


def _enabled(value: object, out: _Problems) -> bool | None:
    if isinstance(value, bool):
        return value
    out.add("enabled", f"must be true or false, got {_show(value)}")
    return None


def _image(value: object, out: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        out.add("image", f"must be a non-empty string, got {_show(value)}")
        return None
    if any(c.isspace() for c in value):
        out.add("image", f"must not contain whitespace, got {_show(value)}")
        return None
    try:
        fields = [(name, conv, spec) for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError:
        out.add("image", f"unbalanced braces in {_show(value)}; write a literal brace as '{{{{' or '}}}}'")
        return None
    allowed = ", ".join(f"{{{p}}}" for p in IMAGE_PLACEHOLDERS)
    bad = [
        "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        for name, conv, spec in fields
        if name not in IMAGE_PLACEHOLDERS or conv or spec
    ]
    if bad:
        out.add("image", f"unknown placeholder {', '.join(bad)} (allowed: {allowed})")
        return None
    return value


def _port(value: object, out: _Problems) -> int | None:
    if _is_int(value) and 1 <= value <= 65535:
        return value
    out.add("port", f"must be an integer between 1 and 65535, got {_show(value)}")
    return None


def _health_path(value: object, out: _Problems) -> str | None:
    if isinstance(value, str) and value.startswith("/") and not any(c.isspace() for c in value):
        return value
    out.add("health_path", f"must be a path starting with '/' and without spaces, got {_show(value)}")
    return None


def _replicas(value: object, out: _Problems) -> int | None:
    if _is_int(value) and 0 <= value <= MAX_REPLICAS:
        return value
    out.add("replicas", f"must be an integer between 0 and {MAX_REPLICAS}, got {_show(value)}")
    return None


def _resources(value: object, out: _Problems) -> Resources | None:
    if not isinstance(value, Mapping):
        out.add("resources", f"must be a mapping with 'requests' and/or 'limits', got {_show(value)}")
        return None
    merged = default_resources().as_dict()
    given: set[str] = set()
    ok = True
    for kind, amounts in value.items():
        if kind not in RESOURCE_KINDS:
            out.add(f"resources.{kind}", f"unknown key (allowed: {', '.join(RESOURCE_KINDS)})")
            ok = False
            continue
        if amounts is None:
            continue
        if not isinstance(amounts, Mapping):
            out.add(f"resources.{kind}", f"must be a mapping with 'cpu' and/or 'memory', got {_show(amounts)}")
            ok = False
            continue
        for name, amount in amounts.items():
            path = f"resources.{kind}.{name}"
            if name not in RESOURCE_NAMES:
                out.add(path, f"unknown key (allowed: {', '.join(RESOURCE_NAMES)})")
                ok = False
            elif _quantity(amount) is None:
                out.add(path, f"not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): {_show(amount)}")
                ok = False
            else:
                merged[kind][name] = str(amount)
                given.add(path)
    for name in RESOURCE_NAMES:  # merged holds only valid quantities
        request, limit = merged["requests"][name], merged["limits"][name]
        if (_quantity(limit) or 0) >= (_quantity(request) or 0):
            continue
        if f"resources.limits.{name}" in given:
            out.add(f"resources.limits.{name}", f"{limit} is below resources.requests.{name} ({request})")
        else:
            out.add(
                f"resources.requests.{name}",
                f"{request} is above the default limit ({limit}); raise resources.limits.{name} too",
            )
        ok = False
    return Resources(requests=merged["requests"], limits=merged["limits"]) if ok else None


def _secret_ref(path: str, value: Mapping[object, object], out: _Problems) -> SecretRef | None:
    ok = True
    for key in value:
        if key not in ("secret", "key"):
            out.add(f"{path}.{key}", "unknown key (allowed: secret, key)")
            ok = False
    secret, key = value.get("secret"), value.get("key")
    if not (isinstance(secret, str) and len(secret) <= 253 and _DNS_SUBDOMAIN.fullmatch(secret)):
        out.add(f"{path}.secret", f"must be a Kubernetes Secret name (lowercase DNS name), got {_show(secret)}")
        ok = False
    if not (isinstance(key, str) and len(key) <= 253 and _SECRET_KEY.fullmatch(key)):
        out.add(f"{path}.key", f"must be a Secret key (letters, digits, '-', '_', '.'), got {_show(key)}")
        ok = False
    return SecretRef(secret, key) if ok else None  # type: ignore[arg-type]


def _env(value: object, out: _Problems) -> dict[str, str | SecretRef] | None:
    if not isinstance(value, Mapping):
        out.add("env", f"must be a mapping of variable names to values, got {_show(value)}")
        return None
    result: dict[str, str | SecretRef] = {}
    ok = True
    for name, item in value.items():
        path = f"env.{name}"
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            out.add(path, "not a valid variable name (letters, digits and '_', not starting with a digit)")
            ok = False
            continue
        if name == RESERVED_ENV or name.startswith(f"{RESERVED_ENV}_"):
            out.add(path, f"reserved: previewbot sets {RESERVED_ENV} and {RESERVED_ENV}_* itself")
            ok = False
            continue
        if isinstance(item, bool):
            result[name] = "true" if item else "false"
        elif isinstance(item, str | int | float):
            result[name] = str(item)
        elif isinstance(item, Mapping):
            ref = _secret_ref(path, item, out)
            if ref is None:
                ok = False
            else:
                result[name] = ref
        else:
            out.add(path, f"must be a string, number, boolean or {{secret: ..., key: ...}}, got {_show(item)}")
            ok = False
    return result if ok else None


def _templates(value: object, out: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        out.add("templates", f"must be a directory path inside the repository, got {_show(value)}")
        return None
    if value.startswith("/") or "\\" in value or "\0" in value or ".." in value.split("/"):
        out.add("templates", f"must be a relative path inside the repository (no leading '/', no '..'): {_show(value)}")
        return None
    return posixpath.normpath(value)


def _ttl(value: object, out: _Problems) -> int | None:
    seconds = parse_duration(value)
    if seconds is None:
        out.add("ttl", f"must be a number of seconds or a duration such as 30m, 72h, 7d, 2w, got {_show(value)}")
    elif seconds < MIN_TTL_SECONDS:
        out.add("ttl", f"must be at least {MIN_TTL_SECONDS // 60}m, got {_show(value)}")
        seconds = None
    return seconds


def _required_checks(value: object, out: _Problems) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        out.add("required_checks", f"must be a list of check names, got {_show(value)}")
        return None
    checks: list[str] = []
    ok = True
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            out.add(f"required_checks[{i}]", f"must be a non-empty string, got {_show(name)}")
            ok = False
        elif name in checks:
            out.add(f"required_checks[{i}]", f"duplicate check {_show(name)}")
            ok = False
        else:
            checks.append(name)
    return tuple(checks) if ok else None


# key -> (RepoConfig attribute, validator, whether null is allowed and keeps the default)
_FIELDS: dict[str, tuple[str, Callable[[object, _Problems], object], bool]] = {
    "enabled": ("enabled", _enabled, False),
    "image": ("image", _image, True),
    "port": ("port", _port, True),
    "health_path": ("health_path", _health_path, False),
    "replicas": ("replicas", _replicas, False),
    "resources": ("resources", _resources, True),
    "env": ("env", _env, True),
    "templates": ("templates", _templates, True),
    "ttl": ("ttl_seconds", _ttl, True),
    "required_checks": ("required_checks", _required_checks, True),
}
assert tuple(_FIELDS) == KEYS


def parse(data: object) -> RepoConfig:
    """Validate loaded ``.preview.yml`` data; raise :class:`ConfigError` listing every problem found."""
    if data is None:
        return DEFAULT
    out = _Problems()
    if not isinstance(data, Mapping):
        out.add(FILE_NAME, f"must be a mapping of settings (key: value), got {_show(data)}")
        raise ConfigError(out)
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in _FIELDS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f", did you mean '{close[0]}'?" if close else ""
            out.add(str(key), f"unknown key{hint} (allowed: {', '.join(KEYS)})")
            continue
        attr, validate, nullable = _FIELDS[key]
        if value is None and nullable:
            continue  # keep the default (see describe_schema)
        parsed = validate(value, out)
        if parsed is not None:
            values[attr] = parsed
    if out:
        raise ConfigError(out)
    return RepoConfig(**values)  # type: ignore[arg-type]
