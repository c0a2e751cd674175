"""Pod-level status as the kubelet writes it: phase, conditions, IPs, and the final status of a deleted pod."""

from __future__ import annotations

import copy
from typing import Any

from .kubelet import HOST_IP, SANDBOX_SECONDS, PodRef, Timeline, container_status


def _phase(statuses: list[dict[str, Any]], terminal: bool) -> str:
    """The kubelet's phase for ``restartPolicy: Always`` pods (terminal once a deleted pod has stopped)."""
    waiting = running = stopped = succeeded = 0
    for s in statuses:
        state = s.get("state") or {}
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif (s.get("lastState") or {}).get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting or not statuses:
        return "Pending"
    if running:
        return "Running"
    if terminal:
        return "Succeeded" if stopped == succeeded else "Failed"
    return "Running"


def _conditions(statuses: list[dict[str, Any]], phase: str, sandbox: bool, since: str) -> list[dict[str, Any]]:
    def cond(kind: str, ok: bool, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
        c["lastTransitionTime"] = since
        c.update(extra or {})
        return c

    unready = [s["name"] for s in statuses if not s["ready"]]
    if phase in ("Succeeded", "Failed"):
        why: dict[str, Any] = {"reason": "PodCompleted" if phase == "Succeeded" else "PodFailed"}
    elif unready:
        why = {"reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(unready)}]"}
    else:
        why = {}
    ready = not unready and phase == "Running"
    return [
        cond("PodReadyToStartContainers", sandbox),
        cond("Initialized", True),
        cond("Ready", ready, None if ready else why),
        cond("ContainersReady", ready, None if ready else why),
        cond("PodScheduled", True),
    ]


def pod_status(
    pod: dict[str, Any],
    t: float,
    line: Timeline,
    pod_ip: str,
    starts: dict[str, float],
    config_errors: dict[str, str],
    pull_denied: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], float | None]:
    """Full pod status at simulated time ``t`` plus the next simulated time it changes by itself."""
    meta = pod["metadata"]
    ref = PodRef(meta["name"], meta.get("namespace", ""), meta.get("uid", ""))
    statuses, changes = [], []
    for container in (pod.get("spec") or {}).get("containers") or []:
        name = str(container.get("name", ""))
        status, change = container_status(
            container, t, line, ref, starts.get(name), config_errors.get(name), name in pull_denied
        )
        statuses.append(status)
        if change is not None:
            changes.append(change)
    sandbox = t >= SANDBOX_SECONDS
    if not sandbox:
        changes.append(SANDBOX_SECONDS)
    phase = _phase(statuses, False)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": _conditions(statuses, phase, sandbox, line.at(0)),
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
    }
    if sandbox:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = line.at(0)
    status["containerStatuses"] = statuses
    status["qosClass"] = (pod.get("status") or {}).get("qosClass", "BestEffort")
    return status, min(changes) if changes else None


def stopped_status(pod: dict[str, Any], finished_at: str) -> dict[str, Any]:
    """Status once the kubelet has stopped a deleted pod's containers (running ones exit with 0)."""
    status = copy.deepcopy(pod.get("status") or {})
    statuses = status.get("containerStatuses") or []
    for s in statuses:
        running = (s.get("state") or {}).get("running")
        if running is not None:
            s["state"] = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": running.get("startedAt"),
                    "finishedAt": finished_at,
                    "containerID": s.get("containerID", ""),
                }
            }
        s["ready"] = False
        s["started"] = False
    phase = _phase(statuses, True)
    status["phase"] = phase
    since = next((c.get("lastTransitionTime") for c in status.get("conditions") or []), finished_at)
    status["conditions"] = _conditions(statuses, phase, False, since)
    for c in status["conditions"]:
        if c["type"] in ("Ready", "ContainersReady", "PodReadyToStartContainers"):
            c["lastTransitionTime"] = finished_at
    return status
