"""What the dashboard shows, read from the cluster (namespaces and their annotations) and Redis (the ledger).

A preview's identity comes only from the annotations previewbot wrote on its namespace, as for the
watcher. Its state is the newest status the Reporter wrote (the ledger), for the commit the PR's
comment follows; no GitHub call is made for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis

from app.dashboard.backend import Backend, Cluster
from preview import naming
from preview.models import NamespaceInfo, ObjectRef
from preview.naming import Annotations

#: where :class:`workers.ledger.RedisLedger` keeps the Reporter's keys (``status:<context>:<repo>:<sha>``, …)
LEDGER_PREFIX = "previewbot:ledger"
MANAGED = f"{naming.MANAGED_BY}={naming.MANAGER}"
MAX_EVENTS = 20
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")

#: commit status state → what the dashboard calls it
STATE_LABELS = {"pending": "deploying", "success": "ready", "failure": "failed", "error": "stopped"}


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.strptime(raw[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Preview:
    """One preview namespace, from its annotations."""

    namespace: str
    repo: str
    number: int
    installation_id: int | None
    sha: str
    url: str | None
    created_at: datetime | None
    expires_at: datetime | None
    terminating: bool = False
    inventory: tuple[tuple[str, str], ...] = ()


def parse(info: NamespaceInfo) -> Preview | None:
    """The preview a namespace holds, or None when it is foreign or malformed (its name must match)."""
    notes = info.annotations
    repo, number = notes.get(Annotations.REPO, ""), notes.get(Annotations.PR, "")
    if not naming.is_repo(repo) or not _NUMBER.fullmatch(number):
        return None
    if info.name != naming.namespace_name(repo, int(number)):
        return None
    sha = notes.get(Annotations.APPLIED_SHA) or notes.get(Annotations.HEAD_SHA) or ""
    if not naming.FULL_SHA.fullmatch(sha):
        return None
    installation = notes.get(Annotations.INSTALLATION, "")
    url = notes.get(Annotations.URL)
    return Preview(
        namespace=info.name,
        repo=repo,
        number=int(number),
        installation_id=int(installation) if _NUMBER.fullmatch(installation) else None,
        sha=sha,
        url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
        created_at=_time(notes.get(Annotations.CREATED_AT)),
        expires_at=_time(notes.get(Annotations.EXPIRES_AT)),
        terminating=info.terminating,
        inventory=_inventory(notes.get(Annotations.INVENTORY, "[]")),
    )


def _inventory(raw: str) -> tuple[tuple[str, str], ...]:
    """(kind, name) of each object previewbot applied in the namespace."""
    try:
        keys = json.loads(raw)
    except ValueError:
        return ()
    found = []
    for key in keys if isinstance(keys, list) else ():
        if isinstance(key, str) and key.count("/") >= 3:
            ref = ObjectRef.parse(key)
            found.append((ref.kind, ref.name))
    return tuple(sorted(found))


@dataclass(frozen=True)
class Status:
    """The newest status written for a preview: for which commit, and what it said."""

    sha: str
    state: str
    description: str
    url: str | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def statuses(redis: Redis, context: str, previews: Iterable[Preview]) -> dict[str, Status]:
    """Per namespace, the ledger's status of the commit the PR comment follows (else the deployed one).

    Two Redis round trips for the whole page.
    """
    previews = list(previews)
    if not previews:
        return {}
    current_keys = [f"{LEDGER_PREFIX}:current:{context}:{p.repo}:{p.number}" for p in previews]
    shas = []
    for preview, raw in zip(previews, redis.mget(current_keys), strict=True):
        current = raw.decode().split("@", 1)[0] if raw else ""
        shas.append(current if naming.FULL_SHA.fullmatch(current) else preview.sha)
    status_keys = [f"{LEDGER_PREFIX}:status:{context}:{p.repo}:{sha}" for p, sha in zip(previews, shas, strict=True)]
    found = {}
    for preview, sha, raw in zip(previews, shas, redis.mget(status_keys), strict=True):
        if raw:
            state, _, rest = raw.decode().partition("\x1f")
            description, _, url = rest.partition("\x1f")
            found[preview.namespace] = Status(sha, state, description, url or None)
    return found


def sleeping(cluster: Cluster, namespace: str | None = None) -> set[str]:
    """Namespaces (of all previews, or only ``namespace``) whose every Deployment is scaled to zero; one LIST."""
    selector = f"{MANAGED},app.kubernetes.io/instance={namespace}" if namespace else MANAGED
    replicas: dict[str, list[int]] = {}
    for deployment in cluster.list_objects("deployments", selector)[0]:
        namespace = (deployment.get("metadata") or {}).get("namespace") or ""
        wanted = (deployment.get("spec") or {}).get("replicas", 1)
        replicas.setdefault(namespace, []).append(wanted if isinstance(wanted, int) else 1)
    return {ns for ns, counts in replicas.items() if counts and not any(counts)}


@dataclass(frozen=True)
class Row:
    """One line of the list: the preview and what is known about it."""

    preview: Preview
    title: str = ""
    author: str = ""
    status: Status | None = None
    sleeping: bool = False


@dataclass(frozen=True)
class StuckRow:
    """A preview namespace terminating for longer than the garbage collector's bound, and what holds it."""

    preview: Preview
    since: datetime | None
    blockers: tuple[str, ...]


