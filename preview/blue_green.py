"""Blue-green previews: each commit runs in Deployments of its own, and the Services switch at once.

With ``strategy: blue-green`` every Deployment of a preview is renamed ``<name>-<short sha>`` and its
pods carry the commit as the label ``previewbot.io/sha``. Every Service that selects those pods is
pinned to one commit by the same label: the *serving* commit. A new commit starts beside the serving
one; only when all its Deployments are fully available do the Services switch to it, and then the
old Deployments are removed. A new commit that fails leaves the serving one in place. So the pods
behind a Service always run one commit.

A Deployment annotated ``previewbot.io/strategy: rolling`` (say, a database in the repository's
templates) keeps its name and is updated in place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from preview import naming
from preview.models import NamespaceInfo, ObjectRef, State
from preview.naming import Annotations
from preview.ports import PermanentError
from preview.rollout import report_for

ROLLING = "rolling"
BLUE_GREEN = "blue-green"
STRATEGIES = (ROLLING, BLUE_GREEN)
SHA_LABEL = f"{naming.PREFIX}/sha"
#: annotation on a Deployment of the templates: ``rolling`` keeps it out of the switch
STRATEGY_ANNOTATION = f"{naming.PREFIX}/strategy"
MAX_NAME = 253
MAX_DESCRIPTION = 140  # GitHub keeps this much of a commit status


@dataclass(frozen=True, slots=True)
class Prepared:
    """The manifests of one commit, and the Services pinned to the serving commit."""

    manifests: list[dict]
    pinned: list[str]  # names of the Services that select the switched pods


def _is_deployment(manifest: Mapping) -> bool:
    return manifest.get("apiVersion") == "apps/v1" and manifest.get("kind") == "Deployment"


def _switched(manifest: Mapping) -> bool:
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    return _is_deployment(manifest) and annotations.get(STRATEGY_ANNOTATION) != ROLLING


def deployment_name(name: str, sha: str) -> str:
    """``<name>-<short sha>``: the name of a switched Deployment for one commit."""
    renamed = f"{name}-{naming.short_sha(sha)}"
    if len(renamed) > MAX_NAME:
        raise PermanentError(f"Deployment {name[:40]}…: name too long for strategy blue-green")
    return renamed


def prepare(manifests: Iterable[dict], sha: str, serving: str) -> Prepared:
    """The manifests for commit ``sha`` with their Services pinned to commit ``serving``.

    A template that renders a malformed Deployment or Service is left as it is: the API server's
    validation names the problem when it is applied.
    """
    value, pin = naming.label_value(sha), naming.label_value(serving)
    out: list[dict] = []
    pod_labels: list[dict] = []
    for manifest in manifests:
        if not _switched(manifest):
            out.append(manifest)
            continue
        renamed = copy.deepcopy(manifest)
        spec = renamed.get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        selector = spec.get("selector") if isinstance(spec, dict) else None
        meta = template.get("metadata") if isinstance(template, dict) else None
        if not (isinstance(selector, dict) and isinstance(meta, dict) and isinstance(meta.get("labels"), dict)):
            out.append(manifest)
            continue
        pod_labels.append(dict(meta["labels"]))
        renamed["metadata"]["name"] = deployment_name(str(renamed["metadata"]["name"]), sha)
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), SHA_LABEL: value}
        meta["labels"] = {**meta["labels"], SHA_LABEL: value}
        out.append(renamed)
    pinned = []
    for index, manifest in enumerate(out):
        chosen = (manifest.get("spec") or {}).get("selector") if manifest.get("kind") == "Service" else None
        if manifest.get("apiVersion") != "v1" or not isinstance(chosen, dict) or not chosen:
            continue
        if any(chosen.items() <= labels.items() for labels in pod_labels):
            service = copy.deepcopy(manifest)
            service["spec"]["selector"] = {**chosen, SHA_LABEL: pin}
            out[index] = service
            pinned.append(str(service["metadata"]["name"]))
    return Prepared(out, sorted(pinned))


def commit_of(deployment: Mapping) -> str | None:
    """The commit label a switched Deployment selects its pods by, or None for any other."""
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    value = match.get(SHA_LABEL) if isinstance(match, dict) else None
    return value if isinstance(value, str) else None


def ready(deployments: Iterable[dict], sha: str) -> bool:
    """Whether every switched Deployment of commit ``sha`` (at least one) is fully available."""
    value = naming.label_value(sha)
    mine = [d for d in deployments if commit_of(d) == value and not (d.get("metadata") or {}).get("deletionTimestamp")]
    if not mine:
        return False
    for deployment in mine:
        report = report_for(deployment)
        if report is None or report.state is not State.SUCCESS:
            return False
    return True


def serving(annotations: Mapping[str, str]) -> str | None:
    """The commit a blue-green preview's Services select, from its namespace; None for a rolling one."""
    if annotations.get(Annotations.STRATEGY) != BLUE_GREEN:
        return None
    value = annotations.get(Annotations.SERVING_SHA)
    return value if isinstance(value, str) and naming.FULL_SHA.fullmatch(value) else None


def switch_waiting(ns: NamespaceInfo | None) -> bool:
    """Whether the applied commit of a blue-green preview still waits for the Services to switch to it."""
    if ns is None:
        return False
    current = serving(ns.annotations)
    return current is not None and current != ns.annotations.get(Annotations.APPLIED_SHA)


def kept(old_inventory: Iterable[str], inventory: Iterable[str], serving_sha: str) -> list[str]:
    """The serving commit's Deployments, kept beside a new commit's until the switch."""
    suffix, new = f"-{naming.short_sha(serving_sha)}", set(inventory)
    return sorted(
        key
        for key in old_inventory
        if key not in new and key.startswith("apps/v1/Deployment/") and ObjectRef.parse(key).name.endswith(suffix)
    )


def pinned_services(annotations: Mapping[str, str]) -> list[str]:
    """The names of the Services the last deploy pinned (an annotation previewbot wrote)."""
    try:
        names = json.loads(annotations.get(Annotations.PINNED, "[]"))
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def failed(description: str, sha: str, serving_sha: str) -> str:
    """``Rollout of def5678 failed: …; abc1234 still serving`` from the watcher's ``Rollout failed: …``."""
    reason = description.removeprefix("Rollout failed: ")
    room = MAX_DESCRIPTION - len("Rollout of 1234567 failed: ; 1234567 still serving")
    if len(reason) > room:
        reason = reason[: room - 1] + "…"
    return f"Rollout of {naming.short_sha(sha)} failed: {reason}; {naming.short_sha(serving_sha)} still serving"
