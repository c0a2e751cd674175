"""One validated settings object, built once from ``PREVIEWBOT_*`` environment variables.

:func:`load` reads the variables group by group (:mod:`preview.settings_github`, :mod:`preview.settings_previews`,
:mod:`preview.settings_runtime`) in a fixed order, so the first invalid variable is the one reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from preview import settings_github, settings_previews, settings_runtime
from preview.settings_values import Secret, SettingsError

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "k8s" / "preview"


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
    idle_sleep_seconds: int = 86400  # a preview idle this long is scaled to zero (preview/sleep.py); 0: never
    sleep_frees_slot: bool = False  # a sleeping preview does not count against the limits above
    wake_link_secrets: tuple[Secret, ...] = ()  # sign wake links (the first) and accept them (any)
    public_url: str = ""  # the web process's public base URL (wake links); empty: no wake link
    pod_security: str = "baseline"
    allow_run_as_root: bool = False  # may a .preview.yml ask for run_as_root (not with pod_security restricted)
    quota_cpu: str = "2"  # a preview namespace's ResourceQuota unless its .preview.yml says otherwise
    quota_memory: str = "2Gi"
    quota_pods: int = 10
    quota_max_cpu: str = "4"  # the most a .preview.yml may ask for
    quota_max_memory: str = "8Gi"
    quota_max_pods: int = 20
    container_cpu_request: str = "50m"  # a container's requests and limits unless set (LimitRange defaults)
    container_memory_request: str = "64Mi"
    container_cpu_limit: str = "500m"
    container_memory_limit: str = "256Mi"
    container_max_cpu: str = "2"  # the largest limit any container may have (LimitRange max)
    container_max_memory: str = "2Gi"
    ingress_namespace: str = "ingress-nginx"  # the only namespace (besides its own) that may reach a preview
    default_strategy: str = "rolling"  # rolling | blue-green, unless a .preview.yml says otherwise
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


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    get: Callable[[str], str] = lambda key: env.get(f"PREVIEWBOT_{key}", "").strip()  # noqa: E731
    kwargs: dict[str, object] = {}
    kwargs.update(settings_github.credentials(env, get))
    kwargs.update(settings_github.dashboard(get))
    kwargs.update(settings_runtime.redis(get))
    kwargs.update(settings_previews.sources(get))
    kwargs.update(settings_runtime.whole_numbers(get))
    kwargs.update(settings_previews.access(env, get))
    kwargs.update(settings_runtime.leader_election(get, str(kwargs.get("service_account", Settings.service_account))))
    kwargs.update(settings_previews.role_and_labels(get))
    kwargs.update(settings_runtime.operations(get))
    kwargs.update(settings_previews.copied_secrets(get))
    kwargs.update(settings_previews.sleep_and_wake(get))
    from preview import policy_settings  # run_as_root, ResourceQuota and container resources with bounds

    try:
        kwargs.update(policy_settings.load(get, str(kwargs.get("pod_security", Settings.pod_security)), Settings()))
    except policy_settings.PolicyError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(**kwargs)  # type: ignore[arg-type]
