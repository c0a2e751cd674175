"""Secrets copied into previews: selection, the copies, the settings, and the check of ``env`` references."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from preview import naming, secrets
from preview.lifecycle import Lifecycle, Outcome
from preview.models import ObjectRef, PullRef, State
from preview.repo_config import load_json
from preview.reporting import Reporter
from preview.settings import Settings, SettingsError, load
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger

REPO = "acme/web-shop"
NS = naming.namespace_name(REPO, 7)
SHA = "a" * 40
VALUE = base64.b64encode(b"postgres://user:s3cr3t-value@db/shop").decode()


def source(name: str, labels: dict[str, str] | None = None, **extra: object) -> dict:
    return {
        "metadata": {
            "name": name,
            "namespace": "previewbot-secrets",
            "uid": "1234",
            "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "ownerReferences": [{"kind": "Thing", "name": "x", "uid": "9"}],
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "labels": labels or {},
        },
        "type": "Opaque",
        "data": {"url": VALUE},
        **extra,
    }


SETTINGS = Settings(secrets_namespace="previewbot-secrets", preview_secrets=("shared",))


def test_selection_by_name_and_by_repository_label() -> None:
    label = {secrets.REPOSITORY_LABEL: "acme.web-shop"}
    other = {secrets.REPOSITORY_LABEL: "acme.other"}
    sources = [source("shared"), source("db-credentials", label), source("elsewhere", other), source("unrelated")]
    chosen = secrets.select(sources, REPO, SETTINGS)
    assert [s["metadata"]["name"] for s in chosen] == ["db-credentials", "shared"]
    assert secrets.repository_label(REPO) == "acme.web-shop"
    assert secrets.missing_named(chosen, SETTINGS) == []
    pulls = Settings(secrets_namespace="s", image_pull_secrets=("registry",), preview_tls_secret="wildcard")
    assert secrets.missing_named([], pulls) == ["registry", "wildcard"]


def test_long_repository_names_give_a_valid_label_value() -> None:
    value = secrets.repository_label("o" * 39 + "/" + "r" * 100)
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()


def test_copy_keeps_data_and_type_and_drops_server_metadata() -> None:
    docker = source("registry", type="kubernetes.io/dockerconfigjson")
    copy = secrets.copy_manifest(docker, NS, naming.labels(REPO, 7))
    assert copy == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry", "namespace": NS, "labels": naming.labels(REPO, 7)},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {"url": VALUE},
    }


def test_missing_references_name_secret_key_and_variable() -> None:
    config = load_json(
        json.dumps(
            {
                "env": {
                    "DATABASE_URL": {"secret": "db-credentials", "key": "url"},
                    "TOKEN": {"secret": "shared", "key": "token"},
                    "PLAIN": "x",
                }
            }
        )
    )
    assert secrets.missing_references(config, {"shared": {"url"}}) == [
        "Missing secret db-credentials (key url) referenced by env DATABASE_URL",
        "Missing key token in secret shared referenced by env TOKEN",
    ]
    templates = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-credentials"}, "stringData": {"url": "x"}}
    ]
    available = secrets.secret_keys(templates) | {"shared": {"token"}}
    assert secrets.missing_references(config, available) == []


def test_settings() -> None:
    settings = load(
        {
            "PREVIEWBOT_SECRETS_NAMESPACE": "previewbot-secrets",
            "PREVIEWBOT_PREVIEW_SECRETS": "shared, other,shared",
            "PREVIEWBOT_IMAGE_PULL_SECRETS": "registry",
            "PREVIEWBOT_PREVIEW_TLS_SECRET": "wildcard-tls",
        }
    )
    assert settings.secrets_namespace == "previewbot-secrets"
    assert settings.preview_secrets == ("shared", "other") and settings.image_pull_secrets == ("registry",)
    assert settings.preview_tls_secret == "wildcard-tls" and load({}).secrets_namespace == ""
    assert load({"PREVIEWBOT_PREVIEW_CLUSTER_ISSUER": "letsencrypt"}).preview_cluster_issuer == "letsencrypt"
    for env, message in [
        ({"PREVIEWBOT_PREVIEW_SECRETS": "shared"}, "requires PREVIEWBOT_SECRETS_NAMESPACE"),
        ({"PREVIEWBOT_SECRETS_NAMESPACE": "Bad_NS"}, "PREVIEWBOT_SECRETS_NAMESPACE"),
        ({"PREVIEWBOT_SECRETS_NAMESPACE": "s", "PREVIEWBOT_PREVIEW_SECRETS": "a,B"}, "'B'"),
        ({"PREVIEWBOT_SECRETS_NAMESPACE": "s", "PREVIEWBOT_PREVIEW_TLS_SECRET": "a,b"}, "one Secret"),
        (
            {
                "PREVIEWBOT_SECRETS_NAMESPACE": "s",
                "PREVIEWBOT_PREVIEW_TLS_SECRET": "a",
                "PREVIEWBOT_PREVIEW_CLUSTER_ISSUER": "b",
            },
            "either",
        ),
    ]:
        with pytest.raises(SettingsError, match=message):
            load(env)


# -- the lifecycle ------------------------------------------------------------------------------------------------


@dataclass
class SecretsCluster(FakeCluster):
    sources: list[dict] = field(default_factory=list)

    def list_secrets(self, namespace: str) -> list[dict]:
        self.calls.append(f"list-secrets {namespace}")
        return list(self.sources)


def world(settings: Settings = SETTINGS) -> tuple[Lifecycle, FakeGitHub, SecretsCluster]:
    github, cluster = FakeGitHub(), SecretsCluster()
    reporter = Reporter(github, MemoryLedger(), "preview")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Lifecycle(github, cluster, FakeRenderer(), reporter, settings, clock=lambda: now), github, cluster


ENV = json.dumps({"env": {"DATABASE_URL": {"secret": "db-credentials", "key": "url"}}})


def test_copies_come_before_the_workload_and_leave_when_no_longer_selected() -> None:
    lc, github, cluster = world()
    cluster.sources = [source("shared"), source("db-credentials", {secrets.REPOSITORY_LABEL: "acme.web-shop"})]
    github.open(REPO, 7, SHA)
    github.files[(SHA, ".preview.yml")] = ENV
    assert lc.sync(PullRef(REPO, 7), SHA) is Outcome.DEPLOYED
    applies = [c for c in cluster.calls if c.startswith("apply ") and "Namespace" not in c and "RoleBinding" not in c]
    assert applies[:2] == ["apply Secret/db-credentials", "apply Secret/shared"]
    assert applies.index("apply Deployment/web") > 1
    copy = cluster.objects[ObjectRef("v1", "Secret", "db-credentials", NS).key()]
    assert copy["data"] == {"url": VALUE} and "uid" not in copy["metadata"]
    cluster.sources = [source("shared")]  # the repository's label was removed
    github.files[(SHA, ".preview.yml")] = "{}"
    assert lc.sync(PullRef(REPO, 7), SHA, force=True) is Outcome.DEPLOYED
    assert "delete Secret/db-credentials" in cluster.calls
    assert ObjectRef("v1", "Secret", "shared", NS).key() in cluster.objects


def test_a_missing_secret_fails_before_anything_is_applied() -> None:
    lc, github, cluster = world()
    cluster.sources = [source("shared")]
    github.open(REPO, 7, SHA)
    github.files[(SHA, ".preview.yml")] = ENV
    assert lc.sync(PullRef(REPO, 7), SHA) is Outcome.FAILED
    assert not [c for c in cluster.calls if c.startswith("apply ")]
    final = github.for_sha(SHA)[-1]
    assert final.state is State.FAILURE
    assert final.description == "Missing secret db-credentials (key url) referenced by env DATABASE_URL"


def test_the_check_holds_without_copies_too() -> None:
    lc, github, cluster = world(Settings())
    github.open(REPO, 7, SHA)
    github.files[(SHA, ".preview.yml")] = ENV
    assert lc.sync(PullRef(REPO, 7), SHA) is Outcome.FAILED
    assert not [c for c in cluster.calls if c.startswith(("apply ", "list-secrets"))]


def test_a_named_secret_missing_from_the_source_fails_the_deploy() -> None:
    lc, github, cluster = world()
    github.open(REPO, 7, SHA)
    assert lc.sync(PullRef(REPO, 7), SHA) is Outcome.FAILED
    assert (
        github.for_sha(SHA)[-1].description == "Deploy failed: secret shared not found in namespace previewbot-secrets"
    )


def test_a_failed_copy_never_repeats_the_servers_text() -> None:
    from preview.ports import PermanentError

    lc, github, cluster = world()
    cluster.sources = [source("shared")]

    def refuse(manifest: dict) -> None:
        if manifest["kind"] == "Secret":
            raise PermanentError(f"apply Secret {NS}/shared: HTTP 422: data[url]: Invalid value: {VALUE}")
        FakeCluster.apply(cluster, manifest)

    cluster.apply = refuse  # type: ignore[method-assign]
    github.open(REPO, 7, SHA)
    assert lc.sync(PullRef(REPO, 7), SHA) is Outcome.FAILED
    assert github.for_sha(SHA)[-1].description == f"Deploy failed: apply Secret {NS}/shared: HTTP 422"
