"""Pure mapping from a Deployment (and optionally its pods) to the status GitHub should show.

Inputs are the plain camelCase dicts the Kubernetes API returns. Success is reported only
when every replica runs the new template and no old pod is left, so a reviewer who follows
the link never lands on a mix of two versions.
"""

from __future__ import annotations

from collections.abc import Sequence

from preview.models import RolloutState, State, StatusReport
from preview.naming import Annotations

#: Container waiting reasons that will not fix themselves.
FATAL_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def _condition(deployment: dict, kind: str) -> dict | None:
    for cond in deployment.get("status", {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def deadline_exceeded(deployment: dict) -> bool:
    cond = _condition(deployment, "Progressing")
    return bool(cond and cond.get("status") == "False" and cond.get("reason") == "ProgressDeadlineExceeded")


def pod_problem(pods: Sequence[dict], sha: str) -> str | None:
    """The first fatal container problem among pods running ``sha``, e.g. ``ImagePullBackOff on container web``."""
    for pod in pods:
        annotations = pod.get("metadata", {}).get("annotations") or {}
        if annotations.get(Annotations.SHA, sha) != sha or pod.get("metadata", {}).get("deletionTimestamp"):
            continue
        for status in pod.get("status", {}).get("containerStatuses") or ():
            waiting = (status.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in FATAL_WAITING:
                restarts = status.get("restartCount") or 0
                extra = f" ({restarts} restarts)" if reason == "CrashLoopBackOff" and restarts else ""
                return f"{reason} on container {status.get('name', '?')}{extra}"
    return None


def template_sha(deployment: dict) -> str | None:
    template = deployment.get("spec", {}).get("template", {}).get("metadata", {})
    return (template.get("annotations") or {}).get(Annotations.SHA)


def report_for(deployment: dict, pods: Sequence[dict] | None = None) -> StatusReport | None:
    """The commit status for the SHA in the Deployment's pod template.

    ``None`` while the controller has not yet seen the latest spec: there is nothing new to
    say beyond the "Deploying" status the worker already posted.
    """
    meta = deployment.get("metadata", {})
    spec = deployment.get("spec", {})
    status = deployment.get("status", {}) or {}
    url = (meta.get("annotations") or {}).get(Annotations.URL)
    sha = template_sha(deployment) or ""
    wanted = spec.get("replicas", 1)
    problem = pod_problem(pods, sha) if pods else None
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return None
    if deadline_exceeded(deployment):
        reason = problem or "ProgressDeadlineExceeded"
        return StatusReport(State.FAILURE, f"Rollout failed: {reason}")
    if problem:
        return StatusReport(State.FAILURE, f"Rollout failed: {problem}")
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
    return StatusReport(State.PENDING, f"Rolling out: {ready_new}/{wanted} ready")


def rollout_state(deployment: dict, pods: Sequence[dict] | None = None) -> RolloutState | None:
    """The preview this Deployment belongs to and its report; ``None`` if not previewbot's or nothing to say."""
    annotations = deployment.get("metadata", {}).get("annotations") or {}
    repo = annotations.get(Annotations.REPO)
    number = annotations.get(Annotations.PR)
    sha = template_sha(deployment)
    if not repo or not number or not number.isdigit() or not sha:
        return None
    report = report_for(deployment, pods)
    if report is None:
        return None
    installation = annotations.get(Annotations.INSTALLATION) or ""
    return RolloutState(
        repo=repo,
        number=int(number),
        sha=sha,
        report=report,
        installation_id=int(installation) if installation.isdigit() else None,
    )
