"""Removing previews: on close or request, after their ``ttl`` (:meth:`Teardown.expire`), and every
preview of a repository whose access was revoked (:meth:`Teardown.purge`)."""

from __future__ import annotations

import logging

from preview import naming
from preview.lifecycle_base import LifecycleBase, Outcome, iso
from preview.models import NamespaceInfo, PullRef
from preview.naming import Annotations
from preview.ports import PermanentError

log = logging.getLogger("preview.lifecycle")  # the lifecycle's own log


class Teardown(LifecycleBase):
    """The removal half of :class:`preview.lifecycle.Lifecycle`."""

    def expire(self, keep_label: str) -> list[PullRef]:
        """Tear down previews past their ``ttl`` (unless the PR carries ``keep_label``); return them."""
        now = iso(self.clock())
        expired = []
        for ns in self.cluster.list_namespaces(f"{naming.MANAGED_BY}={naming.MANAGER}"):
            due = ns.annotations.get(Annotations.EXPIRES_AT)
            repo, number = ns.annotations.get(Annotations.REPO), ns.annotations.get(Annotations.PR, "")
            if not due or due > now or ns.terminating or not repo or not number.isdigit():
                continue
            installation = ns.annotations.get(Annotations.INSTALLATION, "")
            ref = PullRef(repo, int(number), int(installation) if installation.isdigit() else None)
            try:
                pr = self.github.get_pull(ref)
            except PermanentError:
                pr = None
            if pr is not None and keep_label and keep_label in pr.labels:
                continue
            ttl = ns.annotations.get(Annotations.TTL, "its ttl")
            with self.reporter.deferred():
                self._teardown(ref, None, f"Preview expired after {ttl} without a new deploy")
            expired.append(ref)
        if self.slots is not None:
            self.slots.advance()  # also wakes again a queued PR whose sync was lost or gave up
        return expired

    def purge(self, repo: str) -> int:
        """Delete every preview of ``repo`` without touching GitHub (access was revoked)."""
        namespaces = self.cluster.list_namespaces(f"{naming.PREFIX}/repo={naming.label_value(repo.replace('/', '.'))}")
        for ns in namespaces:
            if ns.annotations.get(Annotations.REPO) == repo and not ns.terminating:
                self._delete_namespace(ns)
        if self.slots is not None:
            self.slots.forget_repo(repo)
        return len(namespaces)

    def _teardown(self, ref: PullRef, hint_sha: str | None, why: str) -> Outcome:
        ns_name = naming.namespace_name(ref.repo, ref.number)
        ns = self.cluster.read_namespace(ns_name)
        applied = ns.annotations.get(Annotations.APPLIED_SHA) if ns else None
        head = ns.annotations.get(Annotations.HEAD_SHA) if ns else None
        for sha in {hint_sha, head} - {None, applied}:
            self.reporter.resolve_pending(ref, sha, why)  # type: ignore[arg-type]
        if applied is not None:
            self.reporter.removed(ref, applied, why)
        if ns is None:
            self._free_slot(ref, why, freed=False)  # a PR waiting for a slot leaves the queue
            return Outcome.ABSENT
        if not ns.terminating:
            self._delete_namespace(ns)
            self._free_slot(ref, why, freed=True)
        log.info("preview torn down", extra=self._log_extra(ref, None))
        return Outcome.TORN_DOWN

    def _free_slot(self, ref: PullRef, why: str, *, freed: bool) -> None:
        """The PR needs no slot any more: the next queued PR may start.

        Every removal calls it (close or merge, ``/preview destroy``, ``ttl`` expiry, garbage collection);
        so must anything else that frees a slot, such as a sleeping preview if sleep ever frees one.
        """
        if self.slots is not None:
            self.slots.release(ref, why, freed=freed)

    def _delete_namespace(self, ns: NamespaceInfo) -> None:
        """Delete a preview namespace, and only one: it must carry previewbot's managed-by label."""
        if ns.labels.get(naming.MANAGED_BY) != naming.MANAGER:
            raise PermanentError(f"namespace {ns.name} is not managed by previewbot; not deleting it")
        self.cluster.delete_namespace(ns.name)
