"""One validated settings object, built once from ``PREVIEWBOT_*`` environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "k8s" / "preview"


class SettingsError(ValueError):
    """A missing or invalid setting; the message names the variable and nothing secret."""


@dataclass(frozen=True, repr=False)
class Secret:
    """A value that never prints itself."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """Everything previewbot reads from its environment."""

    webhook_secrets: tuple[Secret, ...] = ()
    github_token: Secret | None = None
    github_app_id: int | None = None
    github_private_key: Secret | None = None
    github_api_url: str = "https://api.github.com"
    redis_url: str = "redis://localhost:6379/0"
    kubeconfig: str | None = None
    preview_domain: str = "preview.example.com"
    image_template: str = "registry.example.com/{owner}/{repo}:{sha}"
    status_context: str = "preview"
    templates_dir: Path = DEFAULT_TEMPLATES
    container_port: int = 8080
    progress_deadline_seconds: int = 600
    delivery_ttl_seconds: int = 86400
    lock_ttl_seconds: int = 300
    watch_resync_seconds: int = 300
    visibility_timeout_seconds: int = 3600
    max_retries: int = 8
    ingress_class: str = ""
    url_scheme: str = "https"
    log_level: str = "INFO"
    metrics_port: int | None = None  # None: the process's own default (worker 9100, watcher 9101); 0: none
    metrics_host: str = "0.0.0.0"  # scraped and probed from outside the container
    preview_label: str = ""
    keep_label: str = "keep"
    deploy_drafts: bool = False
    github_writes_per_minute: int = 60
    github_write_burst: int = 10
    failure_grace_seconds: float = 5.0
    task_time_limit_seconds: int = 240
    retry_backoff_seconds: float = 2.0
    retry_backoff_max_seconds: float = 300.0
    stale_pending_seconds: int = 900
    leader_election: bool = True
    lease_namespace: str = "previewbot"
    lease_name: str = "previewbot-watcher"
    lease_duration_seconds: int = 15
    gc_interval_seconds: int = 600
    gc_terminating_seconds: int = 900
    gc_dry_run: bool = False
    max_previews: int = 0  # live previews overall; 0: no limit (see preview/slots.py)
    max_previews_per_repo: int = 0  # live previews per repository; 0: no limit
    pod_security: str = "baseline"
    allow_run_as_root: bool = False  # may a .preview.yml ask for run_as_root (not with pod_security restricted)
    quota_cpu: str = "2"  # a preview namespace's ResourceQuota unless its .preview.yml says otherwise
    quota_memory: str = "2Gi"
    quota_pods: int = 10
    quota_max_cpu: str = "4"  # the most a .preview.yml may ask for
    quota_max_memory: str = "8Gi"
    quota_max_pods: int = 20
    ingress_namespace: str = "ingress-nginx"  # the only namespace (besides its own) that may reach a preview
    preview_egress: str = "open"  # open | internet (DNS and public addresses) | none (DNS and its own namespace)
    service_account: str = "previewbot/previewbot"
    preview_role: str = "previewbot-preview"
    secrets_namespace: str = ""  # where the operator keeps Secrets copied into previews; empty: no copies
    preview_secrets: tuple[str, ...] = ()  # Secrets (by name) copied into every preview
    image_pull_secrets: tuple[str, ...] = ()  # copied Secrets the preview's pods pull images with
    preview_tls_secret: str = ""  # a copied wildcard certificate Secret for the preview Ingress
    preview_cluster_issuer: str = ""  # cert-manager ClusterIssuer issuing a certificate per preview
    github_web_url: str = "https://github.com"
    github_oauth_client_id: str = ""
    github_oauth_client_secret: Secret | None = None
    dashboard_secret_key: Secret | None = None
    dashboard_user_header: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Settings(github_api_url={self.github_api_url!r}, redis_url=<set>, domain={self.preview_domain!r})"

    @property
    def task_hard_time_limit_seconds(self) -> int:
        """A task still running this long after its start is killed (the soft limit plus a margin)."""
        return self.task_time_limit_seconds + 30

    def preview_url(self, host: str) -> str:
        return f"{self.url_scheme}://{host}"

    def require_webhook(self) -> Settings:
        if not self.webhook_secrets:
            raise SettingsError("PREVIEWBOT_GITHUB_WEBHOOK_SECRET: required to verify webhooks")
        return self

    @property
    def dashboard_mode(self) -> str | None:
        """How dashboard users sign in: ``oauth`` (GitHub), ``proxy`` (a trusted header) or None (disabled)."""
        if self.github_oauth_client_id:
            return "oauth"
        return "proxy" if self.dashboard_user_header else None

    def require_github(self) -> Settings:
        if self.github_token is None and (self.github_app_id is None or self.github_private_key is None):
            raise SettingsError(
                "PREVIEWBOT_GITHUB_TOKEN: required (or PREVIEWBOT_GITHUB_APP_ID with "
                "PREVIEWBOT_GITHUB_PRIVATE_KEY or PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE)"
            )
        return self


def _int(name: str, raw: str, low: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected an integer, got {raw!r}") from None
    if value < low:
        raise SettingsError(f"{name}: must be at least {low}")
    return value


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise SettingsError(f"{name}: expected a {'/'.join(schemes)} URL")
    return raw.rstrip("/")


def _seconds(name: str, raw: str, low: float = 0.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected seconds, e.g. 1 or 0.5") from None
    if not low <= value < 1e9:  # also rejects nan and inf
        raise SettingsError(f"{name}: must be at least {low:g} seconds")
    return value


def _domain(name: str, raw: str) -> str:
    parts = raw.lower().strip(".").split(".")
    if not raw or any(not p or len(p) > 63 or not p.replace("-", "").isalnum() for p in parts):
        raise SettingsError(f"{name}: expected a DNS domain such as preview.example.com, got {raw!r}")
    return ".".join(parts)


def _image(name: str, raw: str) -> str:
    try:
        raw.format(owner="o", repo="r", sha="s", short_sha="s", number=1, branch="b")
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError(
            f"{name}: unknown placeholder {exc}; use {{owner}} {{repo}} {{sha}} {{short_sha}} {{number}} {{branch}}"
        ) from None
    return raw


def _web_url(api_url: str) -> str:
    """GitHub's web host for an API base: github.com for api.github.com, ``https://HOST`` for ``…/api/v3``."""
    if urlparse(api_url).netloc.lower() == "api.github.com":
        return "https://github.com"
    return api_url.removesuffix("/api/v3")


