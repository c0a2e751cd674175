"""The Celery application, configured from settings, with previewbot's tasks registered."""

from __future__ import annotations

from celery import Celery

from preview.settings import Settings
from workers.runtime import Runtime

QUEUE = "previewbot"


def make_celery(settings: Settings, runtime: Runtime | None = None) -> Celery:
    """A Celery app bound to ``settings.redis_url``; tasks use ``runtime`` (built lazily)."""
    app = Celery("previewbot", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # A task whose worker died is delivered again after the visibility timeout;
            # sweep for such tasks often enough for that timeout to mean what it says.
            "visibility_timeout": settings.visibility_timeout_seconds,
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_seconds // 2)),
            "unacked_restore_throttle": 1,
        },
        # A task past the soft limit ends in a failure status; past the hard limit its process is
        # killed and the status is recorded by the task's failure hook (shown by the watcher).
        task_soft_time_limit=settings.task_time_limit_seconds,
        task_time_limit=settings.task_hard_time_limit_seconds,
        task_serializer="json",
        accept_content=["json"],
    )
    from workers.tasks import register

    runtime = runtime or Runtime(settings)
    if runtime.celery_app is None:
        runtime.celery_app = app  # a freed preview slot queues the next PR's sync here
    register(app, runtime)
    return app
