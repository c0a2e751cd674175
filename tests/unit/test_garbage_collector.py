"""The garbage collector's decisions on namespaces as the API returns them (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from preview import naming
from preview.garbage_collector import Absence, Collector, Doomed, Reason, blockers, owner_of, stuck, verdict
from preview.models import PullRef, PullRequest
from preview.ports import TemporaryError
from preview.settings import SettingsError, load

REPO = "acme/web"
SHA = "a" * 40
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def ns(number: int, *, applied: str | None = SHA, deleting: str | None = None, **extra: object) -> dict:
    annotations = {"previewbot.io/repo": REPO, "previewbot.io/pr": str(number)}
    if applied:
        annotations["previewbot.io/applied-sha"] = applied
    meta: dict = {"name": naming.namespace_name(REPO, number), "annotations": annotations}
    if deleting:
        meta["deletionTimestamp"] = deleting
    return {"metadata": meta, **extra}


def pull(number: int, state: str = "open", merged: bool = False) -> PullRequest:
    return PullRequest(PullRef(REPO, number), SHA, "topic", "main", state, merged=merged)


class Answers:
    """GitHub's answers by PR number; an exception is raised."""

    def __init__(self, answers: dict[int, PullRequest | Absence | Exception]) -> None:
        self.answers = answers
        self.asked: list[int] = []

    def pull_presence(self, ref: PullRef) -> PullRequest | Absence:
        self.asked.append(ref.number)
        answer = self.answers[ref.number]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_owner_comes_from_the_annotations_even_before_the_first_rollout() -> None:
    assert owner_of(ns(3)) == PullRef(REPO, 3)
    assert owner_of(ns(4, applied=None)) == PullRef(REPO, 4)
    forged = ns(5)
    forged["metadata"]["name"] = "pr-5-elsewhere"
    assert owner_of(forged) is None
    assert owner_of(ns(6, applied="not-a-sha")) is None
    assert owner_of(ns(7, deleting="2026-11-23T11:00:00Z")) is None


def test_verdicts() -> None:
    assert verdict(pull(1)) is None
    assert verdict(pull(1, "closed")) is Reason.CLOSED
    assert verdict(pull(1, "closed", merged=True)) is Reason.MERGED
    assert verdict(Absence.PULL_MISSING) is Reason.PULL_MISSING
    assert verdict(Absence.REPO_INACCESSIBLE) is Reason.REPO_INACCESSIBLE


def test_blockers_name_conditions_that_hold_then_finalizers() -> None:
    status = {
        "phase": "Terminating",
        "conditions": [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered"},
            {"type": "NamespaceContentRemaining", "status": "True", "message": "Some resources are remaining: x"},
            {"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain"},
        ],
    }
    found = ns(1, deleting="2026-11-23T11:00:00Z", status=status, spec={"finalizers": ["kubernetes"]})
    found["metadata"]["finalizers"] = ["example.com/hold", 7]
    assert blockers(found) == (
        "NamespaceContentRemaining: Some resources are remaining: x",
        "NamespaceFinalizersRemaining: SomeFinalizersRemain",
        "spec.finalizers: kubernetes",
        "metadata.finalizers: example.com/hold",
    )
    assert blockers({"metadata": None, "status": "odd", "spec": []}) == ()


def test_stuck_only_past_the_bound() -> None:
    since = "2026-11-23T11:40:00Z"  # 20 minutes before NOW
    assert stuck(ns(1, deleting=since), NOW, 1800) is None
    found = stuck(ns(1, deleting=since), NOW, 900)
    assert found is not None and found.seconds == 1200 and found.deleting_since == since
    assert stuck(ns(1, deleting="yesterday"), NOW, 0) is None


def test_a_run_removes_closed_keeps_open_reports_stuck_and_skips_errors() -> None:
    removed: list[Doomed] = []
    github = Answers({1: pull(1), 2: pull(2, "closed"), 3: TemporaryError("GitHub 502"), 4: Absence.REPO_INACCESSIBLE})
    namespaces = [ns(1), ns(2), ns(3), ns(4), ns(5), ns(6, deleting="2026-11-23T10:00:00Z"), {"metadata": {}}]
    github.answers[5] = pull(5)  # same repository as 4: not asked again in this run
    collector = Collector(lambda: namespaces, github, lambda d: removed.append(d) or "queued", clock=lambda: NOW)

    result = collector.run()

    assert [(d.ref.number, d.reason, d.outcome) for d in result.removed] == [
        (2, Reason.CLOSED, "queued"),
        (4, Reason.REPO_INACCESSIBLE, "queued"),
        (5, Reason.REPO_INACCESSIBLE, "queued"),
    ]
    assert [d.ref.number for d in removed] == [2, 4, 5] and github.asked == [1, 2, 3, 4]
    assert (result.checked, result.kept) == (5, 1)
    assert len(result.errors) == 1 and "502" in result.errors[0]
    assert [s.namespace for s in result.stuck] == [naming.namespace_name(REPO, 6)]


def test_a_dry_run_removes_nothing() -> None:
    collector = Collector(lambda: [ns(2)], Answers({2: pull(2, "closed")}), lambda d: pytest.fail("removed"))
    collector.dry_run = True
    result = collector.run()
    assert result.as_dict()["removed"] == [
        {"namespace": naming.namespace_name(REPO, 2), "repo": REPO, "pr": 2, "reason": "closed", "outcome": "dry run"}
    ]


def test_settings() -> None:
    settings = load({})
    assert (settings.gc_interval_seconds, settings.gc_terminating_seconds, settings.gc_dry_run) == (600, 900, False)
    settings = load({"PREVIEWBOT_GC_INTERVAL_SECONDS": "10", "PREVIEWBOT_GC_DRY_RUN": "yes"})
    assert settings.gc_interval_seconds == 10 and settings.gc_dry_run is True
    with pytest.raises(SettingsError, match="PREVIEWBOT_GC_INTERVAL_SECONDS: must be at least 10"):
        load({"PREVIEWBOT_GC_INTERVAL_SECONDS": "9"})
    with pytest.raises(SettingsError, match="PREVIEWBOT_GC_TERMINATING_SECONDS"):
        load({"PREVIEWBOT_GC_TERMINATING_SECONDS": "soon"})
