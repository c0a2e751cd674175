"""A pull request's whole life through real processes: gunicorn, a Celery worker and the watcher.

Webhooks are delivered by the GitHub emulator exactly as github.com sends them (signed),
Kubernetes is the API emulator, Redis is a private redis-server.
"""

from __future__ import annotations

import json
import signal
import uuid

import pytest
import requests

from preview import naming
from tests.e2e.conftest import REPO, SECRET
from tests.e2e.harness import Stack
from tests.helpers import wait_for
from webhooks.signature import sign

TIMEOUT = 60


def statuses(gh, sha: str) -> list[dict]:
    return [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]


def last_state(gh, sha: str) -> str | None:
    found = statuses(gh, sha)
    return found[-1]["state"] if found else None


def wait_state(gh, sha: str, state: str, timeout: float = TIMEOUT) -> dict:
    wait_for(lambda: last_state(gh, sha) == state, timeout, what=f"status {state} on {sha[:7]}")
    return statuses(gh, sha)[-1]


def deliver(gh, stack: Stack, action: str, number: int, **kw):
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", action, REPO, number, **kw)
    assert delivery.status_code in (200, 202), delivery.response_body
    return delivery


def outcomes(stack: Stack, number: int) -> list[str]:
    """Outcomes the worker logged for PR ``number`` (its logs are JSON lines)."""
    found = []
    for line in stack.log("worker").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("pr") == number and entry.get("message", "").startswith("done: "):
            found.append(entry["message"].removeprefix("done: "))
    return found


def namespace(kube, number: int) -> dict | None:
    name = naming.namespace_name(REPO, number)
    found = [n for n in kube.objects("namespaces") if n["metadata"]["name"] == name]
    return found[0] if found else None


def deployment(kube, number: int) -> dict:
    (found,) = kube.objects("deployments", naming.namespace_name(REPO, number))
    return found


def pods_sha(kube, number: int) -> set[str]:
    pods = kube.objects("pods", naming.namespace_name(REPO, number))
    return {p["metadata"].get("annotations", {}).get("previewbot.io/sha") for p in pods}


def test_open_push_close(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 1, branch="feature-a")
    sha1 = pr["head"]["sha"]
    deliver(gh, stack, "opened", 1)
    ready = wait_state(gh, sha1, "success")
    assert ready["target_url"] == "https://pr-1-web-shop.preview.test"
    assert ready["description"] == "Preview ready"
    assert statuses(gh, sha1)[0]["state"] == "pending"
    ns = naming.namespace_name(REPO, 1)
    kinds = {
        "resourcequotas": "preview-quota",
        "limitranges": "preview-limits",
        "configmaps": "preview-env",
        "deployments": "web",
        "services": "web",
        "ingresses": "web",
    }
    for resource, name in kinds.items():
        assert name in {o["metadata"]["name"] for o in kube.objects(resource, ns)}, resource
    assert namespace(kube, 1)["metadata"]["annotations"]["previewbot.io/applied-sha"] == sha1

    sha2 = gh.push(REPO, 1)
    deliver(gh, stack, "synchronize", 1)
    wait_state(gh, sha2, "success")
    assert [s["state"] for s in statuses(gh, sha2)][0] == "pending"
    wait_for(lambda: pods_sha(kube, 1) == {sha2}, TIMEOUT, what="old pods gone")
    assert last_state(gh, sha1) == "success"

    deployments = [d for d in gh.deployments(REPO) if d["environment"] == "preview/pr-1"]
    assert [d["sha"] for d in deployments] == [sha1, sha2]
    states = lambda: [s["state"] for s in gh.deployment_statuses(REPO, deployments[1]["id"])]  # noqa: E731
    wait_for(lambda: states() == ["in_progress", "success"], TIMEOUT, what="deployment success")
    comment_ready = lambda: sha2[:7] in gh.comments(REPO, 1)[0]["body"]  # noqa: E731
    wait_for(comment_ready, TIMEOUT, what="comment shows the new commit")
    (comment,) = gh.comments(REPO, 1)  # one comment, edited in place
    assert "https://pr-1-web-shop.preview.test" in comment["body"]

    gh.close_pr(REPO, 1, merged=True)
    deliver(gh, stack, "closed", 1)
    wait_for(lambda: namespace(kube, 1) is None, TIMEOUT, what="namespace deleted")
    last = gh.deployment_statuses(REPO, deployments[1]["id"])[-1]
    assert last["state"] == "inactive"  # written before the namespace is deleted
    (comment,) = gh.comments(REPO, 1)
    assert "Removed" in comment["body"]


