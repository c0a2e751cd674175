"""previewbot's RBAC, derived from what it does: nothing it uses is missing, nothing granted goes unused.

Every Kubernetes emulator of the test run logs each request with its user and every authorization
check made for it (tests/conftest.py audits them all, and orders this module last). The checks of
previewbot's ServiceAccount reduce to ``(verb, apiGroup, resource, scope)``: scope ``cluster`` for
cluster-scoped resources and requests across all namespaces, ``preview-namespace`` inside a namespace
labelled as previewbot's. ``k8s/deploy/base/rbac.yaml`` expands the same way: the ClusterRole bound by its
ClusterRoleBinding to ``cluster`` (which covers every namespace too), the ClusterRole previewbot binds in
each preview namespace to ``preview-namespace``. Before comparing, the test drives a representative
scenario itself (create with a Secret copied from the operator's namespace, update with pruning,
repository-template Role and RoleBinding, sleep and wake, teardown, purge,
expiry, the watcher's three streams and its Lease), so the comparison holds when this module runs alone too.
A Role bound by a RoleBinding grants in its own namespace (scope ``namespace <name>``).
"""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from integrations.kube import WatchExpired
from preview import naming
from preview.lifecycle import Outcome
from preview.models import PullRef
from preview.settings import DEFAULT_TEMPLATES, Settings, load
from preview.sleep import WakeResult
from preview.values import access_binding
from sandbox.kube.audit import Audited
from sandbox.kube.resources import BY_KEY
from tests.conftest import DEPLOY_MANIFESTS, KUBE_AUDIT, PREVIEWBOT_USER, SERVICE_ACCOUNT
from tests.helpers import wait_for
from workers.leader import for_watcher
from workers.runtime import Runtime
from workers.watcher import Watcher

REPO = "acme/rbac-audit"
CLUSTER, PREVIEW = "cluster", "preview-namespace"
Use = tuple[str, str, str, str]  # verb, apiGroup, resource (or resource/subresource), scope

REPOSITORY_TEMPLATES = {
    "deploy/preview/extras.yaml.j2": """\
apiVersion: v1
kind: Secret
metadata:
  name: extras
stringData:
  sha: {{ sha | yaml }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: peer-finder
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: same-namespace-only
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {}
""",
    "deploy/preview/access.yaml.j2": """\
# lets the app find its peers: previewbot may grant only what it holds itself (listing and watching pods)
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-lister
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: peer-finder
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-lister
subjects:
  - kind: ServiceAccount
    name: peer-finder
    namespace: {{ namespace | yaml }}
""",
}


# -- the manifests, expanded ----------------------------------------------------------------------------------


def _manifests() -> list[dict]:
    return [doc for path in DEPLOY_MANIFESTS for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _uses(rules: list[dict], scope: str) -> set[Use]:
    return {
        (verb, group, resource, scope)
        for rule in rules
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
    }


def granted() -> set[Use]:
    """What ``rbac.yaml`` grants previewbot's ServiceAccount, and where."""
    docs = _manifests()
    cluster_roles = {d["metadata"]["name"]: d.get("rules") or [] for d in docs if d["kind"] == "ClusterRole"}
    namespace, name = SERVICE_ACCOUNT
    subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    grants: set[Use] = set()
    for binding in (d for d in docs if d["kind"] == "ClusterRoleBinding"):
        if subject in binding.get("subjects") or []:
            grants |= _uses(cluster_roles[binding["roleRef"]["name"]], CLUSTER)
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]): d.get("rules") or [] for d in docs if d["kind"] == "Role"
    }
    for binding in (d for d in docs if d["kind"] == "RoleBinding"):
        if subject in binding.get("subjects") or []:
            where, ref = binding["metadata"]["namespace"], binding["roleRef"]
            rules = roles[(where, ref["name"])] if ref["kind"] == "Role" else cluster_roles[ref["name"]]
            grants |= _uses(rules, f"namespace {where}")
    preview_binding = access_binding("preview", Settings())
    assert preview_binding is not None
    grants |= _uses(cluster_roles[preview_binding["roleRef"]["name"]], PREVIEW)
    return grants


# -- what previewbot used ---------------------------------------------------------------------------------------


def _scope(group: str, resource: str, namespace: str, labels: dict[str, dict[str, str]]) -> str:
    res = BY_KEY.get(f"{resource}.{group}" if group else resource)
    if not namespace or (res is not None and not res.namespaced):
        return CLUSTER
    if (labels.get(namespace) or {}).get(naming.MANAGED_BY) == naming.MANAGER:
        return PREVIEW
    return f"namespace {namespace}"


