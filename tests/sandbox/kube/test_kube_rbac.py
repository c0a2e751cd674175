"""Authentication and RBAC authorization through the official client: tokens, rules, escalation prevention."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

import kubernetes
import pytest
from kubernetes.client.exceptions import ApiException

from sandbox.kube import KubeEmulator
from tests.sandbox.kube.conftest import Clients

RBAC = "rbac.authorization.k8s.io"
_ids = itertools.count()


def sa_user(ns: str, name: str = "bot") -> str:
    return f"system:serviceaccount:{ns}:{name}"


def groups(ns: str) -> str:
    return f'["system:serviceaccounts" "system:serviceaccounts:{ns}" "system:authenticated"]'


def as_account(emu: KubeEmulator, k8s: Clients, ns: str, name: str = "bot") -> Clients:
    """Clients authenticated as ServiceAccount ``ns/name`` (created if missing)."""
    if not [a for a in emu.objects("serviceaccounts", ns) if a["metadata"]["name"] == name]:
        k8s.core.create_namespaced_service_account(ns, {"metadata": {"name": name}})
    return Clients(emu.api_client(emu.service_account_token(ns, name)))


def grant(k8s: Clients, ns: str, rules: list[dict[str, Any]], *, cluster: str = "", name: str = "bot") -> None:
    """Bind ``rules`` to ServiceAccount ``ns/name``: in ``ns`` (a Role), or with ``cluster`` set, a ClusterRole
    bound cluster-wide (``cluster="cluster"``) or in ``ns`` (``cluster="namespace"``)."""
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": ns}]
    role_name = f"{ns}-{name}-{next(_ids)}"
    if not cluster:
        k8s.rbac.create_namespaced_role(ns, {"metadata": {"name": role_name}, "rules": rules})
        ref = {"apiGroup": RBAC, "kind": "Role", "name": role_name}
        k8s.rbac.create_namespaced_role_binding(
            ns, {"metadata": {"name": role_name}, "roleRef": ref, "subjects": subject}
        )
        return
    k8s.rbac.create_cluster_role({"metadata": {"name": role_name}, "rules": rules})
    ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": role_name}
    body = {"metadata": {"name": role_name}, "roleRef": ref, "subjects": subject}
    if cluster == "cluster":
        k8s.rbac.create_cluster_role_binding(body)
    else:
        k8s.rbac.create_namespaced_role_binding(ns, body)


def refused(call: Any, code: int = 403) -> dict[str, Any]:
    """The Status body of a call that must fail with ``code``."""
    with pytest.raises(ApiException) as exc:
        call()
    assert exc.value.status == code, exc.value.body
    return json.loads(exc.value.body)


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def apply(api: kubernetes.client.ApiClient, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One server-side apply PATCH: its HTTP status and answer."""
    method, url, headers, data, _ = api.param_serialize(
        "PATCH",
        path,
        query_params=[("fieldManager", "test"), ("force", "true")],
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        body=json.dumps(body),
        auth_settings=["BearerToken"],
    )
    response = api.call_api(method, url, header_params=headers, body=data)
    return response.status, json.loads(response.read())


def test_unknown_token_is_unauthorized(emu: KubeEmulator) -> None:
    body = refused(lambda: kubernetes.client.CoreV1Api(emu.api_client("not-a-token")).list_namespace(), 401)
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    assert emu.requests[-1].status == 401 and emu.requests[-1].user == ""


def test_token_of_a_deleted_service_account_stops_working(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot = as_account(emu, k8s, ns, "short-lived")
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}], name="short-lived")
    assert bot.core.list_namespaced_config_map(ns).items
    k8s.core.delete_namespaced_service_account("short-lived", ns)
    refused(lambda: bot.core.list_namespaced_config_map(ns), 401)


def test_forbidden_answers_name_user_verb_resource_and_scope(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    body = refused(lambda: bot.apps.list_namespaced_deployment(ns))
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'deployments.apps is forbidden: User "{user}" cannot list resource "deployments" in API group '
        f'"apps" in the namespace "{ns}"',
        "reason": "Forbidden",
        "details": {"group": "apps", "kind": "deployments"},
        "code": 403,
    }
    assert refused(lambda: bot.core.list_namespace())["message"] == (
        f'namespaces is forbidden: User "{user}" cannot list resource "namespaces" in API group "" at the cluster scope'
    )
    # a namespace's own URL is inside that namespace, as kube-apiserver's request info has it
    deleted = refused(lambda: bot.core.delete_namespace(ns))
    assert deleted["message"] == (
        f'namespaces "{ns}" is forbidden: User "{user}" cannot delete resource "namespaces" in API group "" '
        f'in the namespace "{ns}"'
    )
    assert deleted["details"] == {"name": ns, "kind": "namespaces"}
    status = refused(lambda: bot.core.read_namespace_status(ns))
    assert 'cannot get resource "namespaces/status" in API group ""' in status["message"]
    last = emu.requests[-1]
    assert (last.user, last.authz_verb, last.status) == (user, "get", 403)
    assert [d.attributes.subresource for d in last.denied] == ["status"]