def _dashboard(get: Callable[[str], str]) -> dict[str, object]:
    """The dashboard's sign-in settings: GitHub OAuth or a trusted proxy's header, never both."""
    client_id, header = get("GITHUB_OAUTH_CLIENT_ID"), get("DASHBOARD_USER_HEADER")
    secret, key = get("GITHUB_OAUTH_CLIENT_SECRET"), get("DASHBOARD_SECRET_KEY")
    if client_id and header:
        raise SettingsError("PREVIEWBOT_DASHBOARD_USER_HEADER: set either it or PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID")
    if client_id and not secret:
        raise SettingsError("PREVIEWBOT_GITHUB_OAUTH_CLIENT_SECRET: required with PREVIEWBOT_GITHUB_OAUTH_CLIENT_ID")
    if header and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header):
        raise SettingsError("PREVIEWBOT_DASHBOARD_USER_HEADER: expected a header name such as X-Forwarded-User")
    if (client_id or header) and len(key) < 32:
        raise SettingsError("PREVIEWBOT_DASHBOARD_SECRET_KEY: required by the dashboard, at least 32 characters")
    out: dict[str, object] = {"github_oauth_client_id": client_id, "dashboard_user_header": header}
    if secret:
        out["github_oauth_client_secret"] = Secret(secret)
    if key:
        out["dashboard_secret_key"] = Secret(key)
    return out