def used(audited: list[Audited]) -> dict[Use, str]:
    """Each ``(verb, group, resource, scope)`` previewbot's requests needed, with one request as an example.

    Needed: every check that allowed something (the request itself, ``create`` for an apply that created,
    ``bind`` for its RoleBinding, the permissions a Role it wrote grants), and every check that refused one.
    """
    found: dict[Use, str] = {}
    for entry in audited:
        request = entry.request
        for decision in [d for d in request.checks if d.allowed] + list(request.denied):
            a = decision.attributes
            if not a.resource_request:
                use: Use = (a.verb, "", a.path, "non-resource URL")
            else:
                use = (
                    a.verb,
                    a.group,
                    a.combined_resource,
                    _scope(a.group, a.resource, a.namespace, entry.namespace_labels),
                )
            found.setdefault(use, f"{request.verb} {request.path} -> {request.status} ({decision.via})")
    return found


#: what previewbot reads without a rule of its own (its health server's Kubernetes check reads /version)
DISCOVERY = frozenset({"/version", "/api", "/apis"})


def covering(use: Use, grants: set[Use]) -> Use | None:
    """The grant a use relies on: the one for its own scope, else the cluster-wide one."""
    verb, group, resource, scope = use
    if scope == "non-resource URL" and verb == "get" and resource in DISCOVERY:
        return use  # granted to every authenticated user by the cluster's default system:discovery binding
    for candidate in ((verb, group, resource, scope), (verb, group, resource, CLUSTER)):
        if candidate in grants:
            return candidate
    return None


# -- a representative scenario ----------------------------------------------------------------------------------


def _operator_templates(tmp_path: Path, names: tuple[str, ...] | None) -> Path:
    """A templates directory with the default templates (only ``names``, if given)."""
    target = tmp_path / ("templates-" + ("-".join(n[:2] for n in names) if names else "all"))
    target.mkdir()
    for template in DEFAULT_TEMPLATES.glob("*.yaml.j2"):
        if names is None or template.name in names:
            shutil.copy(template, target / template.name)
    return target


def _namespace(kube, number: int) -> dict | None:
    name = naming.namespace_name(REPO, number)
    return next((n for n in kube.objects("namespaces") if n["metadata"]["name"] == name), None)


def _kinds(kube, number: int) -> set[str]:
    ns = naming.namespace_name(REPO, number)
    kinds = ("configmaps", "secrets", "services", "serviceaccounts", "resourcequotas", "limitranges", "deployments")
    kinds += ("ingresses", "networkpolicies", "roles", "rolebindings")
    return {kind for kind in kinds for obj in kube.objects(kind, ns) if obj["metadata"].get("labels")}


def _gone_or_terminating(kube, number: int) -> bool:
    ns = _namespace(kube, number)
    return ns is None or ns.get("status", {}).get("phase") == "Terminating"


#: the namespace of the Secrets previewbot copies into previews, as rbac.yaml names it
SECRETS_NAMESPACE = "previewbot-secrets"


def _source_secret(kube) -> None:
    """A Secret to copy into every preview, created by the cluster's admin (once per emulator)."""
    from kubernetes import client

    if any(s["metadata"]["name"] == "shared-config" for s in kube.objects("secrets", SECRETS_NAMESPACE)):
        return
    api = kube.api_client()
    try:
        body = {"metadata": {"name": "shared-config"}, "stringData": {"token": "copied"}}
        client.CoreV1Api(api).create_namespaced_secret(SECRETS_NAMESPACE, body)
    finally:
        api.close()


