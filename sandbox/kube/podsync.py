"""Kubelet loop: schedules pods onto the sandbox node, advances their status and finishes deletions."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .kubelet import NODE_NAME, Timeline, pod_status
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
    status, next_change = pod_status(pod, sim, Timeline(mem["wall"], ctx.speed), mem["ip"])
    if next_change is not None:
        ctx.loop.add_after(max(0.0, (next_change - sim) / ctx.speed) + 0.005, key)
    ctx.write_status(POD, pod, status, KUBELET)


def _terminate(ctx: ControllerManager, pod: dict[str, Any], key: tuple[str, str, str]) -> None:
    mem = ctx.memory.setdefault(pod["metadata"]["uid"], {})
    if "terminating" not in mem:
        mem["terminating"] = ctx.now()
        grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
        mem["grace"] = min(grace, TERMINATION_SECONDS)
    remaining = mem["terminating"] + ctx.scaled(mem["grace"]) - ctx.now()
    if remaining > 0:
        ctx.loop.add_after(remaining + 0.005, key)
        return
    if pod["metadata"].get("finalizers"):
        return
    ctx.store.delete(POD, key[1], key[2], grace_seconds=0)
    ctx.memory.pop(pod["metadata"]["uid"], None)
