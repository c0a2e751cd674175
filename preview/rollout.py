"""Pure mapping from a preview's Deployments and Pods to the status GitHub should show.

Inputs are the plain camelCase dicts the Kubernetes API returns. Success is reported only
when every replica runs the new template and no old pod is left, so a reviewer who follows
the link never lands on a mix of two versions. The preview's identity (repository, PR, SHA,
link) never comes from these objects: the caller takes it from the namespace previewbot wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from preview import naming
from preview.models import PullRef, State, StatusReport
from preview.naming import Annotations

#: Container waiting reasons that will not fix themselves, each with the family that one
#: problem cycles through (the kubelet alternates ErrImagePull and ImagePullBackOff).
FATAL_WAITING = {
    "ImagePullBackOff": "image",
    "ErrImagePull": "image",
    "InvalidImageName": "image",
    "ErrImageNeverPull": "image",
    "CrashLoopBackOff": "crash",
    "CreateContainerConfigError": "config",
    "CreateContainerError": "config",
    "RunContainerError": "run",
}

MAX_MESSAGE = 80


@dataclass(frozen=True, slots=True)
class PodProblem:
    """A container of the rolled-out commit that is stuck, e.g. waiting in ``ImagePullBackOff``."""

    pod_uid: str
    container: str
    reason: str
    message: str = ""
    restarts: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity for the grace timer: the same pod, container and family of reason."""
        return (self.pod_uid, self.container, FATAL_WAITING.get(self.reason, self.reason))

    def describe(self) -> str:
        """``ImagePullBackOff on container web: <kubelet message, cut>``; ``FailedCreate: <message>``."""
        if not self.container:  # the controller could not create pods (quota, LimitRange)
            return f"{self.reason}: {_shorten(_FORBIDDEN.sub('', self.message), MAX_MESSAGE + 20)}"
        text = f"{self.reason} on container {self.container}"
        if self.reason == "CrashLoopBackOff" and self.restarts:
            text += f" ({self.restarts} restarts)"
        message = _shorten(self.message)
        return f"{text}: {message}" if message else text


#: the API server's ``pods "web-5d8f7c-x2x9z" is forbidden: `` before an admission refusal: the reason follows
_FORBIDDEN = re.compile(r'^pods "[^"]*" is forbidden: ')
_RPC_PREFIX = re.compile(r"^rpc error: code = \w+ desc = ")
#: the kubelet's ``(pod: "name_ns(uid)", container: web)`` after a security-context refusal: the
#: description names the container already, and the pod's identity would crowd out the reason
_POD_SUFFIX = re.compile(r' \(pod: "[^"]*", container: [^)]*\)$')


def _shorten(message: str, limit: int = MAX_MESSAGE) -> str:
    """The kubelet's message on one line, cut from the front: in ``outer: inner: cause`` the cause comes last."""
    message = _POD_SUFFIX.sub("", _RPC_PREFIX.sub("", " ".join(message.split())))
    if len(message) <= limit:
        return message
    kept = ""
    for part in reversed(message.split(": ")):
        candidate = f"{part}: {kept}" if kept else part
        if len(candidate) > limit - 1:
            break
        kept = candidate
    return "…" + (kept or message[-(limit - 1) :])


def _condition(deployment: dict, kind: str) -> dict | None:
    for cond in (deployment.get("status") or {}).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def deadline_exceeded(deployment: dict) -> bool:
    cond = _condition(deployment, "Progressing")
    return bool(cond and cond.get("status") == "False" and cond.get("reason") == "ProgressDeadlineExceeded")


def object_sha(obj: dict, *, template: bool) -> str | None:
    """The commit a Deployment's pod template (``template``) or a Pod is annotated with."""
    meta = (obj.get("spec") or {}).get("template", {}).get("metadata", {}) if template else obj.get("metadata", {})
    value = ((meta or {}).get("annotations") or {}).get(Annotations.SHA)
    return value if isinstance(value, str) else None


def template_sha(deployment: dict) -> str | None:
    return object_sha(deployment, template=True)


