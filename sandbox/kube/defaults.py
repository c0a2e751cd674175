"""Defaulting of built-in types, as the API server does on every write."""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from .imageref import tag_of
from .quantity import normalised

_ips = itertools.count(10)
_ips_lock = threading.Lock()


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        image = str(c.get("image", ""))
        c.setdefault("imagePullPolicy", "Always" if tag_of(image) == "latest" else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")


def _requests_from_limits(spec: dict[str, Any]) -> None:
    """A Pod's (not a template's) containers request what they limit unless they say otherwise."""
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = c.get("resources") if isinstance(c, dict) else None
        if isinstance(resources, dict) and resources.get("limits"):
            requests = resources.setdefault("requests", {})
            for key, value in resources["limits"].items():
                requests.setdefault(key, value)


def _limit_range(spec: dict[str, Any]) -> None:
    """Canonical quantities; a Container item's ``default`` from ``max``, ``defaultRequest`` from ``default``
    then ``min``."""
    for item in spec.get("limits") or []:
        if not isinstance(item, dict):
            continue
        for field in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            if isinstance(item.get(field), dict):
                item[field] = {k: normalised(v) for k, v in item[field].items()}
        if item.get("type") == "Container":
            default = item.setdefault("default", {})
            request = item.setdefault("defaultRequest", {})
            for key, value in (item.get("max") or {}).items():
                default.setdefault(key, value)
            for source in (default, item.get("min") or {}):
                for key, value in source.items():
                    request.setdefault(key, value)
            for field in ("default", "defaultRequest"):
                if not item[field]:
                    del item[field]


def _workload(spec: dict[str, Any], deployment: bool) -> None:
    spec.setdefault("replicas", 1)
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    _pod_spec(template.setdefault("spec", {}))
    if deployment:
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxSurge", "25%")
            ru.setdefault("maxUnavailable", "25%")


def _service(spec: dict[str, Any], old: dict[str, Any] | None) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        old_spec = (old or {}).get("spec") or {}
        if not spec.get("clusterIP"):
            if old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
            else:
                with _ips_lock:
                    n = next(_ips)
                spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "port" in p:
                p.setdefault("targetPort", p["port"])


def apply_defaults(kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Fill defaulted fields in place."""
    if kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", obj["metadata"].get("name", ""))
    elif kind == "Deployment":
        _workload(obj.setdefault("spec", {}), True)
        obj.setdefault("status", {})
    elif kind == "ReplicaSet":
        _workload(obj.setdefault("spec", {}), False)
        obj.setdefault("status", {}).setdefault("replicas", 0)
    elif kind == "Pod":
        spec = obj.setdefault("spec", {})
        _pod_spec(spec)
        _requests_from_limits(spec)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        obj["status"].setdefault("qosClass", "BestEffort")
    elif kind == "LimitRange":
        _limit_range(obj.setdefault("spec", {}))
    elif kind == "ResourceQuota":
        hard = obj.setdefault("spec", {}).get("hard")
        if isinstance(hard, dict):
            obj["spec"]["hard"] = {k: normalised(v) for k, v in hard.items()}
    elif kind == "Service":
        _service(obj.setdefault("spec", {}), old)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "Ingress":
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
