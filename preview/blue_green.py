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
class Layout:
    """Which of a preview's objects follow the switch, as the namespace records it (``previewbot.io/layout``).

    ``deployments``: the applied commit's switched Deployments, all of which must be available before the
    switch; ``pinned``: the Services that select their pods; ``held``: Services the serving commit's
    pods still get until the switch although the applied commit no longer pins them; ``serving``: the
    Services that select the serving commit now.
    """

    deployments: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    serving: tuple[str, ...] = ()

    def encode(self) -> str:
        fields = {"deployments": self.deployments, "pinned": self.pinned, "held": self.held, "serving": self.serving}
        return json.dumps({k: list(v) for k, v in fields.items()}, separators=(",", ":"))

    @classmethod
    def of(cls, annotations: Mapping[str, str]) -> Layout:
        """The layout previewbot recorded on a namespace (empty when absent or malformed)."""
        try:
            data = json.loads(annotations.get(Annotations.LAYOUT, "{}"))
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()

        def names(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(n for n in value if isinstance(n, str)) if isinstance(value, list) else ()

        return cls(names("deployments"), names("pinned"), names("held"), names("serving"))


@dataclass(frozen=True, slots=True)
class Prepared:
    """The manifests of one commit and their :class:`Layout`."""

    manifests: list[dict]
    layout: Layout


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


def switched_names(manifests: Iterable[dict], sha: str) -> list[str]:
    """The names the switched Deployments of ``manifests`` get for commit ``sha``."""
    return sorted(deployment_name(str(m["metadata"]["name"]), sha) for m in manifests if _switchable(m))


def _switchable(manifest: Mapping) -> bool:
    if not _switched(manifest):
        return False
    spec = manifest.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    meta = template.get("metadata") if isinstance(template, dict) else None
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("selector"), dict)
        and isinstance(meta, dict)
        and isinstance(meta.get("labels"), dict)
        and isinstance((manifest.get("metadata") or {}).get("name"), str)
    )


def prepare(manifests: Iterable[dict], sha: str, serving: str, before: Layout = Layout()) -> Prepared:
    """The manifests for commit ``sha`` while commit ``serving`` serves (the same commit: no switch waits).

    Services that selected the serving commit (``before.serving``) keep selecting it until the switch;
    a Service the commit newly pins selects the commit at once (its pods are the only ones it can
    select). A template that renders a malformed Deployment or Service is left as it is: the API
    server's validation names the problem when it is applied.
    """
    value, waiting = naming.label_value(sha), serving != sha
    out: list[dict] = []
    pod_labels: list[dict] = []
    for manifest in manifests:
        if not _switchable(manifest):
            out.append(manifest)
            continue
        renamed = copy.deepcopy(manifest)
        spec = renamed["spec"]
        meta = spec["template"]["metadata"]
        pod_labels.append(dict(meta["labels"]))
        renamed["metadata"]["name"] = deployment_name(renamed["metadata"]["name"], sha)
        spec["selector"]["matchLabels"] = {**(spec["selector"].get("matchLabels") or {}), SHA_LABEL: value}
        meta["labels"] = {**meta["labels"], SHA_LABEL: value}
        out.append(renamed)
    pinned, held, on_serving = [], [], []
    for index, manifest in enumerate(out):
        chosen = (manifest.get("spec") or {}).get("selector") if manifest.get("kind") == "Service" else None
        if manifest.get("apiVersion") != "v1" or not isinstance(chosen, dict) or not chosen:
            continue
        name = str((manifest.get("metadata") or {}).get("name"))
        follows = any(chosen.items() <= labels.items() for labels in pod_labels)
        kept_on_serving = waiting and name in before.serving
        if not (follows or kept_on_serving):
            continue
        service = copy.deepcopy(manifest)
        commit = serving if kept_on_serving else sha
        service["spec"]["selector"] = {**chosen, SHA_LABEL: naming.label_value(commit)}
        out[index] = service
        (pinned if follows else held).append(name)
        if kept_on_serving:
            on_serving.append(name)
    layout = Layout(
        deployments=tuple(switched_names(manifests, sha)),
        pinned=tuple(sorted(pinned)),
        held=tuple(sorted(held)),
        serving=tuple(sorted(on_serving if waiting else pinned)),
    )
    return Prepared(out, layout)


def commit_of(deployment: Mapping) -> str | None:
    """The commit label a switched Deployment selects its pods by, or None for any other."""
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    value = match.get(SHA_LABEL) if isinstance(match, dict) else None
    return value if isinstance(value, str) else None


def ready(deployments: Iterable[dict], expected: Iterable[str]) -> bool:
    """Whether every Deployment named in ``expected`` exists, is current and fully available.

    Nothing expected (every Deployment opted out) is ready: there is nothing to wait for.
    """
    found = {
        (d.get("metadata") or {}).get("name"): d
        for d in deployments
        if not (d.get("metadata") or {}).get("deletionTimestamp")
    }
    for name in expected:
        deployment = found.get(name)
        report = report_for(deployment) if deployment is not None else None
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


def failed(description: str, sha: str, serving_sha: str) -> str:
    """``Rollout of def5678 failed: …; abc1234 still serving`` from the watcher's ``Rollout failed: …``."""
    reason = description.removeprefix("Rollout failed: ")
    room = MAX_DESCRIPTION - len("Rollout of 1234567 failed: ; 1234567 still serving")
    if len(reason) > room:
        reason = reason[: room - 1] + "…"
    return f"Rollout of {naming.short_sha(sha)} failed: {reason}; {naming.short_sha(serving_sha)} still serving"
