"""The watcher's reconciliation over its view of the cluster: grace, identity, never backwards."""

from __future__ import annotations

import copy

from preview import naming
from preview.models import PullRef, State, StatusReport
from preview.reporting import Reporter
from tests.unit.fakes import FakeGitHub, MemoryLedger
from workers.streams import Changed, Listed
from workers.watcher import Watcher

REPO, NUMBER = "acme/web", 42
SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
NS = naming.namespace_name(REPO, NUMBER)
URL = "https://pr-42-web.preview.example.com"

NAMESPACE = {
    "metadata": {
        "name": NS,
        "annotations": {
            "previewbot.io/repo": REPO,
            "previewbot.io/pr": str(NUMBER),
            "previewbot.io/applied-sha": SHA,
            "previewbot.io/url": URL,
        },
    },
    "status": {"phase": "Active"},
}
DEPLOYMENT = {
    "metadata": {"name": "web", "namespace": NS, "generation": 1},
    "spec": {"replicas": 1, "template": {"metadata": {"annotations": {"previewbot.io/sha": SHA}}}},
    "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0},
}


def pod(reason: str | None) -> dict:
    state = {"waiting": {"reason": reason, "message": "manifest unknown"}} if reason else {"running": {}}
    return {
        "metadata": {"name": "web-1", "namespace": NS, "uid": "u1", "annotations": {"previewbot.io/sha": SHA}},
        "status": {"containerStatuses": [{"name": "web", "restartCount": 0, "state": state}]},
    }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def watcher(github: FakeGitHub, clock: Clock) -> Watcher:
    reporter = Reporter(github, MemoryLedger(), "preview", clock=lambda: "now")
    w = Watcher(source=None, reporter=reporter, grace_seconds=5, clock=clock)  # type: ignore[arg-type]
    for kind, items in (("namespaces", [NAMESPACE]), ("deployments", [DEPLOYMENT]), ("pods", [])):
        w.view.apply(Listed(kind, copy.deepcopy(items)))
    return w


def descriptions(github: FakeGitHub) -> list[str]:
    return [r.description for r in github.for_sha(SHA)]


def test_a_stuck_container_fails_once_its_grace_is_over() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    w.view.apply(Changed("pods", "ADDED", pod("ErrImagePull")))
    w.reconcile(NS)
    assert descriptions(github) == []  # nothing ready yet: "Deploying" still says it all
    assert w.timers[NS] == 105.0  # a look is scheduled for when the grace ends
    clock.now = 103.0
    w.view.apply(Changed("pods", "MODIFIED", pod("ImagePullBackOff")))  # same problem, same timer
    w.reconcile(NS)
    assert descriptions(github) == []
    clock.now = 105.0
    w.reconcile(NS)
    assert descriptions(github) == ["Rollout failed: ImagePullBackOff on container web: manifest unknown"]


QUOTA_REFUSAL = (
    'pods "web-5d8f7c-x2x9z" is forbidden: exceeded quota: preview-quota, '
    "requested: pods=1, used: pods=10, limited: pods=10"
)


def refused(status: str = "True") -> dict:
    deployment = copy.deepcopy(DEPLOYMENT)
    deployment["metadata"]["uid"] = "d1"
    condition = {"type": "ReplicaFailure", "status": status, "reason": "FailedCreate", "message": QUOTA_REFUSAL}
    deployment["status"]["conditions"] = [condition]
    return deployment


def test_pods_the_controller_cannot_create_fail_the_rollout_once_the_grace_is_over() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    w.view.apply(Changed("deployments", "MODIFIED", refused()))
    w.reconcile(NS)
    assert descriptions(github) == []  # the controller retries: it may be a moment's shortage
    clock.now = 105.0
    w.reconcile(NS)
    assert descriptions(github) == [
        "Rollout failed: FailedCreate: exceeded quota: preview-quota, requested: pods=1, used: pods=10, "
        "limited: pods=10"
    ]


def test_a_refusal_that_clears_within_the_grace_is_not_reported() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    w.view.apply(Changed("deployments", "MODIFIED", refused()))
    w.reconcile(NS)
    clock.now = 103.0
    w.view.apply(Changed("deployments", "MODIFIED", refused("False")))
    w.reconcile(NS)
    clock.now = 110.0
    w.reconcile(NS)
    assert all(r.state is State.PENDING for r in github.for_sha(SHA))


def test_a_pod_that_recovers_within_the_grace_is_not_reported() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    w.view.apply(Changed("pods", "ADDED", pod("CrashLoopBackOff")))
    w.reconcile(NS)
    clock.now = 103.0
    w.view.apply(Changed("pods", "MODIFIED", pod(None)))
    w.reconcile(NS)
    clock.now = 110.0
    w.reconcile(NS)
    assert all(r.state is State.PENDING for r in github.for_sha(SHA))


def test_a_terminating_namespace_says_nothing() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    terminating = copy.deepcopy(NAMESPACE)
    terminating["status"]["phase"] = "Terminating"
    w.view.apply(Changed("namespaces", "MODIFIED", terminating))
    w.reconcile(NS)
    assert github.statuses == []


def test_a_deployment_being_deleted_says_nothing() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    deleting = copy.deepcopy(DEPLOYMENT)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    w.view.apply(Changed("deployments", "MODIFIED", deleting))
    w.reconcile(NS)
    assert github.statuses == []


def test_a_finished_commit_never_goes_back_to_pending() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    w.reporter.report(PullRef(REPO, NUMBER), SHA, StatusReport(State.SUCCESS, "Preview ready", URL), observed=True)
    w.reconcile(NS)  # the Deployment lost its pod: 0/1 ready
    assert [r.state for r in github.for_sha(SHA)] == [State.SUCCESS]


def test_objects_of_another_commit_in_the_namespace_are_left_out() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    foreign = copy.deepcopy(DEPLOYMENT)
    foreign["metadata"]["name"] = "other"
    foreign["spec"]["template"]["metadata"]["annotations"]["previewbot.io/sha"] = "f" * 40
    foreign["status"]["readyReplicas"] = 0
    ready = copy.deepcopy(DEPLOYMENT)
    ready["status"].update(readyReplicas=1, availableReplicas=1)
    w.view.apply(Changed("deployments", "MODIFIED", ready))
    w.view.apply(Changed("deployments", "ADDED", foreign))
    w.reconcile(NS)
    assert [(r.state, r.target_url) for r in github.for_sha(SHA)] == [(State.SUCCESS, URL)]
    assert {sha for sha, _, _ in github.statuses} == {SHA}


def test_past_the_deadline_a_problem_in_its_grace_still_explains_the_failure() -> None:
    github, clock = FakeGitHub(), Clock()
    w = watcher(github, clock)
    expired = copy.deepcopy(DEPLOYMENT)
    expired["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    w.view.apply(Changed("deployments", "MODIFIED", expired))
    w.view.apply(Changed("pods", "ADDED", pod("ImagePullBackOff")))
    w.reconcile(NS)
    assert descriptions(github) == ["Rollout failed: ImagePullBackOff on container web: manifest unknown"]