def test_failing_image_reports_the_reason(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 2, branch="fail-pull")
    sha = pr["head"]["sha"]
    deliver(gh, stack, "opened", 2)
    failed = wait_state(gh, sha, "failure", timeout=90)
    assert "ImagePullBackOff" in failed["description"] or "ErrImagePull" in failed["description"]


def test_duplicate_delivery_enqueues_nothing(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 3, branch="feature-c")
    first = deliver(gh, stack, "opened", 3)
    again = gh.redeliver(first.id)
    assert again.id == first.id
    assert again.status_code == 200
    assert '"duplicate"' in again.response_body
    wait_state(gh, pr["head"]["sha"], "success")
    pending = [s for s in statuses(gh, pr["head"]["sha"]) if s["description"].startswith("Deploying")]
    assert len(pending) == 1


def test_out_of_order_synchronize_keeps_newest(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 4, branch="feature-d")
    old = pr["head"]["sha"]
    new = gh.push(REPO, 4)
    deliver(gh, stack, "synchronize", 4)  # carries the newest head
    wait_state(gh, new, "success")
    stale = gh.webhook_payload("pull_request", "synchronize", REPO, 4)
    stale["pull_request"]["head"]["sha"] = old  # an event for the older push, arriving last
    body = json.dumps(stale).encode()
    answer = requests.post(
        stack.webhook_url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, SECRET),
        },
        timeout=10,
    )
    assert answer.status_code == 202
    wait_for(lambda: outcomes(stack, 4).count("up-to-date") >= 1, TIMEOUT, what="stale event handled")
    assert namespace(kube, 4)["metadata"]["annotations"]["previewbot.io/applied-sha"] == new
    assert pods_sha(kube, 4) == {new}
    assert last_state(gh, old) is None


def test_worker_killed_mid_sync_converges(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 5, branch="feature-e")
    sha = pr["head"]["sha"]
    ns = naming.namespace_name(REPO, 5)
    kube.clear_requests()
    kube.set_latency(0.5)
    try:
        deliver(gh, stack, "opened", 5)
        wait_for(
            lambda: any(r.verb in ("apply", "patch") and ns in r.path for r in kube.requests),
            TIMEOUT,
            what="worker started applying",
        )
        stack.kill("worker", signal.SIGKILL)
    finally:
        kube.set_latency(0)
    assert namespace(kube, 5) is None or "previewbot.io/applied-sha" not in namespace(kube, 5)["metadata"].get(
        "annotations", {}
    )
    stack.start("worker")
    wait_state(gh, sha, "success", timeout=90)
    assert namespace(kube, 5)["metadata"]["annotations"]["previewbot.io/applied-sha"] == sha


def test_restarted_watcher_repeats_nothing(gh, kube, stack: Stack) -> None:
    pr = gh.open_pr(REPO, 6, branch="feature-f")
    sha = pr["head"]["sha"]
    deliver(gh, stack, "opened", 6)
    wait_state(gh, sha, "success")
    before = len(gh.statuses(REPO, sha))
    stack.kill("watcher", signal.SIGTERM)
    assert stack.procs["watcher"].returncode == 0
    listed = stack.log("watcher").count("listed")
    stack.start("watcher")
    wait_for(lambda: stack.log("watcher").count("listed") > listed, TIMEOUT, what="watcher relisted")
    assert len(gh.statuses(REPO, sha)) == before


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request, stack: Stack):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for name in ("web", "worker", "watcher"):
            print(f"----- {name} -----\n{stack.log(name)[-4000:]}")
