"""Garbage collection: previews whose pull request GitHub no longer shows as open (the decisions, no I/O).

Webhooks can be missed (previewbot down, a delivery lost, the App removed while nobody listened), so on
a timer every namespace previewbot manages is checked against GitHub. A preview is removed when its
pull request is closed or merged, no longer exists, or lives in a repository previewbot can no longer
read; an open pull request keeps its preview (whether it should get one is the next sync's business).
A namespace stuck in ``Terminating`` longer than a bound is reported with what blocks it. The result
of a run is a plain object, for logs, the command line, a metric or a dashboard.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from preview import naming
from preview.models import PullRef, PullRequest
from preview.naming import Annotations
from preview.ports import PermanentError, TemporaryError
from preview.rollout import identity

log = logging.getLogger(__name__)

SELECTOR = f"{naming.MANAGED_BY}={naming.MANAGER}"
MAX_BLOCKER = 300
_NOT_ROLLED_OUT = "0" * 40  # stands in for the applied commit of a namespace whose first deploy did not finish


class Absence(StrEnum):
    """Why GitHub no longer shows a preview's pull request."""

    PULL_MISSING = "pull-missing"  # the pull request answers 404 while its repository is readable
    REPO_INACCESSIBLE = "repo-inaccessible"  # the repository answers 404 or 403, or the App is not installed on it


class Reason(StrEnum):
    """Why a preview is removed."""

    CLOSED = "closed"
    MERGED = "merged"
    PULL_MISSING = "pull-missing"
    REPO_INACCESSIBLE = "repo-inaccessible"


class PullLookup(Protocol):
    """What the collector asks GitHub (see :meth:`integrations.github_client.GitHubClient.pull_presence`)."""

    def pull_presence(self, ref: PullRef) -> PullRequest | Absence:
        """The pull request, or why GitHub no longer shows it; credentials and server errors raise."""
        ...


@dataclass(frozen=True, slots=True)
class Doomed:
    """A preview the collector removes (or, in a dry run, would remove)."""

    namespace: str
    ref: PullRef
    reason: Reason
    outcome: str = ""  # what the removal did: ``queued``, ``already queued``, ``dry run`` …

    def as_dict(self) -> dict[str, object]:
        return {
            "namespace": self.namespace,
            "repo": self.ref.repo,
            "pr": self.ref.number,
            "reason": str(self.reason),
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class Stuck:
    """A namespace in ``Terminating`` for longer than the bound, and what holds it."""

    namespace: str
    deleting_since: str
    seconds: int
    blockers: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "namespace": self.namespace,
            "deleting_since": self.deleting_since,
            "seconds": self.seconds,
            "blockers": list(self.blockers),
        }


