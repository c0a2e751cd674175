"""The rollout → status mapping over Deployment and Pod shapes as the API server returns them."""

import copy

from preview import naming
from preview.models import State
from preview.rollout import combine, identity, pod_problems, report_for

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
        "metadata": {"name": "web-5d9c7-abcde", "uid": "u1", "annotations": {"previewbot.io/sha": sha}},
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
    report = report_for(deployment(), None, URL)
    assert report.state is State.SUCCESS
    assert report.description == "Preview ready"
    assert report.target_url == URL


def test_controller_not_caught_up_says_nothing_new() -> None:
    assert report_for(deployment(observedGeneration=1)) is None


def test_nothing_ready_yet_says_nothing_beyond_deploying() -> None:
    assert report_for(deployment(readyReplicas=0, availableReplicas=0)) is None
    # one old pod still serving, the new one not ready
    assert report_for(deployment(replicas=2, updatedReplicas=1, readyReplicas=1, availableReplicas=1)) is None


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
    (problem,) = pod_problems([pod("ImagePullBackOff")], SHA)
    report = report_for(failed, problem)
    assert report.state is State.FAILURE
    assert report.description == "Rollout failed: ImagePullBackOff on container web: Back-off pulling image"


def test_crash_loop_names_restarts() -> None:
    (problem,) = pod_problems([pod("CrashLoopBackOff", 4)], SHA)
    report = report_for(deployment(readyReplicas=0, availableReplicas=0), problem)
    assert report.state is State.FAILURE
    assert report.description.startswith("Rollout failed: CrashLoopBackOff on container web (4 restarts): ")


def test_long_kubelet_messages_keep_their_cause() -> None:
    image = "registry.example.com/acme/web:0d1a26e"
    long = pod("ErrImagePull")
    long["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}":\n {image}: not found'
    )
    (problem,) = pod_problems([long], SHA)
    assert problem.describe() == f"ErrImagePull on container web: …{image}: not found"
    endless = pod("CrashLoopBackOff")
    endless["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "x" * 500
    (problem,) = pod_problems([endless], SHA)
    assert problem.describe().endswith(": …" + "x" * 79)


def test_pull_errors_share_one_grace_timer() -> None:
    (pulling,) = pod_problems([pod("ErrImagePull")], SHA)
    (backing_off,) = pod_problems([pod("ImagePullBackOff")], SHA)
    assert pulling.key == backing_off.key


def test_pods_of_another_sha_or_being_deleted_do_not_fail_this_one() -> None:
    assert pod_problems([pod("ImagePullBackOff", sha="f" * 40)], SHA) == []
    deleting = pod("ImagePullBackOff")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert pod_problems([deleting], SHA) == []


def test_combined_status_is_the_worst() -> None:
    ready = report_for(deployment(), None, URL)
    rolling = report_for(deployment(replicas=2, updatedReplicas=2, readyReplicas=1, availableReplicas=1))
    (problem,) = pod_problems([pod("CrashLoopBackOff", 1)], SHA)
    failed = report_for(deployment(), problem)
    assert combine([ready, rolling]) == rolling
    assert combine([rolling, failed, ready]) == failed
    assert combine([ready, ready]) == ready
    assert combine([]) is None


def namespace(repo: str = "acme/web", number: str = "42", **annotations: str) -> dict:
    values = {
        "previewbot.io/repo": repo,
        "previewbot.io/pr": number,
        "previewbot.io/applied-sha": SHA,
        "previewbot.io/url": URL,
        "previewbot.io/installation": "7",
        **annotations,
    }
    name = naming.namespace_name(repo, int(number)) if number.isdecimal() else "pr-x"
    return {"metadata": {"name": name, "annotations": values}, "status": {"phase": "Active"}}


def test_identity_comes_from_the_namespace() -> None:
    found = identity(namespace())
    assert found is not None
    assert (found.ref.repo, found.ref.number, found.ref.installation_id, found.sha, found.url) == (
        "acme/web",
        42,
        7,
        SHA,
        URL,
    )


def test_terminating_or_malformed_namespaces_have_no_identity() -> None:
    terminating = namespace()
    terminating["status"]["phase"] = "Terminating"
    assert identity(terminating) is None
    assert identity(namespace(number="²")) is None
    assert identity(namespace(number="4" * 40)) is None
    assert identity(namespace(**{"previewbot.io/applied-sha": "not-a-sha"})) is None
    assert identity(namespace(**{"previewbot.io/installation": "x"})) is None
    renamed = namespace()
    renamed["metadata"]["name"] = naming.namespace_name("other/repo", 42)
    assert identity(renamed) is None  # the name must be the one previewbot derives
    assert identity({"metadata": {}}) is None
