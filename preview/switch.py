"""The blue-green switch (:meth:`Switch.switch`): Services to the new commit, then the old Deployments go.

The watcher asks for it when the applied commit's Deployments are fully available; it runs under
the PR's lock like every task, re-reads the namespace and the Deployments, and does nothing unless
the commit it is asked about is still the applied one and still waits. Running it twice is harmless.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from preview import blue_green, naming
from preview.lifecycle_base import LifecycleBase, Outcome
from preview.models import NamespaceInfo, ObjectRef, PullRef
from preview.naming import Annotations
from preview.repo_config import RepoConfig

log = logging.getLogger("preview.lifecycle")


class Switch(LifecycleBase):
    """The switch half of a blue-green :class:`preview.lifecycle.Lifecycle`."""

    def strategy(self, config: RepoConfig) -> str:
        """``rolling`` or ``blue-green``: the repository's ``strategy``, else the operator's default."""
        return config.strategy or self.settings.default_strategy

    def _blue_green(
        self, ns: NamespaceInfo | None, manifests: list[dict], head: str
    ) -> tuple[list[dict], dict[str, str]]:
        """A blue-green deploy's manifests and the namespace annotations that record its layout.

        The Services keep the commit serving now until the head's switched Deployments are all fully
        available; they select the head at once when the preview is new, was rolling, already serves
        the head, has nothing to switch, or the head is available already (a redeploy).
        """
        before = blue_green.serving(ns.annotations) if ns is not None else None
        expected = blue_green.switched_names(manifests, head)
        serving = head
        if ns is not None and before not in (None, head) and expected:
            serving = head if blue_green.ready(self.cluster.deployments_in(ns.name), expected) else str(before)
        layout = blue_green.Layout.of(ns.annotations) if ns is not None else blue_green.Layout()
        prepared = blue_green.prepare(manifests, head, serving, layout)
        annotations = {
            Annotations.STRATEGY: blue_green.BLUE_GREEN,
            Annotations.SERVING_SHA: serving,
            Annotations.LAYOUT: prepared.layout.encode(),
        }
        return prepared.manifests, annotations

    def switch(self, ref: PullRef, sha: str) -> Outcome:
        """Point the preview's Services at commit ``sha`` once it is fully available; remove the old commit."""
        ns_name = naming.namespace_name(ref.repo, ref.number)
        ns = self.cluster.read_namespace(ns_name)
        if ns is None or ns.terminating:
            return Outcome.ABSENT
        if ns.annotations.get(Annotations.APPLIED_SHA) != sha or not blue_green.switch_waiting(ns):
            return Outcome.UP_TO_DATE  # superseded by a newer deploy, or switched already
        deployments = self.cluster.deployments_in(ns_name)
        layout = blue_green.Layout.of(ns.annotations)
        if not blue_green.ready(deployments, layout.deployments):
            return Outcome.WAITING  # the watcher asks again when it is
        value = naming.label_value(sha)
        for name, commit in [(n, value) for n in layout.pinned] + [(n, None) for n in layout.held]:
            selector = {"spec": {"selector": {blue_green.SHA_LABEL: commit}}}  # held: follows its own pods again
            self.cluster.patch(ObjectRef("v1", "Service", name, ns_name), selector)
        old = [
            ObjectRef.of({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": d["metadata"]})
            for d in deployments
            if blue_green.commit_of(d) not in (None, value)
        ]
        for ref_ in old:  # after the Services moved: no reviewer lands on a pod being stopped
            self.cluster.delete(ref_)
        inventory = json.loads(ns.annotations.get(Annotations.INVENTORY, "[]"))
        # the serving commit's Deployments, also when a run cut short has deleted them already
        gone = {ref_.key() for ref_ in old} | set(
            blue_green.kept(inventory, (), str(blue_green.serving(ns.annotations)))
        )
        switched = replace(layout, held=(), serving=layout.pinned)
        self.cluster.annotate_namespace(  # last: a retry after a crash does every step again
            ns_name,
            {
                Annotations.SERVING_SHA: sha,
                Annotations.LAYOUT: switched.encode(),
                Annotations.INVENTORY: json.dumps([k for k in inventory if k not in gone], separators=(",", ":")),
            },
        )
        log.info("switched to %s", naming.short_sha(sha), extra=self._log_extra(ref, sha))
        return Outcome.DEPLOYED