def rows(
    backend: Backend, readable: Callable[[Preview], bool], repo: str | None
) -> tuple[list[Row], list[str], list[StuckRow]]:
    """Live previews the user may read (and of ``repo`` when given), every repository they may read, and the
    readable namespaces stuck in Terminating longer than ``PREVIEWBOT_GC_TERMINATING_SECONDS``."""
    infos = [(info, p) for info in backend.cluster.list_namespaces(MANAGED) if (p := parse(info))]
    previews = [p for _, p in infos if not p.terminating]
    bound = datetime.now(UTC).timestamp() - backend.settings.gc_terminating_seconds
    stuck = [
        StuckRow(p, since, info.blockers)
        for info, p in infos
        if (since := _time(info.deleting_since)) is not None and since.timestamp() < bound
    ]
    allowed: dict[str, bool] = {}
    visible = []
    for preview in [*previews, *(s.preview for s in stuck)]:
        key = preview.repo.lower()
        if key not in allowed:
            allowed[key] = readable(preview)
        if allowed[key]:
            visible.append(preview)
    wanted = (repo or "").lower()
    stuck = [s for s in stuck if allowed[s.preview.repo.lower()] and wanted in ("", s.preview.repo.lower())]
    visible = [p for p in visible if not p.terminating]
    repos = sorted({p.repo for p in visible}, key=str.lower)
    if repo:
        visible = [p for p in visible if p.repo.lower() == repo.lower()]
    visible.sort(key=lambda p: (p.repo.lower(), -p.number))
    found = statuses(backend.redis, backend.settings.status_context, visible)
    asleep = sleeping(backend.cluster) if visible else set()
    pulls: dict[str, dict] = {}
    out = []
    for preview in visible:
        if preview.repo not in pulls:
            pulls[preview.repo] = backend.open_pulls(preview.repo, preview.installation_id)
        summary = pulls[preview.repo].get(preview.number)
        out.append(
            Row(
                preview,
                title=summary.title if summary else "",
                author=summary.author if summary else "",
                status=found.get(preview.namespace),
                sleeping=preview.namespace in asleep,
            )
        )
    return out, repos, stuck


@dataclass(frozen=True)
class KubeEvent:
    """One Kubernetes event, as shown."""

    at: datetime | None
    type: str
    reason: str
    kind: str
    name: str
    message: str
    count: int


def events(cluster: Cluster, namespace: str, limit: int = MAX_EVENTS) -> list[KubeEvent]:
    """The namespace's newest ``limit`` events, newest first."""
    found = []
    for item in cluster.list_events(namespace):
        meta, involved = item.get("metadata") or {}, item.get("involvedObject") or {}
        at = (
            _time(item.get("lastTimestamp"))
            or _time(item.get("eventTime"))
            or _time(item.get("firstTimestamp"))
            or _time(meta.get("creationTimestamp"))
        )
        count = item.get("count")
        found.append(
            KubeEvent(
                at=at,
                type=str(item.get("type") or ""),
                reason=str(item.get("reason") or ""),
                kind=str(involved.get("kind") or ""),
                name=str(involved.get("name") or ""),
                message=str(item.get("message") or "")[:1000],
                count=count if isinstance(count, int) else 1,
            )
        )
    found.sort(key=lambda e: e.at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return found[:limit]


def ago(moment: datetime | None, now: datetime) -> str:
    """``3m``, ``2h 5m``, ``4d 1h``: how long ago (or, for a future moment, how long until)."""
    if moment is None:
        return "—"
    seconds = int(abs((now - moment).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{seconds}s"