def test_role_binding_grants_in_its_namespace_only(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    other = f"{ns}-other"[:63]
    k8s.core.create_namespace({"metadata": {"name": other}})
    bot = as_account(emu, k8s, ns)
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}])
    assert bot.core.read_namespaced_config_map("kube-root-ca.crt", ns).metadata.name == "kube-root-ca.crt"
    refused(lambda: bot.core.list_namespaced_config_map(other))
    refused(lambda: bot.core.list_config_map_for_all_namespaces())
    # a ClusterRole bound by a RoleBinding is just as confined
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}], cluster="namespace")
    assert bot.core.list_namespaced_secret(ns).items == []
    refused(lambda: bot.core.list_namespaced_secret(other))
    # a ClusterRoleBinding grants everywhere, all namespaces at once included
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}], cluster="cluster")
    assert bot.core.list_service_for_all_namespaces().items is not None
    assert bot.core.list_namespaced_service(other).items == []


def test_watch_needs_watch(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot = as_account(emu, k8s, ns)
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}])
    version = bot.core.list_namespaced_config_map(ns).metadata.resource_version
    stream = kubernetes.watch.Watch().stream(
        bot.core.list_namespaced_config_map, ns, resource_version=version, timeout_seconds=1
    )
    with pytest.raises(ApiException) as exc:
        list(stream)
    assert exc.value.status == 403
    assert json.loads(exc.value.body)["message"] == (
        f'configmaps is forbidden: User "{sa_user(ns)}" cannot watch resource "configmaps" in API group "" '
        f'in the namespace "{ns}"'
    )
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["watch"]}])
    events = kubernetes.watch.Watch().stream(
        bot.core.list_namespaced_config_map, ns, resource_version=version, timeout_seconds=1
    )
    assert list(events) == []


def test_resource_names_limit_named_requests_only(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    for name in ("mine", "theirs"):
        k8s.core.create_namespaced_config_map(ns, configmap(name, a="1"))
    rule = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["mine"],
        "verbs": ["get", "list", "create"],
    }
    grant(k8s, ns, [rule])
    assert bot.core.read_namespaced_config_map("mine", ns).data == {"a": "1"}
    assert refused(lambda: bot.core.read_namespaced_config_map("theirs", ns))["message"] == (
        f'configmaps "theirs" is forbidden: User "{user}" cannot get resource "configmaps" in API group "" '
        f'in the namespace "{ns}"'
    )
    refused(lambda: bot.core.list_namespaced_config_map(ns))  # a list names nothing
    refused(lambda: bot.core.create_namespaced_config_map(ns, configmap("mine")))  # nor does a create
    # a list selecting one name by field is a request for that name
    selected = bot.core.list_namespaced_config_map(ns, field_selector="metadata.name=mine")
    assert [c.metadata.name for c in selected.items] == ["mine"]


def test_server_side_apply_that_creates_needs_create(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"]}])
    path = f"/api/v1/namespaces/{ns}/configmaps/applied"
    status, body = apply(bot.api, path, configmap("applied", a="1"))
    # kube-apiserver reports the denied create with RBAC's (empty) reason
    assert (status, body["message"]) == (403, 'configmaps "applied" is forbidden: ')
    assert body["details"] == {"name": "applied", "kind": "configmaps"}
    request = emu.requests[-1]
    assert (request.verb, request.authz_verb, request.user) == ("apply", "patch", user)
    assert [(d.attributes.verb, d.allowed, d.via) for d in request.checks] == [
        ("patch", True, "request"),
        ("create", False, "create"),
    ]
    k8s.core.create_namespaced_config_map(ns, configmap("applied", a="0"))
    assert apply(bot.api, path, configmap("applied", a="1"))[0] == 200  # an existing object needs patch only
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}])
    assert apply(bot.api, f"/api/v1/namespaces/{ns}/configmaps/created", configmap("created", a="1"))[0] == 201


def test_subresource_rules(emu: KubeEmulator, k8s: Clients, ns: str, deployment) -> None:
    bot = as_account(emu, k8s, ns)
    k8s.apps.create_namespaced_deployment(ns, deployment("web", replicas=0))
    grant(k8s, ns, [{"apiGroups": ["apps"], "resources": ["*/status"], "verbs": ["get"]}])
    assert bot.apps.read_namespaced_deployment_status("web", ns).metadata.name == "web"
    refused(lambda: bot.apps.read_namespaced_deployment("web", ns))


