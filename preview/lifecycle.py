"""Idempotent ``sync`` and ``teardown`` of one pull request's preview, written against the ports.

A webhook is only a hint: both operations re-read the pull request from GitHub and the
namespace's annotations from Kubernetes, then converge. Running either twice, late, or
out of order leaves the same result.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from preview import blue_green, naming, secrets
from preview.lifecycle_base import Outcome, iso
from preview.models import NamespaceInfo, ObjectRef, PullRef, PullRequest, State, StatusReport
from preview.naming import Annotations
from preview.pod_policy import check as check_policy
from preview.ports import PermanentError, TemporaryError
from preview.repo_config import FILE_NAME, ConfigError, RepoConfig
from preview.sleep import Sleeper
from preview.switch import Switch
from preview.teardown import Teardown
from preview.values import access_binding, template_values

log = logging.getLogger(__name__)

WAITING_FOR_APPROVAL = "Waiting for approval: a maintainer can comment /preview approve (fork pull request)"


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass
class Lifecycle(Teardown, Switch):
    """Brings a PR's preview to the state its pull request asks for.

    Removal is :class:`preview.teardown.Teardown`; the blue-green switch :class:`preview.switch.Switch`.
    """

    # -- entry points -------------------------------------------------------------------------

    def sync(self, ref: PullRef, hint_sha: str | None = None, *, force: bool = False) -> Outcome:
        """Deploy the PR's current head (re-apply it with ``force``), or tear down if it gets no preview."""
        return self._converge(self.github.get_pull(ref), hint_sha, force=force)

    def _converge(self, pr: PullRequest, hint_sha: str | None, *, force: bool = False) -> Outcome:
        with self.reporter.deferred():  # Kubernetes first: GitHub writes follow the cluster work
            if not pr.is_open:
                return self._teardown(pr.ref, hint_sha, "Preview removed: pull request closed")
            if (why := self.ineligible(pr)) is not None:
                return self._teardown(pr.ref, hint_sha, f"Preview removed: {why}")
            outcome = self._deploy(pr, hint_sha, force=force)
            if outcome in (Outcome.WAITING, Outcome.FAILED) and self.slots is not None:
                # waits on people, or failed: leaves the queue (the head's status says why)
                superseded = f"Superseded by {naming.short_sha(pr.head_sha)}"
                self.slots.release(pr.ref, superseded, freed=False, keep=pr.head_sha)
            return outcome

    def ineligible(self, pr: PullRequest) -> str | None:
        """Why this open PR gets no preview under the operator's policy, or None."""
        if self.memory.get(self._flag("stopped", pr.ref)):
            return "stopped with /preview destroy"
        if pr.draft and not self.settings.deploy_drafts:
            return "draft pull request"
        label = self.settings.preview_label
        if label and label not in pr.labels:
            return f"no '{label}' label"
        return None

    # -- flags kept between events (in the ledger) ----------------------------------------------

    def stop(self, ref: PullRef) -> Outcome:
        """``/preview destroy``: remove the preview and keep it removed until ``/preview deploy``."""
        self.memory.put(self._flag("stopped", ref), "1")
        with self.reporter.deferred():
            return self._teardown(ref, None, "Preview removed with /preview destroy")

    def resume(self, ref: PullRef, *, force: bool = False) -> Outcome:
        """``/preview deploy`` / ``redeploy``: allow the preview again and sync."""
        self.memory.delete(self._flag("stopped", ref))
        return self.sync(ref, force=force)

    def approve(self, ref: PullRef, sha: str) -> tuple[str | None, str, Outcome | None]:
        """``/preview approve``: allow commit ``sha`` (and only it) to deploy; converge if it is the head.

        ``sha`` may be a prefix of the head; any other commit must be named in full. Returns the
        approved commit (None when ``sha`` could not be resolved), the head, and what converging did.
        """
        pr = self.github.get_pull(ref)
        approved = pr.head_sha if pr.head_sha.startswith(sha) else sha if len(sha) == 40 else None
        if approved is None:
            return None, pr.head_sha, None
        self.memory.put(self._flag("approved", ref), approved)
        return approved, pr.head_sha, self._converge(pr, pr.head_sha)

    def waiting_pull(self, repo: str, sha: str) -> int | None:
        """The PR whose deploy of ``sha`` waits for checks, if any."""
        number = self.memory.get(f"waiting:{repo}:{sha}")
        return int(number) if number else None

    def teardown(self, ref: PullRef, hint_sha: str | None = None, *, force: bool = False) -> Outcome:
        """Remove the preview; unless ``force``, re-check that the PR really is closed."""
        if not force:
            try:
                pr = self.github.get_pull(ref)
            except PermanentError:
                pr = None
            if pr is not None and pr.is_open and self.ineligible(pr) is None:
                return self._converge(pr, hint_sha)
        with self.reporter.deferred():
            return self._teardown(ref, hint_sha, "Preview removed")

    # -- deploy -------------------------------------------------------------------------------

    def _deploy(self, pr: PullRequest, hint_sha: str | None, *, force: bool = False) -> Outcome:
        ref, head = pr.ref, pr.head_sha
        ns_name = naming.namespace_name(ref.repo, ref.number)
        ns = self.cluster.read_namespace(ns_name)
        if ns is not None and ns.terminating:
            raise TemporaryError(f"namespace {ns_name} is still terminating", delay=5)
        previous = ns.annotations.get(Annotations.APPLIED_SHA) if ns else None
        for old in {hint_sha, previous} - {None, head}:
            self.reporter.resolve_pending(ref, old, f"Superseded by {naming.short_sha(head)}")  # type: ignore[arg-type]
        if previous == head and not force:
            log.info("preview up to date", extra=self._log_extra(ref, head))
            return Outcome.UP_TO_DATE
        if pr.fork and self.memory.get(self._flag("approved", ref)) != head:
            # nothing from an unapproved fork head is read: not even its .preview.yml
            self.reporter.report(ref, head, StatusReport(State.PENDING, WAITING_FOR_APPROVAL), hold=True)
            return Outcome.WAITING
        try:
            config = check_policy(self.load_config(self.github.read_file(ref, FILE_NAME, head)), self.settings)
        except ConfigError as exc:
            self.reporter.report(ref, head, StatusReport(State.FAILURE, f"Invalid {FILE_NAME}: {exc}"))
            log.warning("invalid %s: %s", FILE_NAME, exc, extra=self._log_extra(ref, head))
            return Outcome.FAILED
        if not config.enabled:
            return self._teardown(ref, hint_sha, f"Preview removed: disabled in {FILE_NAME}")
        if (hold := self._hold(pr, config)) is not None:
            self.reporter.report(ref, head, hold, hold=True)
            return Outcome.WAITING if hold.state is State.PENDING else Outcome.FAILED
        if ns is None and self.slots is not None and self.slots.claim(pr) is not None:
            return Outcome.QUEUED  # "Queued: position N of M", reported by the queue
        self.reporter.report(ref, head, StatusReport(State.PENDING, f"Deploying {naming.short_sha(head)}…"))
        try:
            manifests = self._secret_copies(pr, ns_name) + self._manifests(pr, ns_name, config)
            if problems := secrets.missing_references(config, secrets.secret_keys(manifests)):
                self.reporter.report(ref, head, StatusReport(State.FAILURE, "; ".join(problems)))
                log.warning("not deployed: %s", "; ".join(problems), extra=self._log_extra(ref, head))
                return Outcome.FAILED
            self._apply_all(ns, ns_name, manifests, pr, config)
        except PermanentError as exc:
            self.reporter.report(ref, head, StatusReport(State.FAILURE, f"Deploy failed: {exc}"))
            log.warning("deploy failed: %s", exc, extra=self._log_extra(ref, head))
            return Outcome.FAILED
        log.info("preview applied", extra=self._log_extra(ref, head))
        return Outcome.DEPLOYED

    def render(self, ref: PullRef, sha: str | None = None) -> list[dict]:
        """The manifests a sync would apply for the PR's head (or commit ``sha``), without applying anything.

        ``.preview.yml`` and the repository's templates are read at that commit, as a deploy reads them;
        an invalid file raises :class:`ConfigError`, a failed render :class:`PermanentError`.
        """
        pr = self.github.get_pull(ref)
        if sha is not None:
            pr = replace(pr, head_sha=sha)
        config = check_policy(self.load_config(self.github.read_file(ref, FILE_NAME, pr.head_sha)), self.settings)
        manifests = self._manifests(pr, naming.namespace_name(ref.repo, ref.number), config)
        if self.strategy(config) == blue_green.BLUE_GREEN:
            return blue_green.prepare(manifests, pr.head_sha, pr.head_sha).manifests
        return manifests

    def _manifests(self, pr: PullRequest, ns_name: str, config: RepoConfig) -> list[dict]:
        """The built-in and repository templates rendered for ``pr``'s head."""
        extra = self._repo_templates(pr, config)
        return list(self.renderer.render(template_values(pr, ns_name, self.settings, config), extra))

    def _repo_templates(self, pr: PullRequest, config: RepoConfig) -> dict[str, str] | None:
        """The repository's own templates (``templates`` in ``.preview.yml``) at the head commit."""
        if not config.templates:
            return None
        found = self.github.read_templates(pr.ref, config.templates, pr.head_sha)
        if not found:
            raise PermanentError(f"templates: no *.yaml.j2 files in {config.templates} at {pr.head_sha[:7]}")
        return found

    def _hold(self, pr: PullRequest, config: RepoConfig) -> StatusReport | None:
        """A reason not to deploy the head yet: required checks not green."""
        ref, head = pr.ref, pr.head_sha
        if not config.required_checks:
            return None
        results = self.github.check_results(ref, head, self.settings.status_context)
        self.memory.put(f"waiting:{ref.repo}:{head}", str(ref.number))  # a later check or status event finds the PR
        failed = [name for name in config.required_checks if results.get(name) == "failure"]
        if failed:
            return StatusReport(State.FAILURE, f"Not deployed: check {', '.join(failed)} failed")
        waiting = [name for name in config.required_checks if results.get(name) != "success"]
        if waiting:
            return StatusReport(State.PENDING, f"Waiting for checks: {', '.join(waiting)}")
        return None

    def _apply_all(
        self, ns: NamespaceInfo | None, ns_name: str, manifests: list[dict], pr: PullRequest, config: RepoConfig
    ) -> None:
        namespace = next((m for m in manifests if m.get("kind") == "Namespace"), None)
        if namespace is None:
            raise PermanentError("templates render no Namespace")
        others = [m for m in manifests if m is not namespace]
        created_at = ns.annotations.get(Annotations.CREATED_AT) if ns else None
        if ns is None:
            created_at = iso(self.clock())
            self.cluster.apply(self._stamp(namespace, pr, created_at, None, None))
        access = access_binding(ns_name, self.settings)
        if access is not None and (ns is None or ns.annotations.get(Annotations.ACCESS) != self.settings.preview_role):
            self.cluster.apply(access)  # previewbot's own rights inside the namespace, before anything else
        old_inventory = json.loads(ns.annotations.get(Annotations.INVENTORY, "[]")) if ns else []
        switch: dict[str, str] = {}
        if self.strategy(config) == blue_green.BLUE_GREEN:
            others, switch = self._blue_green(ns, others, pr.head_sha)
        inventory = sorted(ObjectRef.of(m).key() for m in others)
        if switch and switch[Annotations.SERVING_SHA] != pr.head_sha:
            inventory += blue_green.kept(old_inventory, inventory, switch[Annotations.SERVING_SHA])
        for manifest in others:  # copied Secrets come first: the workload objects refer to them
            self._apply(manifest)
        for key in sorted(set(old_inventory) - set(inventory)):
            self.cluster.delete(ObjectRef.parse(key))
        stamped = self._stamp(namespace, pr, created_at or iso(self.clock()), pr.head_sha, inventory)
        stamped["metadata"]["annotations"].update(switch)
        expires = self._expiry(config)
        if expires:
            stamped["metadata"]["annotations"][Annotations.EXPIRES_AT] = expires
            stamped["metadata"]["annotations"][Annotations.TTL] = _duration(config.ttl_seconds or 0)
        self.cluster.apply(stamped)
        self.reporter.set_expiry(pr.ref, expires)
        if ns is not None and Annotations.SLEEPING_SINCE in ns.annotations:
            Sleeper.of(self).deployed(ns, pr.ref)  # a push or a redeploy wakes a sleeping preview

    def _secret_copies(self, pr: PullRequest, ns_name: str) -> list[dict]:
        """Copies of the operator's Secrets this preview gets (none unless ``PREVIEWBOT_SECRETS_NAMESPACE`` is set)."""
        source = self.settings.secrets_namespace
        if not source:
            return []
        chosen = secrets.select(self.cluster.list_secrets(source), pr.ref.repo, self.settings)
        if missing := secrets.missing_named(chosen, self.settings):
            raise PermanentError(f"secret {', '.join(missing)} not found in namespace {source}")
        labels = naming.labels(pr.ref.repo, pr.ref.number)
        return [secrets.copy_manifest(secret, ns_name, labels) for secret in chosen]

    def _apply(self, manifest: dict) -> None:
        """Apply one object; for a Secret, an error keeps only its action and HTTP status (never the server's text)."""
        if manifest.get("kind") != "Secret":
            self.cluster.apply(manifest)
            return
        try:
            self.cluster.apply(manifest)
        except TemporaryError as exc:
            raise TemporaryError(": ".join(str(exc).split(": ", 2)[:2]), exc.delay) from None
        except PermanentError as exc:
            raise PermanentError(": ".join(str(exc).split(": ", 2)[:2])) from None

    def _expiry(self, config: RepoConfig) -> str | None:
        """When a preview deployed now expires (``ttl`` in ``.preview.yml``), or None."""
        if config.ttl_seconds is None:
            return None
        return iso(self.clock() + timedelta(seconds=config.ttl_seconds))

    def _stamp(
        self, namespace: dict, pr: PullRequest, created_at: str, applied: str | None, inventory: list[str] | None
    ) -> dict:
        """The Namespace manifest with previewbot's bookkeeping annotations."""
        meta = dict(namespace["metadata"])
        annotations = dict(meta.get("annotations") or {})
        annotations[Annotations.REPO] = pr.ref.repo
        annotations[Annotations.PR] = str(pr.ref.number)
        if pr.ref.installation_id is not None:
            annotations[Annotations.INSTALLATION] = str(pr.ref.installation_id)
        annotations[Annotations.HEAD_SHA] = pr.head_sha
        annotations[Annotations.CREATED_AT] = created_at
        if applied is not None:
            annotations[Annotations.APPLIED_SHA] = applied
            annotations[Annotations.APPLIED_AT] = iso(self.clock())
        if inventory is not None:
            annotations[Annotations.INVENTORY] = json.dumps(inventory, separators=(",", ":"))
            if self.settings.service_account:
                annotations[Annotations.ACCESS] = self.settings.preview_role
        meta["annotations"] = annotations
        return {**namespace, "metadata": meta}
