"""Enqueue a command and record its delivery id in one atomic Redis round trip.

The message is a regular Celery (protocol 2) message on the Redis transport, pushed by a
Lua script that first checks the delivery id: a redelivered webhook enqueues nothing, and
the id is recorded only together with the job, never without it.
"""

from __future__ import annotations

import base64
import json
import uuid

from celery import Celery
from redis import Redis
from redis.exceptions import RedisError

from preview.models import Command, CommandKind

TASK_NAMES = {
    CommandKind.SYNC: "previewbot.sync_preview",
    CommandKind.TEARDOWN: "previewbot.teardown_preview",
    CommandKind.COMMAND: "previewbot.run_command",
    CommandKind.CHECKS: "previewbot.checks_finished",
    CommandKind.PURGE: "previewbot.purge_repositories",
}

#: Task kinds that act on a PR's whole state: a newer one makes older queued ones redundant.
COALESCED = frozenset({CommandKind.SYNC, CommandKind.TEARDOWN})

_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[2]))
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[4], 'EX', tonumber(ARGV[2])) end
return 1
"""


def latest_key(repo: str, number: int) -> str:
    """Holds the id of the newest queued sync or teardown of a PR (older ones then do nothing)."""
    return f"previewbot:latest:{repo}#{number}"


class QueueUnavailable(RuntimeError):
    """Redis could not be reached; nothing was enqueued or recorded."""


class Enqueuer:
    """Turns a :class:`Command` into a Celery task message, deduplicated by delivery id."""

    def __init__(self, client: Redis, celery_app: Celery, dedupe_ttl: int) -> None:
        self._redis = client
        self._celery = celery_app
        self._ttl = dedupe_ttl
        self._script = client.register_script(_SCRIPT)
        self._queue = celery_app.conf.task_default_queue

    def _message(self, command: Command, task_id: str) -> str:
        name = TASK_NAMES[command.kind]
        kwargs = command.as_message()
        headers, properties, body, _ = self._celery.amqp.as_task_v2(
            task_id, name, args=(), kwargs=kwargs, kwargsrepr=repr(kwargs)
        )
        properties.update(
            {
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": self._queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            }
        )
        envelope = {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": properties,
        }
        return json.dumps(envelope)

    def submit(self, command: Command) -> bool:
        """Enqueue ``command``; False if its delivery id was seen before."""
        task_id = str(uuid.uuid4())
        keys = [f"previewbot:delivery:{command.delivery_id}", self._queue]
        if command.kind in COALESCED and command.number > 0:
            keys.append(latest_key(command.repo, command.number))
        args = [self._message(command, task_id), self._ttl, command.kind, task_id]
        try:
            return bool(self._script(keys=keys, args=args))
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except RedisError:
            return False
