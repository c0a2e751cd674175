"""Secrets copied into previews from the operator's source namespace, and the check of ``env`` references.

The operator keeps Secrets in ``PREVIEWBOT_SECRETS_NAMESPACE``. A Secret is copied into a preview when it is
named in ``PREVIEWBOT_PREVIEW_SECRETS`` (or ``PREVIEWBOT_IMAGE_PULL_SECRETS``, ``PREVIEWBOT_PREVIEW_TLS_SECRET``),
or when its label ``previewbot.io/repository`` is the preview's repository as ``owner.name`` (the form of
:func:`repository_label`). Nothing here ever puts a Secret's values into a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from preview import naming
from preview.repo_config import RepoConfig
from preview.settings import Settings

#: the label that selects a source Secret for one repository's previews
REPOSITORY_LABEL = f"{naming.PREFIX}/repository"


def repository_label(repo: str) -> str:
    """The value of :data:`REPOSITORY_LABEL` selecting ``owner/name``: ``owner.name`` (shortened past 63 characters)."""
    return naming.label_value(repo.replace("/", "."))


def wanted_names(settings: Settings) -> set[str]:
    """Source Secrets every preview gets by name."""
    names = set(settings.preview_secrets) | set(settings.image_pull_secrets)
    if settings.preview_tls_secret:
        names.add(settings.preview_tls_secret)
    return names


def select(sources: Iterable[dict], repo: str, settings: Settings) -> list[dict]:
    """The source Secrets a preview of ``repo`` gets, sorted by name."""
    names, label = wanted_names(settings), repository_label(repo)
    chosen = {}
    for secret in sources:
        meta = secret.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            continue
        if name in names or (meta.get("labels") or {}).get(REPOSITORY_LABEL) == label:
            chosen[name] = secret
    return [chosen[name] for name in sorted(chosen)]


def missing_named(selected: Sequence[dict], settings: Settings) -> list[str]:
    """Names the operator asked for that the source namespace lacks."""
    present = {(s.get("metadata") or {}).get("name") for s in selected}
    return sorted(wanted_names(settings) - present)


def copy_manifest(source: dict, namespace: str, labels: dict[str, str]) -> dict:
    """The Secret to apply in ``namespace``: the source's data and type, previewbot's labels, no server metadata."""
    meta = source.get("metadata") or {}
    manifest: dict = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": meta["name"], "namespace": namespace, "labels": dict(labels)},
        "type": source.get("type") or "Opaque",
    }
    if source.get("data"):
        manifest["data"] = dict(source["data"])
    if source.get("immutable") is not None:
        manifest["immutable"] = source["immutable"]
    return manifest


def secret_keys(manifests: Iterable[dict]) -> dict[str, set[str]]:
    """Secret name → its keys, for the Secrets among ``manifests`` (``data`` and ``stringData``)."""
    found: dict[str, set[str]] = {}
    for m in manifests:
        if m.get("kind") != "Secret" or m.get("apiVersion") != "v1":
            continue
        name = (m.get("metadata") or {}).get("name")
        if isinstance(name, str):
            keys = found.setdefault(name, set())
            for field in ("data", "stringData"):
                if isinstance(m.get(field), dict):
                    keys.update(str(k) for k in m[field])
    return found


def missing_references(config: RepoConfig, available: dict[str, set[str]]) -> list[str]:
    """``env`` references to Secrets (or keys) that will not exist in the preview, as messages."""
    problems = []
    for env_name, ref in sorted(config.secret_env.items()):
        if ref.secret not in available:
            problems.append(f"Missing secret {ref.secret} (key {ref.key}) referenced by env {env_name}")
        elif ref.key not in available[ref.secret]:
            problems.append(f"Missing key {ref.key} in secret {ref.secret} referenced by env {env_name}")
    return problems
