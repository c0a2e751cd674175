"""The :class:`KubeEmulator` facade: store, controllers, fault injection and HTTP server."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

from . import kubeconfig, registry
from .authn import Authenticator
from .controllers import ControllerManager
from .faults import FaultInjector, RecordedRequest
from .podadmission import PodAdmission
from .rbac import Authorizer, bootstrap_policy
from .resources import BY_KEY
from .server import ApiApp, ApiServer
from .store import Store

if TYPE_CHECKING:
    import kubernetes

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeEmulator:
    """An in-process Kubernetes API server stand-in reachable over HTTP.

    Requests carry the admin token (``system:masters``), a ServiceAccount token (authorized by RBAC) or,
    unless ``anonymous_as_admin`` is false, no token at all (served as the admin).
    """

    def __init__(self, speed: float = 1.0, history_window: int = 1000, anonymous_as_admin: bool = True) -> None:
        self.speed = speed if speed > 0 else 1.0
        self.token = secrets.token_hex(16)
        #: the token :meth:`write_kubeconfig` writes when given none (the admin's unless changed)
        self.kubeconfig_token = self.token
        self.store = Store(history_window)
        self.store.admission.append(PodAdmission(self.store))
        self.faults = FaultInjector()
        self.controllers = ControllerManager(self.store, self.speed)
        self.authn = Authenticator(self.store, self.token, anonymous_as_admin)
        self.authz = Authorizer(self.store)
        bookmark_every = max(0.1, min(1.0, 5.0 / self.speed))
        self.app = ApiApp(self.store, self.faults, self.authn, self.authz, bookmark_every=bookmark_every)
        self._server: ApiServer | None = None
        self._port = 0
        for name in SYSTEM_NAMESPACES:
            self.store.create(BY_KEY["namespaces"], None, {"metadata": {"name": name}}, manager="kube-apiserver")
        for res, obj in bootstrap_policy():
            self.store.create(res, None, obj, manager="kube-apiserver")
        registry.announce(self)

    def start(self, port: int = 0) -> KubeEmulator:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread."""
        if self._server is None:
            self.controllers.start()
            self._server = ApiServer(self.app, port)
            self._port = self._server.port
            self._server.start()
        return self

    def serve_forever(self, port: int = 0) -> None:
        """Serve in the calling thread (CLI use)."""
        self.controllers.start()
        self._server = ApiServer(self.app, port)
        self._port = self._server.port
        self._server.serve_forever()

    @property
    def port(self) -> int:
        """Bound port (0 before start)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:34567``."""
        return f"http://127.0.0.1:{self._port}"

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bearer token of ServiceAccount ``namespace/name``, valid while that ServiceAccount exists.

        It authenticates as ``system:serviceaccount:<namespace>:<name>`` in the groups
        ``system:serviceaccounts``, ``system:serviceaccounts:<namespace>`` and ``system:authenticated``.
        """
        return self.authn.service_account_token(namespace, name)

    def write_kubeconfig(self, path: str | os.PathLike[str], token: str | None = None) -> str:
        """Write a kubeconfig (context/cluster/user ``sandbox``) and return its path.

        Its user presents ``token``, by default :attr:`kubeconfig_token` (initially the admin token).
        """
        return kubeconfig.write(path, self.url, token or self.kubeconfig_token)

    def api_client(self, token: str | None = None) -> kubernetes.client.ApiClient:
        """An official-client ``ApiClient`` for this emulator, as the admin unless given another ``token``."""
        import kubernetes

        config = kubernetes.client.Configuration()
        config.host = self.url
        config.api_key = {"authorization": token or self.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return kubernetes.client.ApiClient(config)

    def inject_fault(
        self, verb: str, resource: str, status: int, count: int = 1, retry_after: int | None = None
    ) -> None:
        """Make the next ``count`` requests matching verb/resource ("*" = any) fail with ``status``."""
        self.faults.add(verb, resource, status, count, retry_after)

    def clear_faults(self) -> None:
        """Drop pending injected faults."""
        self.faults.clear()

    def set_latency(self, seconds: float) -> None:
        """Delay every request by ``seconds``."""
        self.faults.latency = max(0.0, float(seconds))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Served requests in arrival order (a copy)."""
        return self.faults.requests

    def clear_requests(self) -> None:
        """Empty the request record."""
        self.faults.clear_requests()

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of a resource (plural, ``plural.group`` or kind), optionally in one namespace."""
        return self.store.find(resource, namespace)

    def compact(self) -> None:
        """Drop the watch history so that watches from any older resourceVersion get 410 Expired."""
        self.store.compact()

    def stop(self) -> None:
        """Stop serving, end watches and stop the controllers."""
        self.store.close()
        self.controllers.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
