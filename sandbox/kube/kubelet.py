"""Simulated kubelet (containerd runtime): pod and container status from elapsed simulated time.

Image tag conventions (the tag is the part after ``:`` in the image's last path segment):

* ``fail-pull*`` - the pull fails (``ErrImagePull``), then ``ImagePullBackOff``; retried after 10 s,
  20 s, 40 s ... 300 s, each retry showing ``ErrImagePull`` again; never ready.
* ``crash*`` - runs for a second, exits with code 1, restarts at once, then ``CrashLoopBackOff`` with
  back-off 10 s doubling to 5 min and a growing ``restartCount``; never ready.
* ``slow*`` - starts normally but becomes ready only after 60 simulated seconds.
* anything else - running after ~2 s, ready ~1 s later (or after ``readinessProbe.initialDelaySeconds``).

* a private registry (the image's registry host starts with ``private.``, e.g. ``private.example.com/app:v1``)
  is pulled like any other only when the pod has an ``imagePullSecrets`` entry naming a Secret of type
  ``kubernetes.io/dockerconfigjson`` whose ``auths`` include that host (:mod:`sandbox.kube.pullauth`);
  otherwise the pull is denied (``ErrImagePull`` with containerd's "pull access denied ... authorization
  failed", then ``ImagePullBackOff``, like ``fail-pull``).

An image reference that does not parse gives ``InvalidImageName``. Containers whose environment names a
missing Secret/ConfigMap/key, or with ``runAsNonRoot`` and an image that runs as root
(:mod:`sandbox.kube.nonroot`), are handled by :mod:`sandbox.kube.podsync` (``CreateContainerConfigError``).
All durations are simulated seconds, divided by the emulator's ``speed``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from . import imageref
from .clock import rfc3339

SANDBOX_SECONDS = 1.0  # pod sandbox (and IP) ready, image references checked
PULL_SECONDS = 2.0  # image pulled (or the first pull failed)
READY_SECONDS = 1.0
SLOW_READY_SECONDS = 60.0
CRASH_RUN_SECONDS = 1.0
FIRST_RESTART_SECONDS = 0.5
BACKOFF_SEEN_SECONDS = 1.0  # the first failed pull turns into ImagePullBackOff at the next sync
SYNC_RETRY_SECONDS = 10.0  # a pod whose sync failed is synced again this long after
BACKOFF_INITIAL, BACKOFF_MAX = 10.0, 300.0
NODE_NAME = "sandbox-node"
HOST_IP = "10.0.0.10"

Result = tuple[dict[str, Any], float | None]  # (container status, simulated time it next changes)


@dataclass(frozen=True)
class PodRef:
    """What the kubelet's messages call a pod: ``name_namespace(uid)``."""

    name: str
    namespace: str
    uid: str

    def __str__(self) -> str:
        return f"{self.name}_{self.namespace}({self.uid})"


class Timeline:
    """Maps simulated seconds since scheduling to wall-clock timestamps."""

    def __init__(self, wall_start: float, speed: float) -> None:
        self.wall_start = wall_start
        self.speed = speed

    def at(self, sim: float) -> str:
        return rfc3339(self.wall_start + sim / self.speed)


def image_mode(image: str) -> str:
    """``fail-pull``, ``crash``, ``slow`` or ``normal`` from an image reference."""
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if "@" not in last else ""
    for mode in ("fail-pull", "crash", "slow"):
        if tag.startswith(mode):
            return mode
    return "normal"


def backoff(k: int) -> float:
    """Back-off after failure number ``k`` (1-based): 10 s doubling up to 5 min."""
    return min(BACKOFF_INITIAL * 2 ** (k - 1), BACKOFF_MAX)


def go_duration(seconds: float) -> str:
    """A whole-second duration as Go prints it: ``10s``, ``1m20s``, ``5m0s``."""
    s = int(seconds)
    return f"{s // 60}m{s % 60}s" if s >= 60 else f"{s}s"


def _hex(*parts: str, size: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:size]


def _waiting(base: dict[str, Any], reason: str, message: str = "") -> dict[str, Any]:
    base["state"] = {"waiting": {"reason": reason, "message": message} if message else {"reason": reason}}
    return base


def pull_error(image: str) -> str:
    """containerd's answer for a tag that does not exist, with the name normalised as containerd does."""
    name = imageref.parse(image).runtime_name()
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{name}": '
        f'failed to resolve reference "{name}": {name}: not found'
    )


