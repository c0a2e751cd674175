"""Images that run as root, and a repository's own ResourceQuota, through previewbot's real processes.

The Kubernetes emulator's kubelet refuses a root image (here the official ``nginx``) under ``runAsNonRoot``
as a real kubelet does (``CreateContainerConfigError``). Each test runs its own stack with the operator's
settings it needs, one after the other (both would otherwise watch the same cluster).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

TIMEOUT = 60
DB_STRICT, DB_ROOT = 15, 11  # Redis databases no other end-to-end module uses
ROOT_IMAGE = "image: 'nginx:1.27-{short_sha}'\nport: 80\n"


@contextmanager
def running(kube, gh, redis_url: str, workdir: Path, db: int, **settings: str) -> Iterator[Stack]:
    stack = make_stack(kube, gh, redis_url, workdir, db, **settings)
    stack.start_all()
    try:
        yield stack
    finally:
        stack.stop_all()


def open_pr(gh, stack: Stack, number: int, preview_yml: str) -> str:
    sha = gh.open_pr(REPO, number, branch=f"root-{number}")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", preview_yml)
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", "opened", REPO, number)
    assert delivery.status_code == 202, delivery.response_body
    return sha


def final_status(gh, sha: str) -> dict:
    final = lambda: [s for s in gh.statuses(REPO, sha) if s["state"] in ("success", "failure", "error")]  # noqa: E731
    return wait_for(final, TIMEOUT, what=f"a final status of {sha[:7]}")[-1]


def containers(kube, number: int) -> list[dict]:
    pods = kube.objects("pods", naming.namespace_name(REPO, number))
    return [c for pod in pods for c in (pod.get("status") or {}).get("containerStatuses") or []]


def test_root_images_fail_by_default_and_opting_in_needs_the_operator(gh, kube, redis_url, tmp_path) -> None:
    with running(kube, gh, redis_url, tmp_path, DB_STRICT) as stack:
        # a root image under the default security context: the kubelet refuses it, the status says so
        sha = open_pr(gh, stack, 181, ROOT_IMAGE)
        status = final_status(gh, sha)
        assert status["state"] == "failure"
        assert status["description"] == (
            "Rollout failed: CreateContainerConfigError on container web: "
            "container has runAsNonRoot and image will run as root"
        )
        (waiting,) = [c["state"]["waiting"] for c in containers(kube, 181) if "waiting" in c["state"]]
        assert waiting["reason"] == "CreateContainerConfigError"
        assert waiting["message"].startswith("container has runAsNonRoot and image will run as root (pod: ")

        # the repository opts in, the operator does not allow it: refused before anything is applied
        sha = open_pr(gh, stack, 182, ROOT_IMAGE + "run_as_root: true\n")
        status = final_status(gh, sha)
        assert status["state"] == "failure"
        assert status["description"] == (
            "Invalid .preview.yml: run_as_root: not allowed by this installation "
            "(PREVIEWBOT_ALLOW_RUN_AS_ROOT is not true)"
        )
        assert not [n for n in kube.objects("namespaces") if n["metadata"]["name"] == naming.namespace_name(REPO, 182)]


def test_root_images_start_where_allowed_and_quota_follows_the_repository(gh, kube, redis_url, tmp_path) -> None:
    with running(kube, gh, redis_url, tmp_path, DB_ROOT, PREVIEWBOT_ALLOW_RUN_AS_ROOT="true") as stack:
        sha = open_pr(gh, stack, 183, ROOT_IMAGE + "run_as_root: true\nquota: {cpu: 3, memory: 4Gi, pods: 6}\n")
        status = final_status(gh, sha)
        assert status["state"] == "success", status
        ns = naming.namespace_name(REPO, 183)
        (deployment,) = kube.objects("deployments", ns)
        context = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert context["runAsNonRoot"] is False and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"]}
        (quota,) = kube.objects("resourcequotas", ns)
        assert quota["spec"]["hard"] == {
            "requests.cpu": "3",
            "requests.memory": "4Gi",
            "limits.cpu": "3",
            "limits.memory": "4Gi",
            "pods": "6",
        }

        # beyond the operator's bound: a failure naming the key and the bound
        sha = open_pr(gh, stack, 184, "quota: {pods: 50}\n")
        status = final_status(gh, sha)
        assert status["state"] == "failure"
        assert status["description"] == (
            "Invalid .preview.yml: quota.pods: 50 is above the maximum 20 (PREVIEWBOT_QUOTA_MAX_PODS)"
        )