def test_missing_role_is_named_in_the_reason(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": f"{ns}-ghost"}
    subjects = [{"kind": "ServiceAccount", "name": "bot", "namespace": ns}]
    k8s.rbac.create_namespaced_role_binding(ns, {"metadata": {"name": "ghost"}, "roleRef": ref, "subjects": subjects})
    assert refused(lambda: bot.core.list_namespaced_pod(ns))["message"] == (
        f'pods is forbidden: User "{user}" cannot list resource "pods" in API group "" in the namespace "{ns}": '
        f'RBAC: clusterrole.rbac.authorization.k8s.io "{ns}-ghost" not found'
    )


def test_roles_grant_only_what_their_writer_holds(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    writer = {"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["create", "update"]}
    grant(k8s, ns, [writer, {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}])
    held = {
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
    }
    assert bot.rbac.create_namespaced_role(ns, held).metadata.name == "pod-reader"
    wanted = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["get"]},
    ]
    body = refused(lambda: bot.rbac.create_namespaced_role(ns, {"metadata": {"name": "greedy"}, "rules": wanted}))
    assert body["message"] == (
        f'roles.rbac.authorization.k8s.io "greedy" is forbidden: user "{user}" (groups={groups(ns)}) is attempting '
        "to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}\n'
        '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get"]}'
    )
    assert body["details"] == {"name": "greedy", "group": RBAC, "kind": "roles"}
    held["rules"][0]["verbs"].append("delete")
    refused(lambda: bot.rbac.replace_namespaced_role("pod-reader", ns, held))  # updates are checked too
    # with escalate on roles, a Role may grant anything
    grant(k8s, ns, [{"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]}])
    assert bot.rbac.create_namespaced_role(ns, {"metadata": {"name": "greedy"}, "rules": wanted}).metadata.name


def test_bindings_need_bind_or_the_permissions_they_grant(emu: KubeEmulator, k8s: Clients, ns: str) -> None:
    bot, user = as_account(emu, k8s, ns), sa_user(ns)
    grant(k8s, ns, [{"apiGroups": [RBAC], "resources": ["rolebindings"], "verbs": ["create"]}])
    for name, verbs in (("viewer", ["get"]), ("editor", ["get", "update"])):
        rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]
        k8s.rbac.create_cluster_role({"metadata": {"name": f"{ns}-{name}"}, "rules": rules})

    def bind(role: str, name: str) -> Any:
        ref = {"apiGroup": RBAC, "kind": "ClusterRole", "name": f"{ns}-{role}"}
        subjects = [{"kind": "User", "name": "someone"}]
        return bot.rbac.create_namespaced_role_binding(
            ns, {"metadata": {"name": name}, "roleRef": ref, "subjects": subjects}
        )

    assert refused(lambda: bind("viewer", "b"))["message"] == (
        f'rolebindings.rbac.authorization.k8s.io "b" is forbidden: user "{user}" (groups={groups(ns)}) is '
        "attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["configmaps"], Verbs:["get"]}'
    )
    # bind, limited by resourceNames to one role, allows binding that role and no other
    bind_one = {
        "apiGroups": [RBAC],
        "resources": ["clusterroles"],
        "verbs": ["bind"],
        "resourceNames": [f"{ns}-viewer"],
    }
    grant(k8s, ns, [bind_one])
    assert bind("viewer", "b").role_ref.name == f"{ns}-viewer"
    refused(lambda: bind("editor", "c"))
    # holding every permission of the role works as well as bind
    grant(k8s, ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "update"]}])
    assert bind("editor", "c").role_ref.name == f"{ns}-editor"
    missing = refused(lambda: bind("nonexistent", "d"), 404)
    assert missing["message"] == f'clusterroles.rbac.authorization.k8s.io "{ns}-nonexistent" not found'


def test_cluster_wide_rbac_and_admission_objects_are_served(k8s: Clients, ns: str) -> None:
    admission = kubernetes.client.AdmissionregistrationV1Api(k8s.api)
    policy = {
        "metadata": {"name": f"{ns}-policy"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["namespaces"]}
                ]
            },
            "validations": [{"expression": "true"}],
        },
    }
    created = admission.create_validating_admission_policy(policy)
    assert created.metadata.generation == 1
    binding = {
        "metadata": {"name": f"{ns}-policy"},
        "spec": {"policyName": f"{ns}-policy", "validationActions": ["Deny"]},
    }
    admission.create_validating_admission_policy_binding(binding)
    assert f"{ns}-policy" in [p.metadata.name for p in admission.list_validating_admission_policy().items]
    names = [r.metadata.name for r in k8s.rbac.list_cluster_role().items]
    assert {"cluster-admin", "system:discovery", "system:public-info-viewer"} <= set(names)
    assert "cluster-admin" in [b.metadata.name for b in k8s.rbac.list_cluster_role_binding().items]
    resources = kubernetes.client.AdmissionregistrationV1Api(k8s.api).get_api_resources().resources
    assert {"validatingadmissionpolicies", "validatingadmissionpolicybindings"} <= {r.name for r in resources}


def test_anonymous_requests_as_on_a_real_cluster() -> None:
    with KubeEmulator(anonymous_as_admin=False) as emu:
        with urllib.request.urlopen(f"{emu.url}/healthz", timeout=5) as ok:
            assert ok.status == 200
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{emu.url}/api/v1/namespaces", timeout=5)
        assert exc.value.code == 403
        assert json.loads(exc.value.read())["message"] == (
            'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" '
            "at the cluster scope"
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{emu.url}/apis", timeout=5)
        body = json.loads(exc.value.read())
        assert (body["message"], body["details"]) == ('forbidden: User "system:anonymous" cannot get path "/apis"', {})