def _bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _private_key(env: Mapping[str, str]) -> Secret | None:
    text = env.get("PREVIEWBOT_GITHUB_PRIVATE_KEY", "").strip()
    path = env.get("PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE", "").strip()
    if text and path:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE: set either it or PREVIEWBOT_GITHUB_PRIVATE_KEY")
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise SettingsError(f"PREVIEWBOT_GITHUB_PRIVATE_KEY_FILE: cannot read file ({exc.strerror})") from None
    if text and "PRIVATE KEY" not in text:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY: not a PEM private key")
    return Secret(text.replace("\\n", "\n")) if text else None


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    get: Callable[[str], str] = lambda key: env.get(f"PREVIEWBOT_{key}", "").strip()  # noqa: E731
    kwargs: dict[str, object] = {}
    if secrets := get("GITHUB_WEBHOOK_SECRET"):
        kwargs["webhook_secrets"] = tuple(Secret(s.strip()) for s in secrets.split(",") if s.strip())
    if token := get("GITHUB_TOKEN"):
        kwargs["github_token"] = Secret(token)
    if app_id := get("GITHUB_APP_ID"):
        kwargs["github_app_id"] = _int("PREVIEWBOT_GITHUB_APP_ID", app_id)
    key = _private_key(env)
    if key is not None:
        if "github_app_id" not in kwargs:
            raise SettingsError("PREVIEWBOT_GITHUB_APP_ID: required when a private key is set")
        kwargs["github_private_key"] = key
    elif "github_app_id" in kwargs:
        raise SettingsError("PREVIEWBOT_GITHUB_PRIVATE_KEY: required when PREVIEWBOT_GITHUB_APP_ID is set")
    if url := get("GITHUB_API_URL"):
        kwargs["github_api_url"] = _url("PREVIEWBOT_GITHUB_API_URL", url, ("http", "https"))
    if url := get("GITHUB_WEB_URL"):
        kwargs["github_web_url"] = _url("PREVIEWBOT_GITHUB_WEB_URL", url, ("http", "https"))
    elif "github_api_url" in kwargs:
        kwargs["github_web_url"] = _web_url(str(kwargs["github_api_url"]))
    kwargs.update(_dashboard(get))
    if url := get("REDIS_URL"):
        kwargs["redis_url"] = _url("PREVIEWBOT_REDIS_URL", url, ("redis", "rediss", "unix"))
    if path := get("KUBECONFIG"):
        if not Path(path).is_file():
            raise SettingsError("PREVIEWBOT_KUBECONFIG: no such file")
        kwargs["kubeconfig"] = path
    if domain := get("PREVIEW_DOMAIN"):
        kwargs["preview_domain"] = _domain("PREVIEWBOT_PREVIEW_DOMAIN", domain)
    if image := get("IMAGE_TEMPLATE"):
        kwargs["image_template"] = _image("PREVIEWBOT_IMAGE_TEMPLATE", image)
    if context := get("STATUS_CONTEXT"):
        kwargs["status_context"] = context
    if templates := get("TEMPLATES_DIR"):
        if not Path(templates).is_dir():
            raise SettingsError("PREVIEWBOT_TEMPLATES_DIR: no such directory")
        kwargs["templates_dir"] = Path(templates)
    for key_, attr, low in (
        ("CONTAINER_PORT", "container_port", 1),
        ("PROGRESS_DEADLINE_SECONDS", "progress_deadline_seconds", 1),
        ("DELIVERY_TTL_SECONDS", "delivery_ttl_seconds", 60),
        ("LOCK_TTL_SECONDS", "lock_ttl_seconds", 5),
        ("WATCH_RESYNC_SECONDS", "watch_resync_seconds", 1),
        ("VISIBILITY_TIMEOUT_SECONDS", "visibility_timeout_seconds", 1),
        ("MAX_RETRIES", "max_retries", 0),
        ("GITHUB_WRITES_PER_MINUTE", "github_writes_per_minute", 1),
        ("GITHUB_WRITE_BURST", "github_write_burst", 1),
        ("TASK_TIME_LIMIT_SECONDS", "task_time_limit_seconds", 5),
        ("STALE_PENDING_SECONDS", "stale_pending_seconds", 10),
        ("LEASE_DURATION_SECONDS", "lease_duration_seconds", 2),
        ("GC_INTERVAL_SECONDS", "gc_interval_seconds", 10),
        ("GC_TERMINATING_SECONDS", "gc_terminating_seconds", 1),
        ("MAX_PREVIEWS", "max_previews", 0),
        ("MAX_PREVIEWS_PER_REPO", "max_previews_per_repo", 0),
    ):
        if raw := get(key_):
            kwargs[attr] = _int(f"PREVIEWBOT_{key_}", raw, low)
    if ingress_class := get("INGRESS_CLASS"):
        kwargs["ingress_class"] = ingress_class
    if scheme := get("URL_SCHEME"):
        if scheme not in ("http", "https"):
            raise SettingsError("PREVIEWBOT_URL_SCHEME: expected http or https")
        kwargs["url_scheme"] = scheme
    if level := get("POD_SECURITY"):
        if level not in ("privileged", "baseline", "restricted"):
            raise SettingsError("PREVIEWBOT_POD_SECURITY: expected privileged, baseline or restricted")
        kwargs["pod_security"] = level
    if ingress_ns := get("INGRESS_NAMESPACE"):
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", ingress_ns):
            raise SettingsError("PREVIEWBOT_INGRESS_NAMESPACE: expected the name of a namespace, e.g. ingress-nginx")
        kwargs["ingress_namespace"] = ingress_ns
    if egress := get("PREVIEW_EGRESS"):
        if egress not in ("open", "internet", "none"):
            raise SettingsError("PREVIEWBOT_PREVIEW_EGRESS: expected open, internet or none")
        kwargs["preview_egress"] = egress
    if (account := env.get("PREVIEWBOT_SERVICE_ACCOUNT")) is not None:
        account = account.strip()
        if account and not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?", account):
            raise SettingsError("PREVIEWBOT_SERVICE_ACCOUNT: expected namespace/name of a ServiceAccount, or empty")
        kwargs["service_account"] = account
    if election := get("LEADER_ELECTION"):
        kwargs["leader_election"] = _bool("PREVIEWBOT_LEADER_ELECTION", election)
    if lease_namespace := get("LEASE_NAMESPACE"):
        if len(lease_namespace) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", lease_namespace):
            raise SettingsError("PREVIEWBOT_LEASE_NAMESPACE: expected the name of a namespace")
        kwargs["lease_namespace"] = lease_namespace
    elif account := str(kwargs.get("service_account", Settings.service_account)):
        kwargs["lease_namespace"] = account.partition("/")[0]  # where previewbot's own ServiceAccount lives
    if lease_name := get("LEASE_NAME"):
        if len(lease_name) > 253 or not re.fullmatch(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?", lease_name):
            raise SettingsError("PREVIEWBOT_LEASE_NAME: expected the name of a Lease (lower case, digits, - and .)")
        kwargs["lease_name"] = lease_name
    if role := get("PREVIEW_ROLE"):
        if not re.fullmatch(r"[a-z0-9]([-.:a-z0-9]*[a-z0-9])?", role):
            raise SettingsError("PREVIEWBOT_PREVIEW_ROLE: expected the name of a ClusterRole")
        kwargs["preview_role"] = role
    if label := get("PREVIEW_LABEL"):
        kwargs["preview_label"] = label
    if keep := get("KEEP_LABEL"):
        kwargs["keep_label"] = keep
    if drafts := get("DEPLOY_DRAFTS"):
        kwargs["deploy_drafts"] = _bool("PREVIEWBOT_DEPLOY_DRAFTS", drafts)
    if dry_run := get("GC_DRY_RUN"):
        kwargs["gc_dry_run"] = _bool("PREVIEWBOT_GC_DRY_RUN", dry_run)
    for key_, attr, low in (
        ("FAILURE_GRACE_SECONDS", "failure_grace_seconds", 0.0),
        ("RETRY_BACKOFF_SECONDS", "retry_backoff_seconds", 0.01),
        ("RETRY_BACKOFF_MAX_SECONDS", "retry_backoff_max_seconds", 0.01),
    ):
        if raw := get(key_):
            kwargs[attr] = _seconds(f"PREVIEWBOT_{key_}", raw, low)
    if get("GITHUB_WRITE_INTERVAL"):
        raise SettingsError(
            "PREVIEWBOT_GITHUB_WRITE_INTERVAL was removed: GitHub writes are paced per installation by "
            "PREVIEWBOT_GITHUB_WRITES_PER_MINUTE and PREVIEWBOT_GITHUB_WRITE_BURST; unset it"
        )
    if level := get("LOG_LEVEL"):
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError("PREVIEWBOT_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
        kwargs["log_level"] = level.upper()
    if port := get("METRICS_PORT"):
        kwargs["metrics_port"] = _int("PREVIEWBOT_METRICS_PORT", port, 0)
        if kwargs["metrics_port"] > 65535:  # type: ignore[operator]
            raise SettingsError("PREVIEWBOT_METRICS_PORT: expected a port from 0 (none) to 65535")
    if host := get("METRICS_HOST"):
        if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", host):
            raise SettingsError("PREVIEWBOT_METRICS_HOST: expected an address to listen on, e.g. 0.0.0.0")
        kwargs["metrics_host"] = host
    kwargs.update(_preview_secrets(get))
    from preview import policy_settings  # run_as_root and ResourceQuota bounds

    try:
        kwargs.update(policy_settings.load(get, str(kwargs.get("pod_security", Settings.pod_security)), Settings()))
    except policy_settings.PolicyError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(**kwargs)  # type: ignore[arg-type]


_OBJECT_NAME = re.compile(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?")


def _names(name: str, raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    for item in names:
        if len(item) > 253 or not _OBJECT_NAME.fullmatch(item):
            raise SettingsError(f"{name}: expected comma-separated Secret names, got {item!r}")
    return names


def _preview_secrets(get: Callable[[str], str]) -> dict[str, object]:
    """Secrets copied into previews (see "Secrets and private registries" in the README)."""
    out: dict[str, object] = {}
    if namespace := get("SECRETS_NAMESPACE"):
        if len(namespace) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace):
            raise SettingsError("PREVIEWBOT_SECRETS_NAMESPACE: expected the name of a namespace")
        out["secrets_namespace"] = namespace
    for key, attr in (
        ("PREVIEW_SECRETS", "preview_secrets"),
        ("IMAGE_PULL_SECRETS", "image_pull_secrets"),
        ("PREVIEW_TLS_SECRET", "preview_tls_secret"),
    ):
        if raw := get(key):
            names = _names(f"PREVIEWBOT_{key}", raw)
            if attr == "preview_tls_secret" and len(names) != 1:
                raise SettingsError(f"PREVIEWBOT_{key}: expected one Secret name")
            out[attr] = names[0] if attr == "preview_tls_secret" else names
    for key in ("PREVIEW_SECRETS", "IMAGE_PULL_SECRETS", "PREVIEW_TLS_SECRET"):
        if get(key) and "secrets_namespace" not in out:
            raise SettingsError(f"PREVIEWBOT_{key}: requires PREVIEWBOT_SECRETS_NAMESPACE (the source of copies)")
    if issuer := get("PREVIEW_CLUSTER_ISSUER"):
        if "preview_tls_secret" in out:
            raise SettingsError("PREVIEWBOT_PREVIEW_CLUSTER_ISSUER: set either it or PREVIEWBOT_PREVIEW_TLS_SECRET")
        if len(issuer) > 253 or not _OBJECT_NAME.fullmatch(issuer):
            raise SettingsError("PREVIEWBOT_PREVIEW_CLUSTER_ISSUER: expected the name of a ClusterIssuer")
        out["preview_cluster_issuer"] = issuer
    return out
