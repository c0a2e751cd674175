"""The values a preview's templates are rendered with: everything previewbot knows about one PR head."""

from __future__ import annotations

from preview import naming, pod_policy
from preview.models import PullRequest
from preview.naming import Annotations
from preview.repo_config import DEFAULT, ROOT_CAPABILITIES, RepoConfig
from preview.settings import Settings


def template_values(pr: PullRequest, ns_name: str, settings: Settings, config: RepoConfig = DEFAULT) -> dict:
    """Template values for ``pr``'s head in namespace ``ns_name``."""
    ref, s = pr.ref, settings
    host = naming.preview_host(ref.repo, ref.number, s.preview_domain)
    url = s.preview_url(host)
    image = config.image_template(s.image_template).format(
        owner=ref.owner,
        repo=ref.name,
        sha=pr.head_sha,
        short_sha=naming.short_sha(pr.head_sha),
        number=ref.number,
        branch=pr.head_ref,
    )
    annotations = {
        Annotations.REPO: ref.repo,
        Annotations.PR: str(ref.number),
        Annotations.URL: url,
        Annotations.SHA: pr.head_sha,
        Annotations.CONTEXT: s.status_context,
    }
    if ref.installation_id is not None:
        annotations[Annotations.INSTALLATION] = str(ref.installation_id)
    return {
        "namespace": ns_name,
        "repo": ref.repo,
        "owner": ref.owner,
        "repo_name": ref.name,
        "number": ref.number,
        "sha": pr.head_sha,
        "short_sha": naming.short_sha(pr.head_sha),
        "branch": pr.head_ref,
        "base": pr.base_ref,
        "title": pr.title,
        "author": pr.author,
        "image": image,
        "host": host,
        "url": url,
        "port": config.container_port(s.container_port),
        "health_path": config.health_path,
        "replicas": config.replicas,
        "progress_deadline_seconds": s.progress_deadline_seconds,
        "resources": pod_policy.resources(config, s),
        "resources_max": pod_policy.resources_max(s),
        "env": dict(config.plain_env),
        "secret_env": [
            {"name": name, "secret": ref_.secret, "key": ref_.key} for name, ref_ in sorted(config.secret_env.items())
        ],
        "labels": naming.labels(ref.repo, ref.number),
        "annotations": annotations,
        "ingress_class": s.ingress_class,
        "ingress_namespace": s.ingress_namespace,
        "egress": s.preview_egress,
        "quota": pod_policy.quota(config, s),
        "run_as_root": pod_policy.run_as_root(config, s),
        "root_capabilities": list(ROOT_CAPABILITIES),
        "pod_security": s.pod_security,
        "image_pull_secrets": list(s.image_pull_secrets),
        "tls": _tls(s),
    }


def _tls(s: Settings) -> dict | None:
    """The preview Ingress's TLS: the copied wildcard certificate, or one cert-manager issues per preview."""
    if s.preview_tls_secret:
        return {"secret": s.preview_tls_secret, "cluster_issuer": ""}
    if s.preview_cluster_issuer:
        return {"secret": "preview-tls", "cluster_issuer": s.preview_cluster_issuer}  # one per preview namespace
    return None


def access_binding(ns_name: str, settings: Settings) -> dict | None:
    """The RoleBinding that gives previewbot's ServiceAccount its rights inside one preview namespace."""
    if not settings.service_account:
        return None
    sa_namespace, _, sa_name = settings.service_account.partition("/")
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": "previewbot",
            "namespace": ns_name,
            "labels": {naming.MANAGED_BY: naming.MANAGER},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": settings.preview_role},
        "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}],
    }