@dataclass
class Result:
    """What one run found: kept, removed (or would remove), stuck, and what could not be checked."""

    dry_run: bool = False
    checked: int = 0
    kept: int = 0
    removed: list[Doomed] = field(default_factory=list)
    stuck: list[Stuck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "checked": self.checked,
            "kept": self.kept,
            "removed": [d.as_dict() for d in self.removed],
            "stuck": [s.as_dict() for s in self.stuck],
            "errors": list(self.errors),
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _part(obj: dict, key: str) -> dict:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _meta(namespace: dict) -> dict:
    return _part(namespace, "metadata")


def terminating(namespace: dict) -> bool:
    return bool(_meta(namespace).get("deletionTimestamp")) or _part(namespace, "status").get("phase") == "Terminating"


def owner_of(namespace: dict) -> PullRef | None:
    """The pull request of a live namespace, from previewbot's annotations (:func:`preview.rollout.identity`).

    A namespace whose first deploy never finished has no applied commit yet; it belongs to its pull
    request all the same, under the same checks. None for a terminating, foreign or malformed namespace.
    """
    found = identity(namespace)
    if found is not None:
        return found.ref
    annotations = _meta(namespace).get("annotations")
    if not isinstance(annotations, dict) or Annotations.APPLIED_SHA in annotations:
        return None
    probe = copy.deepcopy(namespace)
    probe["metadata"]["annotations"][Annotations.APPLIED_SHA] = _NOT_ROLLED_OUT
    found = identity(probe)
    return found.ref if found is not None else None


def verdict(answer: PullRequest | Absence) -> Reason | None:
    """Why GitHub's answer means the preview goes, or None when its pull request is open."""
    if isinstance(answer, Absence):
        return Reason(str(answer))
    if answer.is_open:
        return None
    return Reason.MERGED if answer.merged else Reason.CLOSED


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_BLOCKER else text[: MAX_BLOCKER - 1] + "…"


def _strings(values: object) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def blockers(namespace: dict) -> tuple[str, ...]:
    """What keeps a namespace in ``Terminating``: deletion conditions that hold, then finalizers.

    The namespace controller records its progress as conditions (``NamespaceContentRemaining``,
    ``NamespaceFinalizersRemaining``, ``NamespaceDeletionDiscoveryFailure`` …, ``status: "True"`` while
    they block), and the namespace goes only once ``spec.finalizers`` and ``metadata.finalizers`` are empty.
    """
    found = []
    conditions = _part(namespace, "status").get("conditions")
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("status") == "True":
            detail = condition.get("message") or condition.get("reason") or ""
            found.append(_clip(f"{condition.get('type')}: {detail}" if detail else str(condition.get("type"))))
    if spec_finalizers := _strings(_part(namespace, "spec").get("finalizers")):
        found.append(_clip(f"spec.finalizers: {', '.join(spec_finalizers)}"))
    if meta_finalizers := _strings(_meta(namespace).get("finalizers")):
        found.append(_clip(f"metadata.finalizers: {', '.join(meta_finalizers)}"))
    return tuple(found)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def stuck(namespace: dict, now: datetime, bound_seconds: float) -> Stuck | None:
    """The namespace as :class:`Stuck` if it has been terminating for longer than ``bound_seconds``."""
    since = _meta(namespace).get("deletionTimestamp")
    started = _parse_time(since)
    if started is None:
        return None
    seconds = int((now - started).total_seconds())
    if seconds <= bound_seconds:
        return None
    return Stuck(str(_meta(namespace).get("name") or ""), str(since), seconds, blockers(namespace))


@dataclass
class Collector:
    """One garbage-collection pass over previewbot's namespaces; :meth:`run` is safe to repeat."""

    namespaces: Callable[[], Iterable[dict]]  # previewbot's namespaces as the API returns them
    github: PullLookup
    remove: Callable[[Doomed], str]  # tears one preview down (or queues that); returns what it did
    dry_run: bool = False
    terminating_seconds: float = 900.0
    clock: Callable[[], datetime] = _now

    def run(self) -> Result:
        result = Result(dry_run=self.dry_run)
        now = self.clock()
        lost: set[str] = set()  # repositories found inaccessible in this run: one question each
        for namespace in self.namespaces():
            name = str(_meta(namespace).get("name") or "")
            if terminating(namespace):
                if (found := stuck(namespace, now, self.terminating_seconds)) is not None:
                    result.stuck.append(found)
                    log.warning(
                        "namespace %s stuck in Terminating for %d s: %s",
                        name,
                        found.seconds,
                        "; ".join(found.blockers) or "nothing recorded",
                        extra={"namespace": name},
                    )
                continue
            ref = owner_of(namespace)
            if ref is None:
                continue  # not a preview previewbot can name: the watcher warns about it
            result.checked += 1
            extra = {"namespace": name, "repo": ref.repo, "pr": ref.number}
            try:
                answer = Absence.REPO_INACCESSIBLE if ref.repo.lower() in lost else self.github.pull_presence(ref)
                reason = verdict(answer)
            except (TemporaryError, PermanentError) as exc:
                result.errors.append(f"{name}: {exc}")
                log.warning("garbage collection could not check %s: %s", name, exc, extra=extra)
                continue
            if reason is None:
                result.kept += 1
                continue
            if reason is Reason.REPO_INACCESSIBLE:
                lost.add(ref.repo.lower())
            doomed = Doomed(name, ref, reason)
            if self.dry_run:
                log.info("garbage collection (dry run) would remove %s: %s", name, reason, extra=extra)
                result.removed.append(replace(doomed, outcome="dry run"))
                continue
            try:
                outcome = self.remove(doomed)
            except (TemporaryError, PermanentError) as exc:
                result.errors.append(f"{name}: {exc}")
                log.warning("garbage collection could not remove %s: %s", name, exc, extra=extra)
                continue
            log.info("garbage collection removes %s (%s): %s", name, reason, outcome, extra=extra)
            result.removed.append(replace(doomed, outcome=outcome))
        return result