def denied_error(image: str) -> str:
    """containerd's answer when the registry refuses the pull (no or wrong credentials)."""
    name = imageref.parse(image).runtime_name()
    return (
        f'rpc error: code = Unknown desc = failed to pull and unpack image "{name}": '
        f'failed to resolve reference "{name}": pull access denied, repository does not exist or may require '
        "authorization: server message: insufficient_scope: authorization failed"
    )


def _pull_failing(base: dict[str, Any], t: float, image: str, denied: bool = False) -> Result:
    if t < PULL_SECONDS:
        return _waiting(base, "ContainerCreating"), PULL_SECONDS
    error = denied_error(image) if denied else pull_error(image)
    failed_at, k = PULL_SECONDS, 1
    while True:
        pause = backoff(k)
        shown = BACKOFF_SEEN_SECONDS if k == 1 else min(SYNC_RETRY_SECONDS, pause)
        if t < failed_at + shown:
            return _waiting(base, "ErrImagePull", error), failed_at + shown
        if t < failed_at + pause:
            message = f"Back-off pulling image {imageref.go_quote(image)}: ErrImagePull: {error}"
            return _waiting(base, "ImagePullBackOff", message), failed_at + pause
        failed_at, k = failed_at + pause, k + 1


def _crashing(base: dict[str, Any], t: float, line: Timeline, pod: PodRef, start: float) -> Result:
    k = 0
    while True:
        crash_at = start + CRASH_RUN_SECONDS
        base["restartCount"] = k
        if t < crash_at:
            base["started"] = True
            base["state"] = {"running": {"startedAt": line.at(start)}}
            return base, crash_at
        terminated = {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": line.at(start),
            "finishedAt": line.at(crash_at),
            "containerID": base["containerID"],
        }
        restart_at = crash_at + (FIRST_RESTART_SECONDS if k == 0 else backoff(k))
        if t < restart_at:
            if k == 0:
                base["state"] = {"terminated": terminated}
            else:
                message = f"back-off {go_duration(backoff(k))} restarting failed container={base['name']} pod={pod}"
                _waiting(base, "CrashLoopBackOff", message)
                base["lastState"] = {"terminated": terminated}
            return base, restart_at
        base["lastState"] = {"terminated": terminated}
        base["containerID"] = f"containerd://{_hex(str(pod), base['name'], str(k + 1))}"
        start, k = restart_at, k + 1


def container_status(
    container: dict[str, Any],
    t: float,
    line: Timeline,
    pod: PodRef,
    start: float | None,
    config_error: str | None,
    pull_denied: bool = False,
) -> Result:
    """Status of one container at simulated time ``t``.

    ``start`` is when the kubelet created the container (None while it cannot, e.g. because of
    ``config_error``); ``pull_denied``: its private registry refuses the pod's credentials.
    """
    image, name = str(container.get("image", "")), str(container.get("name", ""))
    base: dict[str, Any] = {
        "name": name,
        "state": {},
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": image,
        "imageID": "",
        "started": False,
    }
    invalid = imageref.invalid_name_message(image)
    if invalid is not None:
        if t < SANDBOX_SECONDS:
            return _waiting(base, "ContainerCreating"), SANDBOX_SECONDS
        return _waiting(base, "InvalidImageName", invalid), None
    mode = image_mode(image)
    if mode == "fail-pull" or (pull_denied and start is None):
        return _pull_failing(base, t, image, denied=mode != "fail-pull")
    if t < PULL_SECONDS or start is None:
        if t >= PULL_SECONDS and config_error:
            return _waiting(base, "CreateContainerConfigError", config_error), None
        return _waiting(base, "ContainerCreating"), PULL_SECONDS if t < PULL_SECONDS else None
    base["imageID"] = f"{imageref.parse(image).repository}@sha256:{_hex(image)}"
    base["containerID"] = f"containerd://{_hex(str(pod), name, '0')}"
    if mode == "crash":
        return _crashing(base, t, line, pod, start)
    probe = container.get("readinessProbe") or {}
    ready_after = max(READY_SECONDS, float(probe.get("initialDelaySeconds") or 0))
    if mode == "slow":
        ready_after = max(ready_after, SLOW_READY_SECONDS)
    base["started"] = True
    base["state"] = {"running": {"startedAt": line.at(start)}}
    if t >= start + ready_after:
        base["ready"] = True
        return base, None
    return base, start + ready_after
