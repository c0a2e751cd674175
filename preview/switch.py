"""The blue-green switch (:meth:`Switch.switch`): Services to the new commit, then the old Deployments go.

The watcher asks for it when the applied commit's Deployments are fully available; it runs under
the PR's lock like every task, re-reads the namespace and the Deployments, and does nothing unless
the commit it is asked about is still the applied one and still waits. Running it twice is harmless.
"""

from __future__ import annotations

import json
import logging

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

    def _serving(self, ns: NamespaceInfo | None, head: str) -> str:
        """The commit a blue-green preview's Services select after this deploy.

        The head when the preview is new, was rolling, already serves it, or the head's Deployments
        are fully available (a redeploy); otherwise the commit serving now, until the switch.
        """
        before = blue_green.serving(ns.annotations) if ns is not None else None
        if ns is None or before is None or before == head:
            return head
        return head if blue_green.ready(self.cluster.deployments_in(ns.name), head) else before

    def switch(self, ref: PullRef, sha: str) -> Outcome:
        """Point the preview's Services at commit ``sha`` once it is fully available; remove the old commit."""
        ns_name = naming.namespace_name(ref.repo, ref.number)
        ns = self.cluster.read_namespace(ns_name)
        if ns is None or ns.terminating:
            return Outcome.ABSENT
        if ns.annotations.get(Annotations.APPLIED_SHA) != sha or not blue_green.switch_waiting(ns):
            return Outcome.UP_TO_DATE  # superseded by a newer deploy, or switched already
        deployments = self.cluster.deployments_in(ns_name)
        if not blue_green.ready(deployments, sha):
            return Outcome.WAITING  # the watcher asks again when it is
        value = naming.label_value(sha)
        for name in blue_green.pinned_services(ns.annotations):
            selector = {"spec": {"selector": {blue_green.SHA_LABEL: value}}}
            self.cluster.patch(ObjectRef("v1", "Service", name, ns_name), selector)
        inventory = json.loads(ns.annotations.get(Annotations.INVENTORY, "[]"))
        old = [
            ObjectRef.of({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": d["metadata"]})
            for d in deployments
            if blue_green.commit_of(d) not in (None, value)
        ]
        gone = {ref_.key() for ref_ in old}
        self.cluster.annotate_namespace(
            ns_name,
            {
                Annotations.SERVING_SHA: sha,
                Annotations.INVENTORY: json.dumps([k for k in inventory if k not in gone], separators=(",", ":")),
            },
        )
        for ref_ in old:  # after the Services moved: no reviewer lands on a pod being stopped
            self.cluster.delete(ref_)
        log.info("switched to %s", naming.short_sha(sha), extra=self._log_extra(ref, sha))
        return Outcome.DEPLOYED
