"""Settings for running previewbot: Redis, timings and limits, leader election, garbage collection,
logging and metrics."""

from __future__ import annotations

import re
from collections.abc import Callable

from preview.settings_values import SettingsError, parse_bool, parse_int, parse_seconds, parse_url

#: whole-number settings: (variable without ``PREVIEWBOT_``, Settings attribute, lowest value)
WHOLE_NUMBERS = (
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
)
#: settings in seconds that may have a fraction: (variable without ``PREVIEWBOT_``, Settings attribute, lowest)
FRACTIONAL_SECONDS = (
    ("FAILURE_GRACE_SECONDS", "failure_grace_seconds", 0.0),
    ("RETRY_BACKOFF_SECONDS", "retry_backoff_seconds", 0.01),
    ("RETRY_BACKOFF_MAX_SECONDS", "retry_backoff_max_seconds", 0.01),
)


def redis(get: Callable[[str], str]) -> dict[str, object]:
    out: dict[str, object] = {}
    if url := get("REDIS_URL"):
        out["redis_url"] = parse_url("PREVIEWBOT_REDIS_URL", url, ("redis", "rediss", "unix"))
    return out


def whole_numbers(get: Callable[[str], str]) -> dict[str, object]:
    """Ports, timeouts, retries, GitHub write pacing, GC intervals and limits on live previews."""
    out: dict[str, object] = {}
    for key, attr, low in WHOLE_NUMBERS:
        if raw := get(key):
            out[attr] = parse_int(f"PREVIEWBOT_{key}", raw, low)
    return out


def leader_election(get: Callable[[str], str], service_account: str) -> dict[str, object]:
    """Whether watchers elect a leader, and their Lease (by default in previewbot's own namespace)."""
    out: dict[str, object] = {}
    if election := get("LEADER_ELECTION"):
        out["leader_election"] = parse_bool("PREVIEWBOT_LEADER_ELECTION", election)
    if lease_namespace := get("LEASE_NAMESPACE"):
        if len(lease_namespace) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", lease_namespace):
            raise SettingsError("PREVIEWBOT_LEASE_NAMESPACE: expected the name of a namespace")
        out["lease_namespace"] = lease_namespace
    elif service_account:
        out["lease_namespace"] = service_account.partition("/")[0]  # where previewbot's own ServiceAccount lives
    if lease_name := get("LEASE_NAME"):
        if len(lease_name) > 253 or not re.fullmatch(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?", lease_name):
            raise SettingsError("PREVIEWBOT_LEASE_NAME: expected the name of a Lease (lower case, digits, - and .)")
        out["lease_name"] = lease_name
    return out


def operations(get: Callable[[str], str]) -> dict[str, object]:
    """The garbage collector's dry run, retry timings, the log level and the metrics listener."""
    out: dict[str, object] = {}
    if dry_run := get("GC_DRY_RUN"):
        out["gc_dry_run"] = parse_bool("PREVIEWBOT_GC_DRY_RUN", dry_run)
    for key, attr, low in FRACTIONAL_SECONDS:
        if raw := get(key):
            out[attr] = parse_seconds(f"PREVIEWBOT_{key}", raw, low)
    if get("GITHUB_WRITE_INTERVAL"):
        raise SettingsError(
            "PREVIEWBOT_GITHUB_WRITE_INTERVAL was removed: GitHub writes are paced per installation by "
            "PREVIEWBOT_GITHUB_WRITES_PER_MINUTE and PREVIEWBOT_GITHUB_WRITE_BURST; unset it"
        )
    if level := get("LOG_LEVEL"):
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError("PREVIEWBOT_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")
        out["log_level"] = level.upper()
    if port := get("METRICS_PORT"):
        out["metrics_port"] = parse_int("PREVIEWBOT_METRICS_PORT", port, 0)
        if out["metrics_port"] > 65535:  # type: ignore[operator]
            raise SettingsError("PREVIEWBOT_METRICS_PORT: expected a port from 0 (none) to 65535")
    if host := get("METRICS_HOST"):
        if not re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", host):
            raise SettingsError("PREVIEWBOT_METRICS_HOST: expected an address to listen on, e.g. 0.0.0.0")
        out["metrics_host"] = host
    return out
