"""The worker's and the watcher's own HTTP port: ``/metrics``, ``/healthz`` and ``/readyz``.

* ``GET /metrics``: Prometheus text format.
* ``GET /healthz``: 200 while the process runs (liveness; nothing else is checked).
* ``GET /readyz``: runs every check at once (each bounded by its own timeout) and answers 200
  ``{"status": "ok", "checks": {...}}``, or 503 with ``"status": "unavailable"`` and a ``reason`` naming
  the first check that failed. The worker and the watcher check Redis (PING), Kubernetes (``GET
  /version``) and GitHub (``GET /rate_limit``, which costs no quota).

:func:`start_for` is what a process's ``main`` calls; :func:`serve_health` is the server itself.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.registry import Collector

from integrations import metrics_registry
from preview.settings import Settings

log = logging.getLogger(__name__)

#: a check returns None when its service answered, else a short reason
Check = Callable[[], str | None]
DEFAULT_PORTS = {"worker": 9100, "watcher": 9101}
CHECK_SECONDS = 3.0


class HealthServer:
    """A running health and metrics server; :meth:`close` stops it."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def run_checks(checks: Mapping[str, Check], timeout: float = CHECK_SECONDS) -> tuple[bool, dict[str, Any]]:
    """Run ``checks`` in parallel; (ready, the JSON answer)."""
    results: dict[str, str] = {}
    if checks:
        pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readyz")
        futures = {name: pool.submit(check) for name, check in checks.items()}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=timeout) or "ok"
            except FutureTimeout:
                results[name] = f"no answer within {timeout:g} s"
            except Exception as exc:  # noqa: BLE001 - a failing check is an answer, not a crash
                results[name] = f"check failed ({type(exc).__name__})"
        pool.shutdown(wait=False, cancel_futures=True)
    failed = [f"{name}: {result}" for name, result in results.items() if result != "ok"]
    if failed:
        return False, {"status": "unavailable", "reason": failed[0], "checks": results}
    return True, {"status": "ok", "checks": results}


def serve_health(
    port: int,
    checks: Mapping[str, Check],
    *,
    registry: Collector | None = None,
    host: str = "0.0.0.0",  # Prometheus and the kubelet reach it from outside the pod
) -> HealthServer | None:
    """Serve ``/metrics`` (``registry``; default: this process's worker and watcher metrics), ``/healthz``
    and ``/readyz`` (``checks``) on ``host:port`` in a daemon thread. ``port`` 0: nothing is started.

    A port that cannot be bound is logged and the process goes on without the server.
    """
    if port <= 0:
        return None
    source = registry if registry is not None else metrics_registry.registry("watcher")

    class Handler(BaseHTTPRequestHandler):
        server_version = "previewbot"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, metrics_registry.render(source), metrics_registry.CONTENT_TYPE)
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                ready, answer = run_checks(checks)
                self._json(200 if ready else 503, answer)
            else:
                self._json(404, {"status": "not-found"})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass  # probes and scrapes every few seconds would drown the logs

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        log.error("cannot serve /metrics and health on %s:%d (%s); going on without them", host, port, exc.strerror)
        return None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    log.info("serving /metrics, /healthz and /readyz on %s:%d", host, port)
    return HealthServer(server, thread)


def checks_for(settings: Settings) -> dict[str, Check]:
    """Redis, Kubernetes and GitHub, each through a client of its own (see :mod:`integrations.probes`)."""
    from redis import Redis
    from redis.exceptions import RedisError

    from integrations import probes

    client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)

    def redis() -> str | None:
        try:
            return None if client.ping() else "no answer to PING"
        except RedisError as exc:
            return f"unreachable ({type(exc).__name__})"

    return {"redis": redis, "kubernetes": probes.kubernetes(settings), "github": probes.github(settings)}


def start_for(settings: Settings, role: str) -> HealthServer | None:
    """Start ``role``'s (``worker`` or ``watcher``) server on ``PREVIEWBOT_METRICS_PORT`` (default 9100 for the
    worker, 9101 for the watcher; 0: none). The worker's metrics are summed over its pool processes."""
    from redis import Redis

    from workers.observability import redis_state

    port = settings.metrics_port if settings.metrics_port is not None else DEFAULT_PORTS[role]
    if port <= 0:
        return None
    client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    state = metrics_registry.RedisState(redis_state(client))
    source = metrics_registry.registry(role, state, summed=role == "worker")
    return serve_health(port, checks_for(settings), registry=source, host=settings.metrics_host)
