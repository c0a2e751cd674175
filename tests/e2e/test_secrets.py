"""Secrets copied from the operator's namespace into previews, a private registry, and a missing secret."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from kubernetes import client

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

SOURCE = "previewbot-secrets"  # the namespace rbac.yaml lets previewbot list Secrets in
PASSWORD = "very-secret-password-4711"
DATABASE_URL = f"postgres://shop:{PASSWORD}@db.internal/shop"
REGISTRY = "private.example.com"
PREVIEW_YML = """\
image: "private.example.com/{repo}:{short_sha}"
env:
  DATABASE_URL: {secret: %s, key: url}
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def stack(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    api = kube.api_client()  # the operator, as the cluster's admin
    try:
        core = client.CoreV1Api(api)
        db = {
            "metadata": {"name": "db-credentials", "labels": {"previewbot.io/repository": "acme.web-shop"}},
            "data": {"url": _b64(DATABASE_URL)},
        }
        auths = json.dumps({"auths": {REGISTRY: {"auth": _b64(f"robot:{PASSWORD}")}}})
        registry = {
            "metadata": {"name": "registry-auth"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": _b64(auths)},
        }
        for body in (db, registry):
            core.create_namespaced_secret(SOURCE, body)
    finally:
        api.close()
    settings = {"PREVIEWBOT_SECRETS_NAMESPACE": SOURCE, "PREVIEWBOT_IMAGE_PULL_SECRETS": "registry-auth"}
    stack = make_stack(kube, gh, redis_url, tmp_path_factory.mktemp("e2e-secrets"), 14, **settings)
    stack.start_all()
    yield stack
    stack.stop_all()


def _statuses(gh, sha: str) -> list[dict]:
    return [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]


def _final(gh, sha: str) -> dict:
    wait_for(lambda: (s := _statuses(gh, sha)) and s[-1]["state"] in ("success", "failure"), 60, what="final status")
    return _statuses(gh, sha)[-1]


def _open(gh, stack: Stack, number: int, secret: str) -> str:
    sha = gh.open_pr(REPO, number, branch=f"secrets-{number}")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", PREVIEW_YML % secret)
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", "opened", REPO, number)
    assert delivery.status_code == 202, delivery.response_body
    return sha


def _no_secret_value_in_github(gh, stack: Stack, number: int, sha: str) -> None:
    shown = json.dumps([_statuses(gh, sha), gh.comments(REPO, number)])
    shown += "".join(stack.log(name) for name in ("web", "worker", "watcher"))
    for value in (PASSWORD, _b64(DATABASE_URL), _b64(f"robot:{PASSWORD}")):
        assert value not in shown


def test_a_private_image_with_a_copied_secret_and_pull_secret_reaches_success(gh, kube, stack: Stack) -> None:
    sha = _open(gh, stack, 1, "db-credentials")
    final = _final(gh, sha)
    assert (final["state"], final["description"]) == ("success", "Preview ready")
    ns = naming.namespace_name(REPO, 1)
    copies = {s["metadata"]["name"]: s for s in kube.objects("secrets", ns)}
    assert set(copies) >= {"db-credentials", "registry-auth"}
    assert copies["registry-auth"]["type"] == "kubernetes.io/dockerconfigjson"
    assert copies["db-credentials"]["data"] == {"url": _b64(DATABASE_URL)}
    assert copies["db-credentials"]["metadata"]["labels"][naming.MANAGED_BY] == naming.MANAGER
    (deployment,) = kube.objects("deployments", ns)
    pod_spec = deployment["spec"]["template"]["spec"]
    assert pod_spec["imagePullSecrets"] == [{"name": "registry-auth"}]
    assert pod_spec["containers"][0]["image"].startswith(f"{REGISTRY}/web-shop:")
    _no_secret_value_in_github(gh, stack, 1, sha)


def test_a_missing_secret_fails_naming_it_and_applies_nothing(gh, kube, stack: Stack) -> None:
    sha = _open(gh, stack, 2, "payments-key")
    final = _final(gh, sha)
    assert final["state"] == "failure"
    assert final["description"] == "Missing secret payments-key (key url) referenced by env DATABASE_URL"
    ns = naming.namespace_name(REPO, 2)
    seen = [r for r in kube.requests if r.namespace == ns or (r.resource == "namespaces" and r.name == ns)]
    assert not [r for r in seen if r.verb != "get"], "nothing of the preview may be applied"
    assert not kube.objects("deployments", ns)
    wait_for(lambda: "payments-key" in json.dumps(gh.comments(REPO, 2)), 30, what="the comment names the secret")
    _no_secret_value_in_github(gh, stack, 2, sha)
