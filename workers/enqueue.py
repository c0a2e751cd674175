"""Enqueue a command and record its delivery id in one atomic Redis round trip.

The message is a regular Celery (protocol 2) message on the Redis transport, pushed by a
Lua script that first checks the delivery id: a redelivered webhook enqueues nothing, and
the id is recorded only together with the job, never without it. The same script keeps the
bookkeeping that needs arrival order: the newest sync of each PR (older queued ones then do
nothing), the heads a PR had, the head a ``/preview`` command's author could have seen, and when
a sync of each head was first accepted (for ``previewbot_webhook_to_ready_seconds``). Each message
carries the time it was built in a header of its own (``previewbot_enqueued_at``, epoch seconds),
for ``previewbot_queue_wait_seconds``; Celery passes unknown headers through to the task's request.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime

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
    CommandKind.SWITCH: "previewbot.switch_traffic",
    CommandKind.WAKE: "previewbot.wake_preview",
    CommandKind.SLEEP: "previewbot.settle_sleep",
}

#: Message header holding the time (epoch seconds) the intake built the message.
ENQUEUED_AT = "previewbot_enqueued_at"

#: Task kinds that act on a PR's whole state: a newer one makes older queued ones redundant.
COALESCED = frozenset({CommandKind.SYNC, CommandKind.TEARDOWN})

#: How long the heads a PR had are remembered (an approval may come days after a push).
HEADS_TTL = 30 * 24 * 3600
#: A head recorded this many seconds after a comment was written still counts as seen (delivery delay).
SEEN_TOLERANCE = 2

# ARGV: message, dedupe ttl, kind, task id, mode, value, heads ttl. Modes:
#   sync    KEYS[3] = the PR's newest-task key
#   push    KEYS[3] = newest-task key, KEYS[4] = the PR's head history (value: the pushed SHA),
#           KEYS[5] (a sync only) = when this head was first accepted, in Redis's clock
#   command KEYS[3] = head history, KEYS[4] = where the command's seen head goes (value: newest usable time)
_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl, mode = tonumber(ARGV[2]), ARGV[5]
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[3], 'EX', ttl)
if mode == 'sync' or mode == 'push' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ttl) end
if mode == 'push' then
  local now = redis.call('TIME')
  redis.call('LPUSH', KEYS[4], now[1] .. ' ' .. ARGV[6])
  redis.call('LTRIM', KEYS[4], 0, 49)
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[7]))
  if KEYS[5] then
    redis.call('SET', KEYS[5], now[1] .. '.' .. string.format('%06d', tonumber(now[2])), 'NX', 'EX', ttl)
  end
elseif mode == 'command' then
  local limit = tonumber(ARGV[6])
  for _, entry in ipairs(redis.call('LRANGE', KEYS[3], 0, 49)) do
    local at, sha = string.match(entry, '^(%d+) (%x+)$')
    if at and tonumber(at) <= limit then
      redis.call('SET', KEYS[4], sha, 'EX', tonumber(ARGV[7]))
      break
    end
  end
end
return 1
"""


def latest_key(repo: str, number: int) -> str:
    """Holds the id of the newest queued sync or teardown of a PR (older ones then do nothing)."""
    return f"previewbot:latest:{repo}#{number}"


def heads_key(repo: str, number: int) -> str:
    """The PR's heads as the intake received them, newest first: ``"<epoch seconds> <sha>"``."""
    return f"previewbot:heads:{repo}#{number}"


def accepted_key(repo: str, number: int, sha: str) -> str:
    """When the intake first accepted a sync of ``sha`` (Redis time, ``"<seconds>.<microseconds>"``)."""
    return f"previewbot:accepted:{repo}#{number}@{sha}"


def seen_key(repo: str, number: int, comment_id: int) -> str:
    """The head a PR had when a command comment about it arrived."""
    return f"previewbot:seen:{repo}#{number}:{comment_id}"


def _epoch(timestamp: str) -> int | None:
    try:
        return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def _mode(command: Command) -> tuple[str, list[str], str]:
    """The script's bookkeeping for ``command``: mode, extra keys and value."""
    repo, number = command.repo, command.number
    if command.kind in COALESCED and number > 0:
        if command.event == "pull_request" and command.sha:
            keys = [latest_key(repo, number), heads_key(repo, number)]
            if command.kind is CommandKind.SYNC:
                keys.append(accepted_key(repo, number, command.sha))
            return "push", keys, command.sha
        return "sync", [latest_key(repo, number)], ""
    if command.kind is CommandKind.COMMAND and command.comment_id and (written := _epoch(command.created_at)):
        return (
            "command",
            [heads_key(repo, number), seen_key(repo, number, command.comment_id)],
            str(written + SEEN_TOLERANCE),
        )
    return "", [], ""


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
        headers[ENQUEUED_AT] = time.time()
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
        mode, extra, value = _mode(command)
        keys = [f"previewbot:delivery:{command.delivery_id}", self._queue, *extra]
        args = [self._message(command, task_id), self._ttl, command.kind, task_id, mode, value, HEADS_TTL]
        try:
            return bool(self._script(keys=keys, args=args))
        except RedisError as exc:
            raise QueueUnavailable(type(exc).__name__) from None

    def queue_depth(self) -> int | None:
        """Messages waiting in the queue (one LLEN); None when Redis does not answer."""
        try:
            return int(self._redis.llen(self._queue))
        except RedisError:
            return None

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except RedisError:
            return False