def pod_problems(pods: Iterable[dict], sha: str) -> list[PodProblem]:
    """Fatal container states among live pods that run ``sha`` (or carry no SHA of ours)."""
    found = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if object_sha(pod, template=False) not in (None, sha) or meta.get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = ((container or {}).get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in FATAL_WAITING:
                found.append(
                    PodProblem(
                        pod_uid=str(meta.get("uid") or meta.get("name") or ""),
                        container=str(container.get("name") or "?"),
                        reason=reason,
                        message=str(waiting.get("message") or ""),
                        restarts=int(container.get("restartCount") or 0),
                    )
                )
    return found


def replica_failure(deployment: dict) -> PodProblem | None:
    """The Deployment's ``ReplicaFailure`` condition (pods refused, e.g. ``exceeded quota``), as a problem.

    The controller keeps retrying, so it can clear itself; the watcher gives it the same grace as a
    stuck container before it fails the rollout.
    """
    cond = _condition(deployment, "ReplicaFailure")
    if not cond or cond.get("status") != "True":
        return None
    meta = deployment.get("metadata") or {}
    return PodProblem(
        pod_uid=str(meta.get("uid") or meta.get("name") or ""),
        container="",
        reason=str(cond.get("reason") or "ReplicaFailure"),
        message=str(cond.get("message") or ""),
    )


def report_for(deployment: dict, problem: PodProblem | None = None, url: str | None = None) -> StatusReport | None:
    """The commit status one Deployment asks for; ``problem`` is a pod problem past its grace.

    ``None`` while the controller has not yet seen the latest spec, or while no replica of the
    new commit is ready yet: there is nothing new to say beyond the "Deploying" status the
    worker already posted (and one GitHub write fewer per rollout).
    """
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return None
    if deadline_exceeded(deployment):
        reason = problem.describe() if problem else "ProgressDeadlineExceeded"
        return StatusReport(State.FAILURE, f"Rollout failed: {reason}")
    if problem is not None:
        return StatusReport(State.FAILURE, f"Rollout failed: {problem.describe()}")
    updated = status.get("updatedReplicas", 0) or 0
    total = status.get("replicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    ready = status.get("readyReplicas", 0) or 0
    if wanted == 0:
        return StatusReport(State.SUCCESS, "Preview scaled to zero", url)
    if updated >= wanted and total == updated and available >= wanted:
        return StatusReport(State.SUCCESS, "Preview ready", url)
    old = max(total - updated, 0)
    ready_new = max(min(ready - old, updated), 0)
    if updated >= wanted and ready_new >= wanted and old:
        return StatusReport(State.PENDING, f"Rolling out: {ready_new}/{wanted} ready, stopping old pods")
    if ready_new == 0:
        return None
    return StatusReport(State.PENDING, f"Rolling out: {ready_new}/{wanted} ready")


_RANK = {State.FAILURE: 0, State.ERROR: 0, State.PENDING: 1, State.SUCCESS: 2}


def combine(reports: Sequence[StatusReport]) -> StatusReport | None:
    """One status for a preview with several Deployments: the worst of them (failure, then pending)."""
    if not reports:
        return None
    return min(reports, key=lambda r: _RANK[r.state])


_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


@dataclass(frozen=True, slots=True)
class Identity:
    """Which preview a namespace holds, from the annotations previewbot itself wrote on it."""

    ref: PullRef
    sha: str  # the applied commit
    url: str | None


def identity(namespace: dict) -> Identity | None:
    """The preview of a live namespace, or None when it is terminating, foreign or malformed.

    Only the namespace counts: objects inside it come from templates a PR author may control.
    The name must be the one previewbot derives from the repository and PR it names.
    """
    meta = namespace.get("metadata") or {}
    if meta.get("deletionTimestamp") or (namespace.get("status") or {}).get("phase") == "Terminating":
        return None
    annotations = meta.get("annotations") or {}
    repo, number = annotations.get(Annotations.REPO), annotations.get(Annotations.PR)
    sha, installation = annotations.get(Annotations.APPLIED_SHA), annotations.get(Annotations.INSTALLATION)
    if not (isinstance(repo, str) and naming.is_repo(repo)) or not (
        isinstance(number, str) and _NUMBER.fullmatch(number)
    ):
        return None
    if not (isinstance(sha, str) and naming.FULL_SHA.fullmatch(sha)):
        return None
    if installation is not None and not (isinstance(installation, str) and _NUMBER.fullmatch(installation)):
        return None
    if meta.get("name") != naming.namespace_name(repo, int(number)):
        return None
    url = annotations.get(Annotations.URL)
    ref = PullRef(repo, int(number), int(installation) if installation else None)
    return Identity(ref, sha, url if isinstance(url, str) and url.startswith(("https://", "http://")) else None)