def run_scenario(gh, kube, bot_env: dict[str, str], tmp_path: Path) -> None:
    """previewbot's own classes, as its ServiceAccount, through a preview's whole life and the watcher's."""
    gh.add_repo(REPO)
    _source_secret(kube)
    copies = {"PREVIEWBOT_SECRETS_NAMESPACE": SECRETS_NAMESPACE, "PREVIEWBOT_PREVIEW_SECRETS": "shared-config"}
    full = Runtime(load({**bot_env, **copies, "PREVIEWBOT_TEMPLATES_DIR": str(_operator_templates(tmp_path, None))}))
    lean_dir = _operator_templates(tmp_path, ("00-namespace.yaml.j2",))
    lean = Runtime(load({**bot_env, "PREVIEWBOT_TEMPLATES_DIR": str(lean_dir)}))
    watcher = Watcher(full.cluster, full.reporter, expired=WatchExpired)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        # create: the operator's templates plus the repository's own, a Role and RoleBinding among them
        sha = gh.open_pr(REPO, 1, branch="audited")["head"]["sha"]
        gh.set_file(REPO, sha, ".preview.yml", "templates: deploy/preview\n")
        for path, text in REPOSITORY_TEMPLATES.items():
            gh.set_file(REPO, sha, path, text)
        assert full.lifecycle.sync(PullRef(REPO, 1), sha) is Outcome.DEPLOYED
        assert {"roles", "rolebindings", "secrets", "networkpolicies", "limitranges"} <= _kinds(kube, 1)
        copied = kube.objects("secrets", naming.namespace_name(REPO, 1))
        assert "shared-config" in {s["metadata"]["name"] for s in copied}  # read from the operator's namespace
        wait_for(lambda: any(s["state"] == "success" for s in gh.statuses(REPO, sha)), 30, what="rollout reported")
        # sleep and wake: the Deployments' scale subresource and the namespace's sleep marks (a merge patch)
        assert full.sleeper.sleep(PullRef(REPO, 1))
        assert full.sleeper.wake(PullRef(REPO, 1)) is WakeResult.WOKEN
        # update: the PR drops its templates and the operator trimmed theirs, so everything else is pruned
        head = gh.push(REPO, 1)
        assert lean.lifecycle.sync(PullRef(REPO, 1), head) is Outcome.DEPLOYED
        assert _kinds(kube, 1) == {"rolebindings"}  # only the one previewbot works through
        # teardown of a closed PR, purge of a repository, expiry after the ttl
        gh.close_pr(REPO, 1)
        assert full.lifecycle.sync(PullRef(REPO, 1)) is Outcome.TORN_DOWN
        purged = gh.open_pr(REPO, 2, branch="purged")["head"]["sha"]
        assert full.lifecycle.sync(PullRef(REPO, 2), purged) is Outcome.DEPLOYED
        expiring = gh.open_pr(REPO, 3, branch="expiring")["head"]["sha"]
        gh.set_file(REPO, expiring, ".preview.yml", "ttl: 1h\n")
        assert full.lifecycle.sync(PullRef(REPO, 3), expiring) is Outcome.DEPLOYED
        full.lifecycle.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
        assert full.lifecycle.expire("keep") == [PullRef(REPO, 3)]
        assert full.lifecycle.purge(REPO) >= 1
        for number in (1, 2, 3):
            wait_for(lambda n=number: _gone_or_terminating(kube, n), 10, what=f"preview {number} removed")
        # the watchers' leader election: one creates the Lease and renews it, a standby reads it, the leader releases it
        leader, standby = for_watcher(full.settings), for_watcher(full.settings)
        assert leader.try_acquire_or_renew() and not standby.try_acquire_or_renew() and leader.try_acquire_or_renew()
        assert leader.release()
        watched = lambda: {  # noqa: E731
            r.resource for r in kube.requests if r.user == PREVIEWBOT_USER and r.authz_verb == "watch"
        }
        wait_for(lambda: watched() >= {"namespaces", "deployments", "pods"}, 30, what="the watcher's three streams")
    finally:
        watcher.stop()
        thread.join(90)


# -- the tests -----------------------------------------------------------------------------------------------


def test_manifests_grant_no_wildcards() -> None:
    """Least privilege can be checked only against explicit rules."""
    for doc in _manifests():
        for rule in doc.get("rules") or []:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in (rule.get(key) or []), f"{doc['metadata']['name']}: {key} has a wildcard"


def test_previewbot_needs_exactly_what_rbac_yaml_grants(gh, kube, bot_env, redis_db, tmp_path) -> None:
    run_scenario(gh, kube, bot_env, tmp_path)
    audited = KUBE_AUDIT.requests(PREVIEWBOT_USER)
    assert audited, "no request by previewbot's ServiceAccount was seen"
    uses, grants = used(audited), granted()
    missing = sorted((use, why) for use, why in uses.items() if covering(use, grants) is None)
    unused = sorted(grants - {covering(use, grants) for use in uses})
    assert not missing, "previewbot needs rights rbac.yaml lacks:\n" + "\n".join(f"{u}  e.g. {w}" for u, w in missing)
    assert not unused, "rbac.yaml grants rights previewbot never used:\n" + "\n".join(map(str, unused))
