"""Controller manager: routes store changes to the simulated controllers and the kubelet."""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from typing import Any

from . import deployments, endpointslices, gc, namespaces, podsync, quotacontroller, replicasets
from .errors import ApiError
from .resources import BY_KEY, RESOURCES, ResourceType
from .store import Event, Store
from .workqueue import WorkLoop

log = logging.getLogger(__name__)

CONTROLLER_MANAGER = "kube-controller-manager"
KUBELET = "kubelet"
DEPLOY = BY_KEY["deployments.apps"]
RS = BY_KEY["replicasets.apps"]
POD = BY_KEY["pods"]
NS = BY_KEY["namespaces"]
QUOTA_SOURCES = {POD.key, BY_KEY["resourcequotas"].key}
ENDPOINT_SOURCES = {POD.key, BY_KEY["services"].key, BY_KEY["endpointslices.discovery.k8s.io"].key}
KIND_TO_RES = {r.kind: r for r in RESOURCES}


class ControllerManager:
    """Shared context of all simulated controllers (one worker thread, event driven, with timers)."""

    def __init__(self, store: Store, speed: float = 1.0) -> None:
        self.store = store
        self.speed = speed if speed > 0 else 1.0
        self.memory: dict[str, Any] = {}  # per-object controller state keyed by uid
        self.loop = WorkLoop(self._handle)
        store.subscribe(self._on_event)

    def start(self) -> None:
        """Start reconciling."""
        self.loop.start()

    def stop(self) -> None:
        """Stop reconciling."""
        self.loop.stop()

    def scaled(self, seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return seconds / self.speed

    def now(self) -> float:
        """Monotonic clock used for simulated timing."""
        return time.monotonic()

    def after(self, seconds: float, key: Hashable) -> None:
        """Re-run ``key`` after a simulated duration."""
        self.loop.add_after(self.scaled(seconds), key)

    # -- routing ---------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        meta = event.obj.get("metadata") or {}
        ns, name = event.namespace, meta.get("name", "")
        if event.key == DEPLOY.key:
            self.loop.add(("deployment", ns, name))
        elif event.key == RS.key:
            self.loop.add(("replicaset", ns, name))
        elif event.key == POD.key:
            self.loop.add(("pod", ns, name))
        elif event.key == NS.key:
            self.loop.add(("namespace", "", name))
        if event.key in ENDPOINT_SOURCES:
            self.loop.add(("endpointslices", ns))
        if event.key in QUOTA_SOURCES:
            self.loop.add(("quota", ns))
        for ref in meta.get("ownerReferences") or []:
            owner = {"Deployment": "deployment", "ReplicaSet": "replicaset"}.get(ref.get("kind", ""))
            if owner:
                self.loop.add((owner, ns, ref.get("name", "")))
        if event.type == "DELETED":
            self.loop.add(("orphans", ns, meta.get("uid", "")))
            for ref in meta.get("ownerReferences") or []:
                owner_res = KIND_TO_RES.get(ref.get("kind", ""))
                if owner_res is not None:
                    owner_ns = ns if owner_res.namespaced else ""
                    self.loop.add(("dependents", owner_res.key, owner_ns, ref.get("name", "")))
        elif meta.get("deletionTimestamp"):
            fins = meta.get("finalizers") or []
            if "foregroundDeletion" in fins or "orphan" in fins:
                self.loop.add(("dependents", event.key, ns, name))

    def _handle(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        try:
            kind = key[0]
            if kind == "deployment":
                deployments.sync(self, key[1], key[2])
            elif kind == "replicaset":
                replicasets.sync(self, key[1], key[2])
            elif kind == "pod":
                podsync.sync(self, key[1], key[2])
            elif kind == "namespace":
                namespaces.sync(self, key[2])
            elif kind == "endpointslices":
                endpointslices.sync(self, key[1])
            elif kind == "quota":
                quotacontroller.sync(self, key[1])
            elif kind == "orphans":
                gc.collect_orphans(self, key[1], key[2])
            elif kind == "dependents":
                gc.process_deleting_owner(self, BY_KEY[key[1]], key[2], key[3])
        except ApiError as exc:
            if exc.code in (409, 422, 403):
                log.debug("retrying %r after %s", key, exc)
                self.loop.add_after(0.05, key)
            elif exc.code != 404:
                raise

    # -- store helpers ---------------------------------------------------
    def owned(self, res: ResourceType, namespace: str | None, owner_uid: str) -> list[dict[str, Any]]:
        """Objects of ``res`` in ``namespace`` controlled by ``owner_uid``."""

        def match(obj: dict[str, Any]) -> bool:
            return any(r.get("uid") == owner_uid for r in obj["metadata"].get("ownerReferences") or [])

        return self.store.list(res, namespace, match)[0]

    def write_status(self, res: ResourceType, obj: dict[str, Any], status: dict[str, Any], manager: str) -> None:
        """Update the status subresource if it changed."""
        if obj.get("status") == status:
            return
        new = dict(obj)
        new["status"] = status
        self.store.update(
            res, obj["metadata"].get("namespace"), obj["metadata"]["name"], new, manager=manager, subresource="status"
        )
