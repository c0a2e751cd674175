"""Settings for the previews in Kubernetes: where they come from, how they are reached and confined,
which pull requests get one, and the operator's Secrets copied into them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from preview.settings_values import (
    OBJECT_NAME,
    Secret,
    SettingsError,
    parse_bool,
    parse_domain,
    parse_image,
    parse_names,
    parse_url,
)


def sources(get: Callable[[str], str]) -> dict[str, object]:
    """The kubeconfig, the preview domain, the image template, the status context and the templates."""
    out: dict[str, object] = {}
    if path := get("KUBECONFIG"):
        if not Path(path).is_file():
            raise SettingsError("PREVIEWBOT_KUBECONFIG: no such file")
        out["kubeconfig"] = path
    if domain := get("PREVIEW_DOMAIN"):
        out["preview_domain"] = parse_domain("PREVIEWBOT_PREVIEW_DOMAIN", domain)
    if image := get("IMAGE_TEMPLATE"):
        out["image_template"] = parse_image("PREVIEWBOT_IMAGE_TEMPLATE", image)
    if context := get("STATUS_CONTEXT"):
        out["status_context"] = context
    if templates := get("TEMPLATES_DIR"):
        if not Path(templates).is_dir():
            raise SettingsError("PREVIEWBOT_TEMPLATES_DIR: no such directory")
        out["templates_dir"] = Path(templates)
    return out


def access(env: Mapping[str, str], get: Callable[[str], str]) -> dict[str, object]:
    """Ingress class, URL scheme, pod security, who may reach a preview, its egress, previewbot's ServiceAccount."""
    out: dict[str, object] = {}
    if ingress_class := get("INGRESS_CLASS"):
        out["ingress_class"] = ingress_class
    if scheme := get("URL_SCHEME"):
        if scheme not in ("http", "https"):
            raise SettingsError("PREVIEWBOT_URL_SCHEME: expected http or https")
        out["url_scheme"] = scheme
    if level := get("POD_SECURITY"):
        if level not in ("privileged", "baseline", "restricted"):
            raise SettingsError("PREVIEWBOT_POD_SECURITY: expected privileged, baseline or restricted")
        out["pod_security"] = level
    if ingress_ns := get("INGRESS_NAMESPACE"):
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", ingress_ns):
            raise SettingsError("PREVIEWBOT_INGRESS_NAMESPACE: expected the name of a namespace, e.g. ingress-nginx")
        out["ingress_namespace"] = ingress_ns
    if egress := get("PREVIEW_EGRESS"):
        if egress not in ("open", "internet", "none"):
            raise SettingsError("PREVIEWBOT_PREVIEW_EGRESS: expected open, internet or none")
        out["preview_egress"] = egress
    if strategy := get("DEFAULT_STRATEGY"):
        if strategy not in ("rolling", "blue-green"):
            raise SettingsError("PREVIEWBOT_DEFAULT_STRATEGY: expected rolling or blue-green")
        out["default_strategy"] = strategy
    if (account := env.get("PREVIEWBOT_SERVICE_ACCOUNT")) is not None:
        account = account.strip()
        if account and not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?", account):
            raise SettingsError("PREVIEWBOT_SERVICE_ACCOUNT: expected namespace/name of a ServiceAccount, or empty")
        out["service_account"] = account
    return out


def role_and_labels(get: Callable[[str], str]) -> dict[str, object]:
    """previewbot's ClusterRole in previews, the labels that ask for or keep one, and drafts."""
    out: dict[str, object] = {}
    if role := get("PREVIEW_ROLE"):
        if not re.fullmatch(r"[a-z0-9]([-.:a-z0-9]*[a-z0-9])?", role):
            raise SettingsError("PREVIEWBOT_PREVIEW_ROLE: expected the name of a ClusterRole")
        out["preview_role"] = role
    if label := get("PREVIEW_LABEL"):
        out["preview_label"] = label
    if keep := get("KEEP_LABEL"):
        out["keep_label"] = keep
    if drafts := get("DEPLOY_DRAFTS"):
        out["deploy_drafts"] = parse_bool("PREVIEWBOT_DEPLOY_DRAFTS", drafts)
    return out


def copied_secrets(get: Callable[[str], str]) -> dict[str, object]:
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
            names = parse_names(f"PREVIEWBOT_{key}", raw)
            if attr == "preview_tls_secret" and len(names) != 1:
                raise SettingsError(f"PREVIEWBOT_{key}: expected one Secret name")
            out[attr] = names[0] if attr == "preview_tls_secret" else names
    for key in ("PREVIEW_SECRETS", "IMAGE_PULL_SECRETS", "PREVIEW_TLS_SECRET"):
        if get(key) and "secrets_namespace" not in out:
            raise SettingsError(f"PREVIEWBOT_{key}: requires PREVIEWBOT_SECRETS_NAMESPACE (the source of copies)")
    if issuer := get("PREVIEW_CLUSTER_ISSUER"):
        if "preview_tls_secret" in out:
            raise SettingsError("PREVIEWBOT_PREVIEW_CLUSTER_ISSUER: set either it or PREVIEWBOT_PREVIEW_TLS_SECRET")
        if len(issuer) > 253 or not OBJECT_NAME.fullmatch(issuer):
            raise SettingsError("PREVIEWBOT_PREVIEW_CLUSTER_ISSUER: expected the name of a ClusterIssuer")
        out["preview_cluster_issuer"] = issuer
    return out


def sleep_and_wake(get: Callable[[str], str]) -> dict[str, object]:
    """Idle previews scaled to zero, whether a sleeping one keeps its slot, and the base of wake links."""
    out: dict[str, object] = {}
    if (raw := get("IDLE_SLEEP_SECONDS")) != "":
        if not raw.isdigit():
            raise SettingsError(
                "PREVIEWBOT_IDLE_SLEEP_SECONDS: expected a whole number of seconds (0: never sleep), e.g. 86400"
            )
        out["idle_sleep_seconds"] = int(raw)
    if frees := get("SLEEP_FREES_SLOT"):
        out["sleep_frees_slot"] = parse_bool("PREVIEWBOT_SLEEP_FREES_SLOT", frees)
    if secrets := get("WAKE_LINK_SECRET"):
        out["wake_link_secrets"] = tuple(Secret(s.strip()) for s in secrets.split(",") if s.strip())
    if url := get("PUBLIC_URL"):
        url = parse_url("PREVIEWBOT_PUBLIC_URL", url, ("http", "https"))
        if "?" in url or "#" in url:
            raise SettingsError("PREVIEWBOT_PUBLIC_URL: expected a base URL without query or fragment")
        out["public_url"] = url.rstrip("/")
    return out
