"""Simulated kubelet: derives pod and container status from elapsed time and the image tag.

Image tag conventions (the tag is the part after the last ``:`` of the image's last path segment):

* ``fail-pull`` or ``fail-pull*`` - the pull fails: ``ErrImagePull`` then ``ImagePullBackOff``; never ready.
* ``crash`` or ``crash*`` - the container starts, exits with code 1 after a second and then cycles
  through ``CrashLoopBackOff`` with a growing ``restartCount``; never ready.
* ``slow`` or ``slow*`` - starts normally but becomes ready only after 60 simulated seconds.
* anything else - running after ~2 s, ready ~1 s later (or after ``readinessProbe.initialDelaySeconds``).

All durations are simulated seconds, divided by the emulator's ``speed``.
"""

from __future__ import annotations

from typing import Any

from .clock import rfc3339

PULL_SECONDS = 2.0
READY_SECONDS = 1.0
SLOW_READY_SECONDS = 60.0
CRASH_RUN_SECONDS = 1.0
PULL_BACKOFF_AFTER = 2.0
NODE_NAME = "sandbox-node"
HOST_IP = "10.0.0.10"


def image_mode(image: str) -> str:
    """``fail-pull``, ``crash``, ``slow`` or ``normal`` from an image reference."""
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if "@" not in last else ""
    for mode in ("fail-pull", "crash", "slow"):
        if tag.startswith(mode):
            return mode
    return "normal"


def _backoff(k: int) -> float:
    """Pause after crash number ``k`` (0-based): immediate first restart, then 10s doubling to 300s."""
    return 0.5 if k == 0 else min(10.0 * 2 ** (k - 1), 300.0)


class Timeline:
    """Maps simulated seconds since scheduling to wall-clock timestamps."""

    def __init__(self, wall_start: float, speed: float) -> None:
        self.wall_start = wall_start
        self.speed = speed

    def at(self, sim: float) -> str:
        return rfc3339(self.wall_start + sim / self.speed)


def container_status(
    container: dict[str, Any], t: float, line: Timeline, pod_name: str, index: int
) -> tuple[dict[str, Any], float | None, bool]:
    """Status of one container at simulated time ``t``: ``(status, next_change_at, running)``."""
    image = container.get("image", "")
    name = container.get("name", "")
    mode = image_mode(image)
    base: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
    }
    if mode == "fail-pull":
        if t < PULL_SECONDS:
            base["state"] = {"waiting": {"reason": "ContainerCreating"}}
            return base, PULL_SECONDS, False
        if t < PULL_SECONDS + PULL_BACKOFF_AFTER:
            base["state"] = {
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": f'failed to pull and unpack image "{image}": failed to resolve reference '
                    f'"{image}": {image}: not found',
                }
            }
            return base, PULL_SECONDS + PULL_BACKOFF_AFTER, False
        base["state"] = {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}
        return base, None, False
    if t < PULL_SECONDS:
        base["state"] = {"waiting": {"reason": "ContainerCreating"}}
        return base, PULL_SECONDS, False
    container_id = f"containerd://{abs(hash((pod_name, name))) % 16**16:016x}"
    base["imageID"] = f"docker.io/{image.split(':')[0]}@sha256:{abs(hash(image)) % 16**16:064x}"
    base["containerID"] = container_id
    if mode == "crash":
        return _crashing(base, t, line, pod_name)
    probe = container.get("readinessProbe") or {}
    ready_after = max(READY_SECONDS, float(probe.get("initialDelaySeconds") or 0))
    if mode == "slow":
        ready_after = max(ready_after, SLOW_READY_SECONDS)
    base["started"] = True
    base["state"] = {"running": {"startedAt": line.at(PULL_SECONDS)}}
    ready_at = PULL_SECONDS + ready_after
    if t >= ready_at:
        base["ready"] = True
        return base, None, True
    return base, ready_at, True


def _crashing(base: dict[str, Any], t: float, line: Timeline, pod_name: str) -> tuple[dict[str, Any], float, bool]:
    start, k = PULL_SECONDS, 0
    while True:
        crash_at = start + CRASH_RUN_SECONDS
        base["restartCount"] = k
        if t < crash_at:
            base["started"] = True
            base["state"] = {"running": {"startedAt": line.at(start)}}
            return base, crash_at, True
        terminated = {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": line.at(start),
            "finishedAt": line.at(crash_at),
            "containerID": base.get("containerID", ""),
        }
        restart_at = crash_at + _backoff(k)
        if t < restart_at:
            if k == 0:
                base["state"] = {"terminated": terminated}
            else:
                delay = int(_backoff(k))
                base["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {_duration(delay)} restarting failed container={base['name']} "
                        f"pod={pod_name}",
                    }
                }
                base["lastState"] = {"terminated": terminated}
            return base, restart_at, False
        base["lastState"] = {"terminated": terminated}
        start, k = restart_at, k + 1


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def pod_status(pod: dict[str, Any], t: float, line: Timeline, pod_ip: str) -> tuple[dict[str, Any], float | None]:
    """Full pod status at simulated time ``t`` plus the next simulated time it changes."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    statuses, changes, running, ready_all = [], [], False, True
    for i, container in enumerate(spec.get("containers") or []):
        status, change, is_running = container_status(container, t, line, name, i)
        statuses.append(status)
        if change is not None:
            changes.append(change)
        running = running or is_running or status["restartCount"] > 0
        ready_all = ready_all and status["ready"]
    started = line.at(0)
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    ready_cond = "True" if ready_all else "False"

    def cond(kind: str, value: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": started}
        c.update(extra or {})
        return c

    unready = (
        {"reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(not_ready)}]"}
        if not_ready
        else {}
    )
    conditions = [
        cond("PodReadyToStartContainers", "True"),
        cond("Initialized", "True"),
        cond("Ready", ready_cond, unready),
        cond("ContainersReady", ready_cond, unready),
        cond("PodScheduled", "True"),
    ]
    status: dict[str, Any] = {
        "phase": "Running" if running else "Pending",
        "conditions": conditions,
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "startTime": started,
        "containerStatuses": statuses,
        "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
    }
    if running:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    return status, min(changes) if changes else None
