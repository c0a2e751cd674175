"""Previews are isolated from each other by policy: two real previews, and what their NetworkPolicies admit.

Kubernetes enforces NetworkPolicies in the network plugin, not the API server, so the test evaluates the
stored policies the way the plugin does: a pod may reach a preview's pod only if some ingress rule of a policy
selecting that pod has a peer matching the sender (its pod labels, in its namespace).
"""

from __future__ import annotations

from preview import naming
from tests.e2e.conftest import REPO, SECRET
from tests.e2e.harness import Stack
from tests.helpers import wait_for


def _matches(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels") or {}
    assert not selector.get("matchExpressions"), "the evaluator knows matchLabels only"
    return all(labels.get(k) == v for k, v in wanted.items())


def admits(kube, namespace: str, sender_namespace: str, sender_labels: dict) -> bool:
    """Whether the policies of ``namespace`` let a pod (``sender_labels`` in ``sender_namespace``) in."""
    sender_ns_labels = next(
        n["metadata"].get("labels", {}) for n in kube.objects("namespaces") if n["metadata"]["name"] == sender_namespace
    )
    policies = [p for p in kube.objects("networkpolicies", namespace) if "Ingress" in p["spec"]["policyTypes"]]
    assert policies, f"no ingress policy in {namespace}: everything may reach it"
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                in_namespace = (
                    _matches(peer["namespaceSelector"], sender_ns_labels)
                    if "namespaceSelector" in peer
                    else sender_namespace == namespace
                )
                if in_namespace and _matches(peer.get("podSelector", {}), sender_labels):
                    return True
    return False


def test_previews_cannot_reach_each_other(gh, kube, stack: Stack) -> None:
    names = []
    for number in (71, 72):
        sha = gh.open_pr(REPO, number, branch=f"isolated-{number}")["head"]["sha"]
        delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", "opened", REPO, number)
        assert delivery.status_code == 202
        name = naming.namespace_name(REPO, number)
        wait_for(lambda name=name, sha=sha: any(s["state"] == "success" for s in gh.statuses(REPO, sha)), 60)
        names.append(name)
    first, second = names
    pod = {"app": "web"}
    assert not admits(kube, first, second, pod) and not admits(kube, second, first, pod)
    assert admits(kube, first, first, pod), "pods of a preview reach each other (an app and its database)"
    kube_objects = kube.objects("namespaces")
    if not [n for n in kube_objects if n["metadata"]["name"] == "ingress-nginx"]:
        from kubernetes import client

        client.CoreV1Api(kube.api_client()).create_namespace({"metadata": {"name": "ingress-nginx"}})
    assert admits(kube, first, "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}), "the ingress controller"
