"""The table of served resource types and the discovery documents built from it."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SERVER_VERSION = {
    "major": "1",
    "minor": "36",
    "emulationMajor": "1",
    "emulationMinor": "36",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "35",
    "gitVersion": "v1.36.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-04-22T00:00:00Z",
    "goVersion": "go1.25.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class ResourceType:
    """One REST resource, e.g. ``deployments`` in ``apps/v1``."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    name_rule: str = "subdomain"  # subdomain | label | dns1035 | path (any one URL path segment)
    has_spec: bool = True
    verbs: tuple[str, ...] = field(default_factory=lambda: tuple(ALL_VERBS))
    create_on_update: bool = False  # a PUT of a missing object creates it (the registry's AllowCreateOnUpdate)
    unconditional_update: bool = True  # a PUT without metadata.resourceVersion overwrites (AllowUnconditionalUpdate)

    @property
    def api_version(self) -> str:
        """``apps/v1`` or ``v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Store key, e.g. ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(group: str, plural: str, kind: str, **kw: Any) -> ResourceType:
    return ResourceType(group=group, version="v1", plural=plural, singular=kind.lower(), kind=kind, **kw)


RESOURCES: list[ResourceType] = [
    _r(
        "",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        name_rule="label",
        subresources=("status", "finalize"),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _r("", "configmaps", "ConfigMap", short_names=("cm",), has_spec=False),
    _r("", "secrets", "Secret", has_spec=False),
    _r(
        "",
        "services",
        "Service",
        short_names=("svc",),
        categories=("all",),
        name_rule="dns1035",
        subresources=("status",),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
    ),
    _r("", "serviceaccounts", "ServiceAccount", short_names=("sa",), has_spec=False),
    _r("", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",)),
    _r("", "limitranges", "LimitRange", short_names=("limits",)),
    _r("", "pods", "Pod", short_names=("po",), categories=("all",), subresources=("status", "log")),
    _r("", "events", "Event", short_names=("ev",), has_spec=False),
    _r(
        "apps",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        categories=("all",),
        subresources=("status", "scale"),
    ),
    _r("apps", "replicasets", "ReplicaSet", short_names=("rs",), categories=("all",), subresources=("status", "scale")),
    _r("discovery.k8s.io", "endpointslices", "EndpointSlice", has_spec=False),
    _r("networking.k8s.io", "ingresses", "Ingress", short_names=("ing",), subresources=("status",)),
    _r("networking.k8s.io", "networkpolicies", "NetworkPolicy", short_names=("netpol",)),
    _r("coordination.k8s.io", "leases", "Lease", create_on_update=True, unconditional_update=False),
    _r("rbac.authorization.k8s.io", "roles", "Role", has_spec=False, name_rule="path"),
    _r("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", has_spec=False, name_rule="path"),
    _r("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", namespaced=False, has_spec=False, name_rule="path"),
    _r(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
        has_spec=False,
        name_rule="path",
    ),
    _r(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        namespaced=False,
        categories=("api-extensions",),
        subresources=("status",),
    ),
    _r(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        namespaced=False,
        categories=("api-extensions",),
    ),
]

BY_KEY: dict[str, ResourceType] = {r.key: r for r in RESOURCES}
BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCES}
GROUPS: list[str] = sorted({r.group for r in RESOURCES if r.group})


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """Find a resource by its URL coordinates."""
    res = BY_KEY.get(f"{plural}.{group}" if group else plural)
    if res is None or res.version != version:
        return None
    return res


def resolve(resource: str) -> ResourceType:
    """Accept ``deployments``, ``deployments.apps`` or a kind name."""
    if resource in BY_PLURAL:
        return BY_PLURAL[resource]
    if resource in BY_KEY:
        return BY_KEY[resource]
    for res in RESOURCES:
        if resource in (res.kind, res.singular) or resource in res.short_names:
            return res
    raise KeyError(resource)


def _entry(res: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    digest = hashlib.sha256(res.key.encode()).digest()
    entry["storageVersionHash"] = base64.b64encode(digest).decode()[:11]
    return entry


def _sub_entry(res: ResourceType, sub: str) -> dict[str, Any]:
    kind = {"scale": "Scale", "log": "Pod"}.get(sub, res.kind)
    verbs = {"log": ["get"], "finalize": ["update"]}.get(sub, ["get", "patch", "update"])
    entry: dict[str, Any] = {
        "name": f"{res.plural}/{sub}",
        "singularName": "",
        "namespaced": res.namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if sub == "scale":
        entry["group"] = "autoscaling"
        entry["version"] = "v1"
    return entry


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``APIResourceList`` for one group version, or None when not served."""
    entries: list[dict[str, Any]] = []
    for res in RESOURCES:
        if res.group == group and res.version == version:
            entries.append(_entry(res))
            entries.extend(_sub_entry(res, sub) for sub in res.subresources)
    if not entries:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": entries,
    }


def core_versions() -> dict[str, Any]:
    """The ``/api`` document."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def _group(name: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def group_list() -> dict[str, Any]:
    """The ``/apis`` document."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS]}


def group_doc(name: str) -> dict[str, Any] | None:
    """The ``/apis/<group>`` document."""
    if name not in GROUPS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}
