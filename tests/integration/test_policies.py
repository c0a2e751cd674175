"""Fork approval, /preview commands, check gating, purge and rate limits through real webhooks.

Payloads come from the GitHub emulator, are signed and posted to the real intake; a real
Celery worker runs the tasks against the emulators and a private Redis.
"""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from flask.testing import FlaskClient

from app import create_app
from preview import naming
from preview.settings import load
from tests.helpers import wait_for
from webhooks.signature import sign
from workers.celery_app import make_celery
from workers.enqueue import Enqueuer
from workers.runtime import Runtime

REPO = "acme/policies"
SECRET = "policy-secret"


@pytest.fixture
def intake(gh, bot_env: dict[str, str], redis_url: str, redis_db: redis.Redis):
    gh.add_repo(REPO)
    settings = load({**bot_env, "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET})
    app = make_celery(settings)
    web = create_app(settings, Enqueuer(redis.Redis.from_url(redis_url), app, 600)).test_client()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield web


def deliver(web: FlaskClient, gh, event: str, action: str | None, number: int | None = None, **extra) -> dict:
    body = json.dumps(gh.webhook_payload(event, action, REPO, number, **extra)).encode()
    answer = web.post(
        "/webhooks/github",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(body, SECRET),
        },
    )
    assert answer.status_code in (200, 202), answer.json
    return answer.json


def applied(kube, number: int) -> str | None:
    name = naming.namespace_name(REPO, number)
    for ns in kube.objects("namespaces"):
        if ns["metadata"]["name"] == name and ns.get("status", {}).get("phase") != "Terminating":
            return ns["metadata"].get("annotations", {}).get("previewbot.io/applied-sha")
    return None


def last(gh, sha: str) -> dict | None:
    found = [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]
    return found[-1] if found else None


def reactions(gh, number: int) -> list[str]:
    return [r["content"] for c in gh.comments(REPO, number) for r in gh.reactions(REPO, c["id"])]


def test_fork_needs_approval_for_each_head(intake, gh, kube) -> None:
    sha = gh.open_pr(REPO, 31, branch="fork-topic", fork=True)["head"]["sha"]
    deliver(intake, gh, "pull_request", "opened", 31)
    wait_for(lambda: last(gh, sha) and last(gh, sha)["description"].startswith("Waiting for approval"), 30)
    gh.set_permission(REPO, "visitor", "read")
    deliver(intake, gh, "issue_comment", "created", 31, body="/preview approve", sender="visitor")
    wait_for(lambda: "-1" in reactions(gh, 31), 30, what="refusal reaction")
    assert applied(kube, 31) is None
    gh.set_permission(REPO, "maintainer", "write")
    deliver(intake, gh, "issue_comment", "created", 31, body="/preview approve", sender="maintainer")
    wait_for(lambda: applied(kube, 31) == sha, 30, what="approved head deployed")
    assert "+1" in reactions(gh, 31)
    new = gh.push(REPO, 31)
    deliver(intake, gh, "pull_request", "synchronize", 31)
    wait_for(lambda: last(gh, new) and last(gh, new)["description"].startswith("Waiting for approval"), 30)
    assert applied(kube, 31) == sha
    deliver(intake, gh, "issue_comment", "created", 31, body="/preview approve", sender="maintainer")
    wait_for(lambda: applied(kube, 31) == new, 30, what="re-approved head deployed")
    bot_comment = [c for c in gh.comments(REPO, 31) if "previewbot:preview-comment" in c["body"]]
    assert len(bot_comment) == 1 and "approved" in bot_comment[0]["body"]


def test_checks_gate_the_deploy(intake, gh, kube) -> None:
    sha = gh.open_pr(REPO, 32, branch="gated")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", "required_checks: [build]\n")
    deliver(intake, gh, "pull_request", "opened", 32)
    wait_for(lambda: last(gh, sha) and last(gh, sha)["description"] == "Waiting for checks: build", 30)
    deliver(intake, gh, "check_run", "completed", 32, name="build", conclusion="failure")
    wait_for(lambda: last(gh, sha)["description"] == "Not deployed: check build failed", 30)
    assert last(gh, sha)["state"] == "failure"
    assert applied(kube, 32) is None
    deliver(intake, gh, "check_run", "completed", 32, name="build", conclusion="success")
    wait_for(lambda: applied(kube, 32) == sha, 30, what="deployed once green")


def test_commit_status_from_ci_releases_a_waiting_deploy(intake, gh, kube) -> None:
    sha = gh.open_pr(REPO, 33, branch="status-gated")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", "required_checks: [ci/build]\n")
    deliver(intake, gh, "pull_request", "opened", 33)
    wait_for(lambda: last(gh, sha) and last(gh, sha)["description"] == "Waiting for checks: ci/build", 30)
    deliver(intake, gh, "status", None, 33, context="ci/build", state="success")
    wait_for(lambda: applied(kube, 33) == sha, 30, what="deployed after the status event")


def test_losing_access_purges_previews(intake, gh, kube) -> None:
    gh.add_installation(4242, [REPO])
    sha = gh.open_pr(REPO, 34, branch="purged")["head"]["sha"]
    deliver(intake, gh, "pull_request", "opened", 34)
    wait_for(lambda: applied(kube, 34) == sha, 30)
    deliver(intake, gh, "installation_repositories", "removed", None, installation_id=4242, repositories=[REPO])
    wait_for(lambda: applied(kube, 34) is None, 30, what="namespace deleted")


def test_secondary_rate_limit_is_honoured(intake, gh, kube, bot_env: dict[str, str]) -> None:
    sha = gh.open_pr(REPO, 35, branch="limited")["head"]["sha"]
    gh.inject_fault("POST", rf"/repos/{REPO}/statuses/{sha}$", 403, count=1, retry_after=1)
    deliver(intake, gh, "pull_request", "opened", 35)
    wait_for(lambda: applied(kube, 35) == sha, 30, what="deployed")
    drainer = Runtime(load(bot_env)).reporter  # what the watcher does every second

    def shown() -> bool:
        drainer.drain()
        return last(gh, sha) is not None

    wait_for(shown, 30, what="status written after the limit")
    limited = [r for r in gh.requests if r[0] == "POST" and r[1].endswith(f"/statuses/{sha}") and r[2] == 403]
    assert len(limited) == 1


def test_repository_templates_are_applied_from_the_head_commit(intake, gh, kube) -> None:
    sha = gh.open_pr(REPO, 36, branch="own-templates")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", "templates: deploy/preview\nreplicas: 2\n")
    gh.set_file(
        REPO,
        sha,
        "deploy/preview/cache.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-settings\ndata:\n  sha: {{ sha | yaml }}\n",
    )
    deliver(intake, gh, "pull_request", "opened", 36)
    wait_for(lambda: applied(kube, 36) == sha, 30, what="deployed")
    ns = naming.namespace_name(REPO, 36)
    (extra,) = [c for c in kube.objects("configmaps", ns) if c["metadata"]["name"] == "cache-settings"]
    assert extra["data"] == {"sha": sha}
    (deployment,) = kube.objects("deployments", ns)
    assert deployment["spec"]["replicas"] == 2


def test_invalid_preview_yml_is_reported_field_by_field(intake, gh, kube) -> None:
    sha = gh.open_pr(REPO, 37, branch="bad-config")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", "port: http\nreplicas: 50\ncolour: blue\n")
    deliver(intake, gh, "pull_request", "opened", 37)
    wait_for(lambda: last(gh, sha) is not None, 30)
    status = last(gh, sha)
    assert status["state"] == "failure"
    assert status["description"].startswith("Invalid .preview.yml: port (line 1): must be an integer")
    ours = lambda: [c for c in gh.comments(REPO, 37) if "previewbot:preview-comment" in c["body"]]  # noqa: E731
    (comment,) = wait_for(ours, 30, what="the comment, written after the status")
    for field in ("port (line 1)", "replicas (line 2)", "colour (line 3)"):
        assert field in comment["body"]
    assert applied(kube, 37) is None


def test_label_and_draft_policies(gh, kube, bot_env, redis_url, redis_db) -> None:
    gh.add_repo(REPO)
    env = {**bot_env, "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET, "PREVIEWBOT_PREVIEW_LABEL": "preview"}
    settings = load(env)
    app = make_celery(settings)
    web = create_app(settings, Enqueuer(redis.Redis.from_url(redis_url), app, 600)).test_client()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        sha = gh.open_pr(REPO, 38, branch="labelled", draft=True)["head"]["sha"]
        deliver(web, gh, "pull_request", "opened", 38)
        gh.set_labels(REPO, 38, ["preview"])
        deliver(web, gh, "pull_request", "labeled", 38, label="preview")
        gh.set_draft(REPO, 38, False)
        deliver(web, gh, "pull_request", "ready_for_review", 38)
        wait_for(lambda: applied(kube, 38) == sha, 30, what="deployed once labelled and ready")
        gh.set_labels(REPO, 38, [])
        deliver(web, gh, "pull_request", "unlabeled", 38, label="preview")
        wait_for(lambda: applied(kube, 38) is None, 30, what="removed with the label")
        gh.set_labels(REPO, 38, ["preview"])
        deliver(web, gh, "pull_request", "labeled", 38, label="preview")
        wait_for(lambda: applied(kube, 38) == sha, 30, what="back with the label")
        gh.set_draft(REPO, 38, True)
        deliver(web, gh, "pull_request", "converted_to_draft", 38)
        wait_for(lambda: applied(kube, 38) is None, 30, what="removed as a draft")


def test_a_push_between_an_approval_and_its_processing_is_not_deployed(
    intake, gh, kube, redis_db: redis.Redis
) -> None:
    sha = gh.open_pr(REPO, 39, branch="race", fork=True)["head"]["sha"]
    deliver(intake, gh, "pull_request", "opened", 39)
    wait_for(lambda: last(gh, sha) and last(gh, sha)["description"].startswith("Waiting for approval"), 30)
    gh.set_permission(REPO, "maintainer", "write")
    busy = redis_db.lock(f"previewbot:lock:{REPO}#39", timeout=30)  # the worker cannot act on the PR yet
    assert busy.acquire()
    deliver(intake, gh, "issue_comment", "created", 39, body="/preview approve", sender="maintainer")
    pushed = gh.push(REPO, 39)  # after the maintainer's comment, before previewbot processed it
    deliver(intake, gh, "pull_request", "synchronize", 39)
    busy.release()
    said = lambda: any("pushed after your comment" in c["body"] for c in gh.comments(REPO, 39))  # noqa: E731
    wait_for(said, 30, what="the PR says the new head needs its own approval")
    assert applied(kube, 39) is None
    wait_for(lambda: last(gh, pushed) and last(gh, pushed)["description"].startswith("Waiting for approval"), 30)
