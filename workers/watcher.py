"""The watcher process: one list + watch of previewbot's Deployments, reported as commit statuses.

It follows a single cluster-wide watch stream (never polling per preview), resumes from the
last resourceVersion, relists after 410 Gone and every ``watch_resync_seconds``, and reports a
status only when it differs from the last one reported for that SHA (remembered in Redis, so a
restarted watcher neither repeats nor misses a status).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from preview import naming
from preview.models import PullRef
from preview.ports import PermanentError, TemporaryError
from preview.reporting import Reporter
from preview.rollout import deadline_exceeded, rollout_state, template_sha

log = logging.getLogger(__name__)

SELECTOR = f"{naming.MANAGED_BY}={naming.MANAGER}"


class _NeverRaised(Exception):
    """Placeholder when the source has no expiry exception."""


class DeploymentSource(Protocol):
    """What the watcher needs from the cluster adapter."""

    def list_deployments(self, label_selector: str) -> tuple[list[dict], str]: ...

    def watch_deployments(
        self, label_selector: str, resource_version: str, timeout_seconds: int
    ) -> Iterator[tuple[str, dict]]: ...

    def list_pods(self, namespace: str, label_selector: str) -> list[dict]: ...


class Watcher:
    """Reconciles Deployment rollouts into commit statuses."""

    def __init__(
        self,
        source: DeploymentSource,
        reporter: Reporter,
        *,
        resync_seconds: int = 300,
        expired: type[Exception] = _NeverRaised,
        sweep: Callable[[], object] | None = None,
    ) -> None:
        self.source = source
        self.reporter = reporter
        self.sweep = sweep
        self.resync_seconds = resync_seconds
        self.expired = expired
        self.stopping = threading.Event()
        self.resource_version: str | None = None
        self.reported = 0

    def handle(self, deployment: dict) -> None:
        """Report the state of one Deployment if it changed."""
        pods = None
        if deadline_exceeded(deployment):
            meta = deployment.get("metadata", {})
            selector = (deployment.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
            pods = self.source.list_pods(meta.get("namespace", ""), naming.selector(selector))
        state = rollout_state(deployment, pods)
        if state is None:
            return
        ref = PullRef(state.repo, state.number, state.installation_id)
        extra = {"repo": state.repo, "pr": state.number, "sha": state.sha}
        try:
            if self.reporter.report(ref, state.sha, state.report):
                self.reported += 1
        except (TemporaryError, PermanentError) as exc:
            log.warning("could not report status: %s", exc, extra=extra)

    def _relist(self) -> None:
        items, self.resource_version = self.source.list_deployments(SELECTOR)
        log.info("listed %d preview deployments", len(items))
        for deployment in items:
            self.handle(deployment)
        if self.sweep is not None:
            try:
                self.sweep()
            except (TemporaryError, PermanentError) as exc:
                log.warning("expiry sweep failed: %s", exc)

    def run_once(self, timeout_seconds: int) -> None:
        """List if needed, then follow the watch stream until it ends or we stop."""
        if self.resource_version is None:
            self._relist()
        assert self.resource_version is not None
        for kind, obj in self.source.watch_deployments(SELECTOR, self.resource_version, timeout_seconds):
            rv = obj.get("metadata", {}).get("resourceVersion")
            if rv:
                self.resource_version = rv
            if kind in ("ADDED", "MODIFIED") and template_sha(obj):
                self.handle(obj)
            if self.stopping.is_set():
                return

    def run(self) -> None:
        """Loop until :meth:`stop`: watch, relist on expiry or resync, back off on errors."""
        failures = 0
        last_list = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_list >= self.resync_seconds:
                self.resource_version = None
            try:
                listing = self.resource_version is None
                self.run_once(timeout_seconds=min(self.resync_seconds, 60))
                if listing:
                    last_list = time.monotonic()
                failures = 0
            except self.expired:
                log.info("watch expired (410 Gone); relisting")
                self.resource_version = None
            except Exception as exc:  # noqa: BLE001 - the loop must survive any transport error
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                log.warning("watch failed (%s); reconnecting in %.1fs", type(exc).__name__, delay)
                self.stopping.wait(delay)

    def stop(self) -> None:
        self.stopping.set()


def main() -> None:
    """``python -m workers.watcher``: run until SIGTERM/SIGINT."""
    from preview import logs
    from preview.settings import SettingsError, load
    from workers.runtime import Runtime

    try:
        settings = load().require_github()
    except SettingsError as exc:
        print(f"previewbot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.configure(settings.log_level)
    runtime = Runtime(settings)
    from integrations.kube import WatchExpired

    watcher = Watcher(
        runtime.cluster,
        runtime.reporter,
        resync_seconds=settings.watch_resync_seconds,
        expired=WatchExpired,
        sweep=lambda: runtime.lifecycle.expire(settings.keep_label),
    )
    thread = threading.Thread(target=watcher.run, name="watch", daemon=True)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        watcher.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("watcher started")
    thread.start()
    while thread.is_alive() and not watcher.stopping.is_set():
        watcher.stopping.wait(1.0)
    thread.join(timeout=5)
    log.info("watcher stopped")


if __name__ == "__main__":
    main()
