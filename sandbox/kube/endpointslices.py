"""Simulated EndpointSlice controller: the endpoints of every Service with a selector, from its pods.

As kube-controller-manager's: a Service with a non-empty ``spec.selector`` (and not ``ExternalName``) gets
one ``IPv4`` slice per distinct set of resolved ports (in practice one), named ``<service>-<5 chars>``,
labelled with the Service's labels plus ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by``, and controlled by the Service (so the garbage collector deletes
it with the Service). A selected pod is listed while it has an IP and is not terminal; a Service without
such pods keeps a placeholder slice with ``endpoints`` and ``ports`` null. Existing slices are rewritten in
place (names stay stable); slices of this controller that the Service does not own are deleted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

SLICE = BY_KEY["endpointslices.discovery.k8s.io"]
SERVICE = BY_KEY["services"]
POD = BY_KEY["pods"]
MANAGER = "kube-controller-manager"
CONTROLLER = "endpointslice-controller.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
HEADLESS = "service.kubernetes.io/headless"

Group = tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]  # (ports, endpoints); None = null


def _condition(pod: dict[str, Any], kind: str) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conds)


def _pod_ips(pod: dict[str, Any]) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(i.get("ip")) for i in status.get("podIPs") or [] if i.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return [ip for ip in ips if ":" not in ip]  # the IPv4 addresses


def in_endpoints(pod: dict[str, Any]) -> bool:
    """Whether a selected pod is listed: it has an IP and has not finished (terminating pods are listed)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and bool(_pod_ips(pod))


def _find_port(pod: dict[str, Any], port: dict[str, Any]) -> int | None:
    """The pod port a Service port targets: a container port by name (and protocol), or the number itself."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in list(spec.get("containers") or []) + sidecars:
        for cport in container.get("ports") or []:
            if cport.get("name") == target and cport.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return int(cport["containerPort"])
    return None


def _ports(svc: dict[str, Any], pod: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for port in (svc.get("spec") or {}).get("ports") or []:
        number = _find_port(pod, port)
        if number is None:
            continue  # a named port the pod does not have
        entry: dict[str, Any] = {"name": port.get("name", ""), "protocol": port.get("protocol", "TCP"), "port": number}
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        out.append(entry)
    return out


def _endpoint(svc: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    serving = _condition(pod, "Ready")
    terminating = bool(meta.get("deletionTimestamp"))
    ready = bool((svc.get("spec") or {}).get("publishNotReadyAddresses")) or (serving and not terminating)
    ep: dict[str, Any] = {
        "addresses": _pod_ips(pod),
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
    }
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        ep["hostname"] = spec["hostname"]
    ep["targetRef"] = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    return ep


def _selected(selector: dict[str, str], pod: dict[str, Any]) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def desired_groups(svc: dict[str, Any], pods: list[dict[str, Any]]) -> list[Group]:
    """The slices a Service should have: ``(ports, endpoints)`` per port set, or one placeholder."""
    selector = (svc.get("spec") or {}).get("selector") or {}
    groups: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for pod in pods:
        if _selected(selector, pod) and in_endpoints(pod):
            ports = _ports(svc, pod)
            group = groups.setdefault(json.dumps(ports, sort_keys=True), (ports, []))
            group[1].append(_endpoint(svc, pod))
    if not groups:
        return [(None, None)]
    return [(ports or None, eps) for _, (ports, eps) in sorted(groups.items())]


def _labels(svc: dict[str, Any]) -> dict[str, str]:
    labels = {
        k: v for k, v in (svc["metadata"].get("labels") or {}).items() if k not in (SERVICE_NAME, MANAGED_BY, HEADLESS)
    }
    if (svc.get("spec") or {}).get("clusterIP") in (None, "", "None"):
        labels[HEADLESS] = ""
    labels[SERVICE_NAME] = svc["metadata"]["name"]
    labels[MANAGED_BY] = CONTROLLER
    return labels


def _owner(svc: dict[str, Any]) -> dict[str, Any]:
    meta = svc["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(slice_: dict[str, Any], svc: dict[str, Any]) -> bool:
    uid = svc["metadata"]["uid"]
    return any(r.get("uid") == uid and r.get("controller") for r in slice_["metadata"].get("ownerReferences") or [])


def _write(ctx: ControllerManager, svc: dict[str, Any], group: Group, current: dict[str, Any] | None) -> None:
    ports, endpoints = group
    namespace = svc["metadata"]["namespace"]
    if current is None:
        meta: dict[str, Any] = {"generateName": svc["metadata"]["name"] + "-"}
        new: dict[str, Any] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta}
    else:
        new = current
        meta = new["metadata"]
    meta["labels"] = _labels(svc)
    meta["ownerReferences"] = [_owner(svc)]
    new.update({"addressType": "IPv4", "endpoints": endpoints, "ports": ports})
    if current is None:
        try:
            ctx.store.create(SLICE, namespace, new, manager=MANAGER)
        except ApiError as exc:
            if exc.code not in (403, 404):  # the namespace is being deleted, or gone
                raise
    elif new != ctx.store.peek(SLICE, namespace, meta["name"]):
        ctx.store.update(SLICE, namespace, meta["name"], new, manager=MANAGER)


def _delete(ctx: ControllerManager, slice_: dict[str, Any]) -> None:
    try:
        ctx.store.delete(SLICE, slice_["metadata"]["namespace"], slice_["metadata"]["name"])
    except ApiError as exc:
        if exc.code != 404:
            raise


def reconcile(ctx: ControllerManager, svc: dict[str, Any], pods: list[dict[str, Any]]) -> None:
    """Bring one Service's slices to the desired state, reusing existing slices before creating new ones."""
    spec, meta = svc.get("spec") or {}, svc["metadata"]
    if not spec.get("selector") or spec.get("type") == "ExternalName" or meta.get("deletionTimestamp"):
        return  # such Services get no slices from this controller (existing ones are left alone)
    existing = [
        s
        for s in ctx.store.list(SLICE, meta["namespace"])[0]
        if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == meta["name"]
        and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER
    ]
    owned = [s for s in existing if _owned_by(s, svc)]
    for stale in existing:
        if not _owned_by(stale, svc):
            _delete(ctx, stale)
    unmatched: list[Group] = []
    for group in desired_groups(svc, pods):
        match = next((s for s in owned if s.get("ports") == group[0]), None)
        if match is None:
            unmatched.append(group)
        else:
            owned.remove(match)
            _write(ctx, svc, group, match)
    for group in unmatched:
        _write(ctx, svc, group, owned.pop(0) if owned else None)
    for leftover in owned:
        _delete(ctx, leftover)


def sync(ctx: ControllerManager, namespace: str) -> None:
    """Reconcile the slices of every Service in a namespace (after a Service, pod or slice change there)."""
    services = ctx.store.list(SERVICE, namespace)[0]
    if not services:
        return  # slices of deleted Services go with the garbage collector
    pods = ctx.store.list(POD, namespace)[0]
    for svc in services:
        reconcile(ctx, svc, pods)
