"""Names and label values that Kubernetes accepts (DNS-1123), stable per repository and PR."""

from __future__ import annotations

import hashlib
import re

MAX_LABEL = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9._-]+")

#: GitHub's syntax for a repository's owner and name, and a full commit SHA.
REPO_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
FULL_SHA = re.compile(r"[0-9a-f]{40}")

PREFIX = "previewbot.io"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "previewbot"
FIELD_MANAGER = "previewbot"


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def dns_label(text: str, *, limit: int = MAX_LABEL) -> str:
    """Lower-case ``text`` into a DNS-1123 label of at most ``limit`` characters (may be empty)."""
    cleaned = _INVALID.sub("-", text.lower()).strip("-")
    return cleaned[:limit].rstrip("-")


def is_repo(text: str) -> bool:
    """Whether ``text`` is ``owner/name`` as GitHub allows it."""
    owner, slash, name = text.partition("/")
    return bool(slash and REPO_OWNER.fullmatch(owner) and REPO_NAME.fullmatch(name) and name not in {".", ".."})


def namespace_name(repo: str, number: int) -> str:
    """``pr-<n>-<repo>``, unique per repository and PR even when the repo name is cut.

    A short hash of the full ``owner/name`` is always appended, so two owners with the
    same repository name never share a namespace.
    """
    suffix = _short_hash(f"{repo.lower()}#{number}")
    head = f"pr-{number}-"
    room = MAX_LABEL - len(head) - len(suffix) - 1
    repo_part = dns_label(repo.split("/", 1)[-1], limit=room)
    middle = f"{repo_part}-" if repo_part else ""
    return f"{head}{middle}{suffix}"


def host_label(repo: str, number: int) -> str:
    """The first DNS label of a preview's host: ``pr-<n>-<repo>``, cut to 63 characters."""
    head = f"pr-{number}-"
    repo_part = dns_label(repo.split("/", 1)[-1], limit=MAX_LABEL - len(head))
    return f"{head}{repo_part}".rstrip("-")


def preview_host(repo: str, number: int, domain: str) -> str:
    return f"{host_label(repo, number)}.{domain}"


def label_value(text: str) -> str:
    """A valid label value (``[A-Za-z0-9._-]``, ≤63, alphanumeric at both ends) or ``""``."""
    cleaned = _LABEL_INVALID.sub("-", text)
    if len(cleaned) > MAX_LABEL:
        cleaned = cleaned[: MAX_LABEL - 7] + "-" + _short_hash(text)
    return cleaned.strip("-._")


def short_sha(sha: str) -> str:
    return sha[:7]


def labels(repo: str, number: int, sha: str | None = None) -> dict[str, str]:
    """The labels carried by every object of a preview."""
    out = {
        MANAGED_BY: MANAGER,
        "app.kubernetes.io/name": label_value(repo.split("/", 1)[-1]) or "preview",
        "app.kubernetes.io/instance": namespace_name(repo, number),
        f"{PREFIX}/repo": label_value(repo.replace("/", ".")),
        f"{PREFIX}/pr": str(number),
    }
    if sha:
        out[f"{PREFIX}/sha"] = label_value(sha)
    return out


def selector(labels_: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels_.items()))


class Annotations:
    """Annotation keys previewbot writes (full values live here, not in labels)."""

    REPO = f"{PREFIX}/repo"
    PR = f"{PREFIX}/pr"
    INSTALLATION = f"{PREFIX}/installation"
    HEAD_SHA = f"{PREFIX}/head-sha"
    APPLIED_SHA = f"{PREFIX}/applied-sha"
    APPLIED_AT = f"{PREFIX}/applied-at"
    CREATED_AT = f"{PREFIX}/created-at"
    EXPIRES_AT = f"{PREFIX}/expires-at"
    TTL = f"{PREFIX}/ttl"
    INVENTORY = f"{PREFIX}/inventory"
    URL = f"{PREFIX}/url"
    SHA = f"{PREFIX}/sha"
    CONTEXT = f"{PREFIX}/status-context"
    ACCESS = f"{PREFIX}/access-role"
    STRATEGY = f"{PREFIX}/strategy"  # rolling or blue-green, as last deployed
    SERVING_SHA = f"{PREFIX}/serving-sha"  # blue-green: the commit the Services select
    LAYOUT = f"{PREFIX}/layout"  # blue-green: the Deployments and Services that switch (preview/blue_green.py)
    SLEEPING_SINCE = f"{PREFIX}/sleeping-since"  # scaled to zero for idleness at this time (preview/sleep.py)
    SLEEP_REPLICAS = f"{PREFIX}/sleep-replicas"  # JSON {Deployment name: replicas} to restore on wake
