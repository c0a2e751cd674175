"""Kubelet loop: schedules pods onto the sandbox node, advances their status and finishes deletions."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from . import imageref, nonroot, pullauth
from .clock import rfc3339
from .envcheck import config_error
from .errors import ApiError
from .kubelet import NODE_NAME, PULL_SECONDS, SYNC_RETRY_SECONDS, PodRef, Timeline, image_mode
from .podstatus import pod_status, stopped_status
from .resources import BY_KEY

if TYPE_CHECKING:
    from .controllers import ControllerManager

POD = BY_KEY["pods"]
KUBELET = "kubelet"
SCHEDULER = "default-scheduler"
TERMINATION_SECONDS = 1.0
_ips = itertools.count(2)
_ips_lock = threading.Lock()


def _pod_ip() -> str:
    with _ips_lock:
        n = next(_ips)
    return f"10.244.{n // 250}.{n % 250 + 1}"


def _creatable(container: dict[str, Any]) -> bool:
    image = str(container.get("image", ""))
    return imageref.invalid_name_message(image) is None and image_mode(image) != "fail-pull"


def _create_containers(
    ctx: ControllerManager, pod: dict[str, Any], mem: dict[str, Any], sim: float, denied: frozenset[str] = frozenset()
) -> float | None:
    """Create the containers whose image is there, at the kubelet's sync times: once the image is pulled,
    then every ``SYNC_RETRY_SECONDS`` while a container's configuration cannot be built.
    Returns the simulated time of the next attempt, if one is needed."""
    starts: dict[str, float] = mem.setdefault("starts", {})
    errors: dict[str, str] = mem.setdefault("config_errors", {})
    if sim < PULL_SECONDS:
        return None
    attempt = int((sim - PULL_SECONDS) // SYNC_RETRY_SECONDS)
    pending = [
        c
        for c in (pod.get("spec") or {}).get("containers") or []
        if _creatable(c) and c.get("name") not in starts and c.get("name") not in denied
    ]
    if pending and mem.get("attempt") != attempt:
        mem["attempt"] = attempt
        meta = pod["metadata"]
        namespace = meta.get("namespace", "")
        pod_ref = str(PodRef(meta["name"], namespace, meta["uid"]))
        for container in pending:
            problem = config_error(ctx.store, namespace, container) or nonroot.error(pod, container, pod_ref)
            if problem:
                errors[container["name"]] = problem
            else:
                starts[container["name"]] = PULL_SECONDS + attempt * SYNC_RETRY_SECONDS
                errors.pop(container["name"], None)
    if any(c.get("name") not in starts for c in pending):
        return PULL_SECONDS + (attempt + 1) * SYNC_RETRY_SECONDS
    return None


def sync(ctx: ControllerManager, namespace: str, name: str) -> None:
    """Reconcile one pod."""
    try:
        pod = ctx.store.get(POD, namespace, name)
    except ApiError:
        return
    uid = pod["metadata"]["uid"]
    key = ("pod", namespace, name)
    if pod["metadata"].get("deletionTimestamp"):
        _terminate(ctx, pod, key)
        return
    if not (pod.get("spec") or {}).get("nodeName"):
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = NODE_NAME
        ctx.store.update(POD, namespace, name, bound, manager=SCHEDULER)
        return
    mem = ctx.memory.setdefault(uid, {})
    if "started" not in mem:
        mem["started"] = ctx.now()
        mem["wall"] = time.time()
        mem["ip"] = _pod_ip()
    sim = (ctx.now() - mem["started"]) * ctx.speed
    denied = pullauth.denied(ctx.store, namespace, pod)  # private images the pod has no credentials for
    retry = _create_containers(ctx, pod, mem, sim, denied)
    line = Timeline(mem["wall"], ctx.speed)
    errors = mem.get("config_errors", {})
    status, next_change = pod_status(pod, sim, line, mem["ip"], mem.get("starts", {}), errors, denied)
    wake = min((t for t in (next_change, retry) if t is not None), default=None)
    if wake is not None:
        ctx.loop.add_after(max(0.0, (wake - sim) / ctx.speed) + 0.005, key)
    ctx.write_status(POD, pod, status, KUBELET)


def _terminate(ctx: ControllerManager, pod: dict[str, Any], key: tuple[str, str, str]) -> None:
    """Stop the containers within the grace period, report the final status, then remove the pod."""
    mem = ctx.memory.setdefault(pod["metadata"]["uid"], {})
    if "terminating" not in mem:
        mem["terminating"] = ctx.now()
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        mem["grace"] = min(grace, TERMINATION_SECONDS)
    remaining = mem["terminating"] + ctx.scaled(mem["grace"]) - ctx.now()
    if remaining > 0:
        ctx.loop.add_after(remaining + 0.005, key)
        return
    ran = (pod.get("spec") or {}).get("nodeName") and (pod.get("status") or {}).get("containerStatuses")
    if ran and not mem.get("stopped"):
        mem["stopped"] = True
        ctx.write_status(POD, pod, stopped_status(pod, rfc3339()), KUBELET)
    if pod["metadata"].get("finalizers"):
        return
    ctx.store.delete(POD, key[1], key[2], grace_seconds=0)
    ctx.memory.pop(pod["metadata"]["uid"], None)
