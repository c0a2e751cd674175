"""Builds the adapters and the lifecycle once per process, from settings (never at import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from redis import Redis

from preview.lifecycle import Lifecycle
from preview.ports import TemporaryError
from preview.reporting import Reporter
from preview.settings import Settings
from preview.sleep import Sleeper, asleep, wake_wanted_key
from preview.slots import Slots


@dataclass
class Runtime:
    """Lazily constructed collaborators for tasks and the watcher."""

    settings: Settings
    #: the Celery app whose queue gets the sync of a PR whose turn for a preview slot came
    #: (set by :func:`workers.celery_app.make_celery`)
    celery_app: Any = field(default=None, repr=False)

    @cached_property
    def redis(self) -> Redis:
        return Redis.from_url(
            self.settings.redis_url, socket_timeout=10, socket_connect_timeout=5, client_name="previewbot"
        )

    @cached_property
    def github(self):  # noqa: ANN201 - adapter type lives in integrations
        from integrations.github_client import GitHubClient
        from workers.budget import WriteBudget

        budget = WriteBudget(self.redis, self.settings.github_writes_per_minute, self.settings.github_write_burst)
        return GitHubClient.from_settings(self.settings).with_budget(budget)

    @cached_property
    def cluster(self):  # noqa: ANN201
        from integrations.kube import KubeCluster

        return KubeCluster.from_settings(self.settings)

    @cached_property
    def reporter(self) -> Reporter:
        from workers.history import RedisStatusHistory
        from workers.ledger import RedisLedger
        from workers.observability import FinalStatusTimer
        from workers.outbox import RedisOutbox

        outbox = RedisOutbox(self.redis)
        return Reporter(
            self.github,
            RedisLedger(self.redis),
            self.settings.status_context,
            outbox=outbox,
            pending=outbox,
            history=RedisStatusHistory(self.redis),
            on_final=FinalStatusTimer(self.redis),
        )

    @cached_property
    def lifecycle(self) -> Lifecycle:
        from integrations.render import TemplateRenderer
        from integrations.repo_config_loader import load

        return Lifecycle(
            github=self.github,
            cluster=self.cluster,
            renderer=TemplateRenderer(self.settings.templates_dir),
            reporter=self.reporter,
            settings=self.settings,
            load_config=load,
            slots=self.slots,
        )

    @cached_property
    def sleeper(self) -> Sleeper:
        """Sleep and wake of idle previews (``PREVIEWBOT_IDLE_SLEEP_SECONDS``), through the lifecycle's ports."""
        return Sleeper.of(self.lifecycle)

    @cached_property
    def slots(self) -> Slots | None:
        """Fair limits on live previews (``PREVIEWBOT_MAX_PREVIEWS``, ``…_PER_REPO``); None without limits."""
        from preview.slots import Limits, Waiting
        from workers.enqueue import Enqueuer
        from workers.slot_queue import RedisSlotQueue, wake_sleeping, wake_through

        limits = Limits(self.settings.max_previews, self.settings.max_previews_per_repo)
        if not limits.enabled:
            return None

        def wake(waiting: Waiting) -> object:
            if self.celery_app is None:  # e.g. `previewbot render`, which never frees a slot
                raise TemporaryError("no task queue to start the next preview on")
            enqueuer = Enqueuer(self.redis, self.celery_app, self.settings.delivery_ttl_seconds)
            if frees and self.reporter.ledger.get(wake_wanted_key(waiting.ref)):
                return wake_sleeping(enqueuer, waiting)  # a sleeping preview waited for this slot
            return wake_through(enqueuer, self.settings.watch_resync_seconds)(waiting)

        frees = self.settings.sleep_frees_slot
        dormant = (lambda ns: asleep(ns.annotations)) if frees else None
        return Slots(limits, RedisSlotQueue(self.redis), self.cluster, self.reporter, wake, dormant=dormant)
