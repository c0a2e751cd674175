"""WSGI application exposing the store over the Kubernetes REST API, and its threaded HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import resources, routing, scale
from .authn import Authenticator
from .errors import ApiError
from .escalation import Admission
from .faults import FaultInjector, RecordedRequest
from .handlers import PATCH_TYPES, Handlers, decode_body
from .rbac import Authorizer, Decision, Refused, forbidden
from .requestinfo import request_info
from .selectors import field_matcher, label_matcher
from .store import Store
from .watchstream import parse_rv, stream


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")) + "\n", status=status, headers=headers, mimetype="application/json"
    )


class ApiApp:
    """The API server as a WSGI callable: authentication, authorization, then the verb handlers."""

    def __init__(
        self,
        store: Store,
        faults: FaultInjector,
        authn: Authenticator,
        authz: Authorizer,
        bookmark_every: float = 1.0,
    ) -> None:
        self.store = store
        self.faults = faults
        self.authn = authn
        self.authz = authz
        self.bookmark_every = bookmark_every

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Serve one request, recording it with its user and every authorization check made."""
        arrived = time.time()
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        query = {k: v for k, v in request.args.items()}
        attrs = request_info(request.method, request.path, query)
        verb, res_name, ns, name, user = attrs.verb, attrs.resource, None, None, None
        checks: list[Decision] = []
        denied: tuple[Decision, ...] = ()
        try:
            user = self.authn.authenticate(request.headers.get("Authorization", ""))
            allowed, reason = self.authz.authorize(user, attrs, checks)
            if not allowed:
                raise Refused(forbidden(user, attrs, reason), [checks[-1]])
            static = self._non_resource(request.path)
            if static is not None:
                return static
            route = routing.parse(request.path)
            if route is None:
                raise routing.not_found_path()
            ns, name, res_name = route.namespace, route.name, route.res.plural
            content_type = (request.mimetype or "").lower()
            verb = routing.verb_for(request.method, route, attrs.verb == "watch", content_type)
            fault = self.faults.take(verb, res_name, name)
            if fault is not None:
                raise fault
            handlers = Handlers(self.store, Admission(self.authz, user, attrs, checks))
            response = self._serve(handlers, verb, route, query, request, content_type)
        except ApiError as exc:
            denied = exc.denied if isinstance(exc, Refused) else ()
            response = _json(exc.code, exc.body, exc.headers)
        self.faults.record(
            RecordedRequest(
                verb,
                res_name,
                ns,
                name,
                request.path,
                response.status_code,
                query,
                user=user.name if user else "",
                authz_verb=attrs.verb,
                group=attrs.group,
                checks=tuple(checks),
                denied=denied,
                at=arrived,
                finished=time.time(),
            )
        )
        return response

    def _non_resource(self, path: str) -> Response | None:
        path = path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez"):
            return Response("ok", mimetype="text/plain")
        if path == "/version":
            return _json(200, resources.SERVER_VERSION)
        if path == "/api":
            return _json(200, resources.core_versions())
        if path == "/apis":
            return _json(200, resources.group_list())
        parts = [p for p in path.split("/") if p]
        doc: dict[str, Any] | None = None
        if parts == ["api", "v1"]:
            doc = resources.resource_list("", "v1")
        elif len(parts) == 2 and parts[0] == "apis":
            doc = resources.group_doc(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = resources.resource_list(parts[1], parts[2])
        else:
            return None
        if doc is None:
            raise_404 = routing.not_found_path()
            return _json(404, raise_404.body)
        return _json(200, doc)

    def _serve(
        self,
        h: Handlers,
        verb: str,
        route: routing.Route,
        query: dict[str, str],
        request: Request,
        content_type: str,
    ) -> Response:
        ua = request.headers.get("User-Agent", "")
        if verb == "watch":
            return self._watch(route, query)
        if route.subresource == "scale":
            if verb == "patch" and content_type not in PATCH_TYPES:
                raise ApiError(415, f'the server does not support media type "{content_type}"', "UnsupportedMediaType")
            data = decode_body(request.get_data(), content_type) if verb != "get" else None
            return _json(*scale.serve(h, verb, route, query, data, content_type, ua))
        if verb == "get":
            if route.subresource not in ("", "status"):
                raise routing.not_found_path()
            code, body = h.get(route, query)
        elif verb == "list":
            code, body = h.list(route, query)
        elif verb in ("delete", "deletecollection"):
            data = decode_body(request.get_data(), "application/json")
            code, body = getattr(h, verb)(route, query, data)
        else:
            if verb == "patch" and content_type not in PATCH_TYPES:
                raise ApiError(415, f'the server does not support media type "{content_type}"', "UnsupportedMediaType")
            data = decode_body(request.get_data(), content_type)
            if verb == "create":
                code, body = h.create(route, query, data, ua)
            elif verb == "update":
                code, body = h.update(route, query, data, ua)
            elif verb == "apply":
                code, body = h.apply(route, query, data)
            else:
                code, body = h.patch(route, query, data, content_type, ua)
        return _json(code, body)

    def _watch(self, route: routing.Route, query: dict[str, str]) -> Response:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), route.res.kind)
        rv = parse_rv(query.get("resourceVersion"))
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        bookmarks = self.bookmark_every if query.get("allowWatchBookmarks") in ("true", "1") else None
        body = stream(self.store, route.res, route.namespace, lambda o: labels(o) and fields(o), rv, timeout, bookmarks)
        return Response(body, status=200, mimetype="application/json", direct_passthrough=True)


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        pass


class ApiServer:
    """Threaded HTTP server for :class:`ApiApp` on 127.0.0.1."""

    def __init__(self, app: ApiApp, port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="kube-emulator-http", daemon=True
        )

    @property
    def port(self) -> int:
        """Bound TCP port."""
        return int(self._server.server_port)

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread."""
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
