"""The rollout → status mapping over Deployment and Pod shapes as the API server returns them."""

import copy

from preview.models import State
from preview.rollout import report_for, rollout_state

SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
URL = "https://pr-42-web.preview.example.com"

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "pr-42-web-abc123",
        "generation": 2,
        "resourceVersion": "1234",
        "annotations": {
            "deployment.kubernetes.io/revision": "2",
            "previewbot.io/repo": "acme/web",
            "previewbot.io/pr": "42",
            "previewbot.io/url": URL,
            "previewbot.io/installation": "7",
        },
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app.kubernetes.io/instance": "pr-42-web-abc123"}},
        "template": {"metadata": {"annotations": {"previewbot.io/sha": SHA}}},
    },
    "status": {
        "observedGeneration": 2,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": 'ReplicaSet "web-5d9c7" has successfully progressed.',
            },
        ],
    },
}


def deployment(**status: object) -> dict:
    d = copy.deepcopy(DEPLOYMENT)
    d["status"].update(status)
    return d


def pod(reason: str, restarts: int = 0, sha: str = SHA) -> dict:
    return {
        "metadata": {"name": "web-5d9c7-abcde", "annotations": {"previewbot.io/sha": sha}},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": False,
                    "restartCount": restarts,
                    "image": f"registry.example.com/acme/web:{sha}",
                    "state": {"waiting": {"reason": reason, "message": "Back-off pulling image"}},
                }
            ],
        },
    }


def test_complete_rollout_is_success_with_url() -> None:
    report = report_for(deployment())
    assert report.state is State.SUCCESS
    assert report.description == "Preview ready"
    assert report.target_url == URL


def test_controller_not_caught_up_says_nothing_new() -> None:
    assert report_for(deployment(observedGeneration=1)) is None
    assert rollout_state(deployment(observedGeneration=1)) is None


def test_partial_rollout_counts_ready_new_pods() -> None:
    report = report_for(deployment(replicas=2, updatedReplicas=2, readyReplicas=1, availableReplicas=1))
    assert (report.state, report.description) == (State.PENDING, "Rolling out: 1/2 ready")


def test_old_pods_still_running_is_not_success() -> None:
    """Reviewers must never be sent to a mix of two versions."""
    report = report_for(deployment(replicas=3, updatedReplicas=2, readyReplicas=3, availableReplicas=3))
    assert report.state is State.PENDING
    report = report_for(deployment(replicas=3, updatedReplicas=2, readyReplicas=3, availableReplicas=2))
    assert report.state is State.PENDING
    assert "stopping old pods" in report.description


def test_deadline_exceeded_is_failure_with_pod_reason() -> None:
    failed = deployment(
        updatedReplicas=1,
        readyReplicas=0,
        availableReplicas=0,
        unavailableReplicas=2,
        conditions=[
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"},
        ],
    )
    assert report_for(failed).description == "Rollout failed: ProgressDeadlineExceeded"
    report = report_for(failed, [pod("ImagePullBackOff")])
    assert report.state is State.FAILURE
    assert report.description == "Rollout failed: ImagePullBackOff on container web"


def test_crash_loop_names_restarts() -> None:
    report = report_for(deployment(readyReplicas=0, availableReplicas=0), [pod("CrashLoopBackOff", 4)])
    assert report.state is State.FAILURE
    assert report.description == "Rollout failed: CrashLoopBackOff on container web (4 restarts)"


def test_pods_of_another_sha_do_not_fail_this_one() -> None:
    report = report_for(deployment(), [pod("ImagePullBackOff", sha="f" * 40)])
    assert report.state is State.SUCCESS


def test_rollout_state_identifies_the_preview() -> None:
    state = rollout_state(deployment())
    assert state is not None
    assert (state.repo, state.number, state.sha, state.installation_id) == ("acme/web", 42, SHA, 7)


def test_foreign_deployments_are_ignored() -> None:
    foreign = copy.deepcopy(DEPLOYMENT)
    foreign["metadata"]["annotations"] = {}
    assert rollout_state(foreign) is None
