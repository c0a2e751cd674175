"""The shape of ``.preview.yml``: its keys, limits, the frozen values it parses into, and its error type."""

from __future__ import annotations

from dataclasses import dataclass, field

FILE_NAME = ".preview.yml"

IMAGE_PLACEHOLDERS = ("owner", "repo", "sha", "short_sha", "number", "branch")
MAX_REPLICAS = 10
MIN_TTL_SECONDS = 600
RESOURCE_KINDS = ("requests", "limits")
RESOURCE_NAMES = ("cpu", "memory")
RESERVED_ENV = "PREVIEW"
QUOTA_NAMES = ("cpu", "memory", "pods")
#: Capabilities a ``run_as_root`` container keeps (all within Pod Security "baseline"): binding ports
#: below 1024, and what images that start as root need to hand files and processes to their own user.
ROOT_CAPABILITIES = ("CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID")

#: Limits on the file itself, so that reading it stays cheap whatever a pull request puts in it.
MAX_FILE_BYTES = 64 * 1024
MAX_DEPTH = 16  # nested mappings and lists
MAX_NODES = 2_000  # keys, values and list items together
MAX_PROBLEMS = 20  # problems listed in one ConfigError; the rest are counted
SEPARATOR = "; "  # between the problems in a ConfigError's message


@dataclass(frozen=True)
class Resources:
    """The container requests and limits a repository gives, as Kubernetes quantity strings.

    Only what ``.preview.yml`` names is here; every other value is the operator's default, merged and
    bounded by :func:`preview.pod_policy.resources` and :func:`preview.pod_policy.problems`.
    """

    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, str]]:
        """Plain data: ``{"requests": {...}, "limits": {...}}``."""
        return {"requests": dict(self.requests), "limits": dict(self.limits)}


@dataclass(frozen=True)
class Quota:
    """A repository's ResourceQuota for its preview namespace; ``None`` keeps the operator's default."""

    cpu: str | None = None
    memory: str | None = None
    pods: int | None = None


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
    resources: Resources = field(default_factory=Resources)  # given values only
    env: dict[str, str | SecretRef] = field(default_factory=dict)
    templates: str | None = None
    ttl_seconds: int | None = None
    required_checks: tuple[str, ...] = ()
    run_as_root: bool = False
    quota: Quota = field(default_factory=Quota)
    strategy: str | None = None  # "rolling" or "blue-green"; None: the operator's default

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
    """An invalid ``.preview.yml``; ``problems`` holds one ``key (line N): reason`` line per problem.

    The message joins the problems with ``"; "``; a problem that holds that separator itself (because it
    repeats the author's text) gets a no-break space after the semicolon, so the list can be split again.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = [problem.replace(SEPARATOR, ";\u00a0") for problem in problems]
        super().__init__(SEPARATOR.join(self.problems))

    def __str__(self) -> str:
        return SEPARATOR.join(self.problems)


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
        "the operator's (`PREVIEWBOT_CONTAINER_*`: requests `cpu: 50m`, `memory: 64Mi`; limits `cpu: 500m`, "
        "`memory: 256Mi`)",
        "`requests` and/or `limits`, each with `cpu` and/or `memory` Kubernetes quantities (0 to 2^63-1, "
        "whole multiples of 1n); given values replace the operator's defaults one by one; a limit may not be "
        "below its request, and no value above the operator's maximum (`PREVIEWBOT_CONTAINER_MAX_*`).",
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
    (
        "run_as_root",
        "false",
        "`true` lets the container run as root (e.g. official `nginx`); only where the operator allows it "
        "(`PREVIEWBOT_ALLOW_RUN_AS_ROOT`); still no privilege escalation, and only the capabilities "
        + ", ".join(f"`{c}`" for c in ROOT_CAPABILITIES)
        + ".",
    ),
    (
        "quota",
        "the operator's (`PREVIEWBOT_QUOTA_*`)",
        "The namespace's ResourceQuota: `cpu` and/or `memory` (Kubernetes quantities, above 0) and `pods` "
        "(a whole number, at least 1); given values replace the operator's defaults one by one, up to the "
        "operator's maximums (`PREVIEWBOT_QUOTA_MAX_*`).",
    ),
    (
        "strategy",
        "the operator's (`PREVIEWBOT_DEFAULT_STRATEGY`, `rolling`)",
        "`rolling` updates the Deployments in place; `blue-green` starts each commit in Deployments of its "
        "own and switches the Services to it only when it is fully available, so reviewers never see two "
        "versions (see Blue-green previews).",
    ),
)
KEYS = tuple(key for key, _, _ in _SCHEMA)


def describe_schema() -> list[tuple[str, str, str]]:
    """``(key, default, meaning)`` for every key ``.preview.yml`` accepts, in documentation order."""
    return list(_SCHEMA)
