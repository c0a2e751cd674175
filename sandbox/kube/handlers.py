"""Verb implementations on top of the store (everything except transport)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import yaml

from . import errors, leases
from .apply import server_side_apply
from .clock import rfc3339
from .patch import json_patch, merge_patch, strategic_merge
from .resources import ResourceType
from .routing import Route
from .selectors import field_matcher, label_matcher
from .store import DEFAULT_MANAGER, Store

Admit = Callable[[ResourceType, dict[str, Any] | None, dict[str, Any], bool], None]
PATCH_TYPES = {
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/apply-patch+cbor",
}


def decode_body(raw: bytes, content_type: str) -> Any:
    """Parse a JSON (or, for apply, YAML) request body."""
    if not raw:
        return None
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw.decode())
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(
            f"the body of the request was in an unknown format - accepted media types "
            f"include: application/json, application/yaml ({exc})"
        ) from exc


def _matcher(res: ResourceType, query: dict[str, str]):  # noqa: ANN202
    labels = label_matcher(query.get("labelSelector"))
    fields = field_matcher(query.get("fieldSelector"), res.kind)
    return lambda obj: labels(obj) and fields(obj)


def _manager(query: dict[str, str], user_agent: str) -> str:
    if query.get("fieldManager"):
        return query["fieldManager"]
    return (user_agent or DEFAULT_MANAGER).split("/", 1)[0] or DEFAULT_MANAGER


def _check_type(res: ResourceType, body: Any, require: bool = False) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.bad_request(
            "the body of the request was in an unknown format - accepted media types "
            "include: application/json, application/yaml"
        )
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if require and (not api_version or not kind):
        raise errors.bad_request(f"invalid object type: {api_version or ''}, Kind={kind or ''}")
    if api_version and api_version != res.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({res.api_version})"
        )
    if kind and kind != res.kind:
        raise errors.bad_request(
            f'{kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            f"the kind in the data ({kind}) does not match the expected kind ({res.kind})"
        )
    return body


def _decode(res: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """Fields the API server decodes into typed values (a Lease's MicroTimes), normalised in place."""
    if res.kind == "Lease":
        leases.decode(obj)
    return obj


def _check_namespace(route: Route, body: dict[str, Any]) -> None:
    ns = (body.get("metadata") or {}).get("namespace")
    if route.res.namespaced and ns and route.namespace and ns != route.namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )


def _list_item(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _admit_all(res: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], creating: bool) -> None:
    """No storage-level checks (the default)."""


class Handlers:
    """Implements each Kubernetes verb against a :class:`Store`.

    ``admit(res, old, new, creating)`` runs before every write with the object about to be stored
    (``creating``: a server-side apply creates it) and raises to refuse it.
    """

    def __init__(self, store: Store, admit: Admit = _admit_all) -> None:
        self.store = store
        self.admit = admit

    def get(self, route: Route, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 200, self.store.get(route.res, route.namespace, route.name or "")

    def list(self, route: Route, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        res = route.res
        items, rv = self.store.list(res, route.namespace, _matcher(res, query))
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        token = query.get("continue")
        if token:
            try:
                state = json.loads(base64.b64decode(token))
                rv_token, start = int(state["rv"]), str(state["start"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request("continue key is not valid: " + str(exc)) from exc
            if rv_token < self.store.floor:
                raise errors.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this "
                    "response to retrieve the remainder of the results. Continuing with the provided token "
                    "results in an inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in the list."
                )
            items = [i for i in items if _key(i) > start]
        limit = int(query.get("limit") or 0)
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = base64.b64encode(json.dumps({"rv": rv, "start": _key(items[-1])}).encode()).decode()
            meta["remainingItemCount"] = rest
        return 200, {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": meta,
            "items": [_list_item(i) for i in items],
        }

    def create(self, route: Route, query: dict[str, str], body: Any, user_agent: str) -> tuple[int, dict[str, Any]]:
        body = _decode(route.res, _check_type(route.res, body))
        _check_namespace(route, body)
        self.admit(route.res, None, body, False)
        obj = self.store.create(
            route.res, route.namespace, body, manager=_manager(query, user_agent), dry_run=bool(query.get("dryRun"))
        )
        return 201, obj

    def update(self, route: Route, query: dict[str, str], body: Any, user_agent: str) -> tuple[int, dict[str, Any]]:
        res, name = route.res, route.name or ""
        body = _decode(res, _check_type(res, body))
        _check_namespace(route, body)
        with self.store.transaction():
            current = self.store.peek(res, route.namespace, name)
            if current is None and res.create_on_update and not route.subresource:
                return self._create_on_update(route, query, body, user_agent)
            unconditional = not (body.get("metadata") or {}).get("resourceVersion")
            if current is not None and unconditional and not res.unconditional_update and not route.subresource:
                raise errors.resource_version_required(res.plural, res.group, name)
            if current is not None:
                self.admit(route.res, current, body, False)
            obj = self.store.update(
                route.res,
                route.namespace,
                route.name or "",
                body,
                manager=_manager(query, user_agent),
                subresource=route.subresource,
                dry_run=bool(query.get("dryRun")),
            )
        return 200, obj

    def _create_on_update(
        self, route: Route, query: dict[str, str], body: dict[str, Any], user_agent: str
    ) -> tuple[int, dict[str, Any]]:
        """A PUT of a missing object the registry may create: 201, if the user may also ``create``."""
        res, name = route.res, route.name or ""
        meta = body.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        self.admit(res, None, body, True)
        obj = self.store.create(
            res, route.namespace, body, manager=_manager(query, user_agent), dry_run=bool(query.get("dryRun"))
        )
        return 201, obj

    def patch(
        self, route: Route, query: dict[str, str], body: Any, content_type: str, user_agent: str
    ) -> tuple[int, dict[str, Any]]:
        errors.refuse_force(query)
        res, name = route.res, route.name or ""
        with self.store.transaction():
            current = self.store.get(res, route.namespace, name)
            if content_type.startswith("application/json-patch"):
                patched = json_patch(current, body)
            elif content_type.startswith("application/merge-patch"):
                patched = merge_patch(current, body)
            elif content_type.startswith("application/strategic-merge-patch"):
                patched = strategic_merge(current, body)
            else:
                raise errors.ApiError(
                    415, f'the server does not support media type "{content_type}"', "UnsupportedMediaType"
                )
            if not isinstance(patched, dict):
                raise errors.bad_request("patch produced an invalid object")
            _decode(res, patched)
            patched.setdefault("metadata", {})
            if patched["metadata"].get("resourceVersion") is None:
                patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.admit(res, current, patched, False)
            obj = self.store.update(
                res,
                route.namespace,
                name,
                patched,
                manager=_manager(query, user_agent),
                subresource=route.subresource,
                dry_run=bool(query.get("dryRun")),
            )
        return 200, obj

    def apply(self, route: Route, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        res, name = route.res, route.name or ""
        manager = query.get("fieldManager")
        if not manager:
            raise errors.field_manager_required()
        body = _check_type(res, body, require=True)
        _check_namespace(route, body)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        force = query.get("force") in ("true", "1")
        dry = bool(query.get("dryRun"))
        with self.store.transaction():
            current = self.store.peek(res, route.namespace, name)
            current = copy.deepcopy(current) if current is not None else None
            if current is None and route.subresource:
                raise errors.not_found(res.plural, res.group, name)
            cfg = copy.deepcopy(body)
            cfg.setdefault("metadata", {})["name"] = name
            merged = server_side_apply(
                current, cfg, manager, force, res.api_version, rfc3339(), res.plural, res.group, route.subresource
            )
            _decode(res, merged)
            self.admit(res, current, merged, current is None)
            if current is None:
                merged["metadata"]["name"] = name
                obj = self.store.create(res, route.namespace, merged, dry_run=dry, managed=False)
                return 201, obj
            want_rv = meta.get("resourceVersion")
            merged["metadata"]["resourceVersion"] = want_rv or current["metadata"]["resourceVersion"]
            obj = self.store.update(
                res, route.namespace, name, merged, subresource=route.subresource, dry_run=dry, managed=False
            )
            return 200, obj

    def delete(self, route: Route, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        res, name = route.res, route.name or ""
        opts = body if isinstance(body, dict) else {}
        propagation = query.get("propagationPolicy") or opts.get("propagationPolicy")
        if propagation and propagation not in ("Foreground", "Background", "Orphan"):
            raise errors.ApiError(
                422,
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported '
                f'value: "{propagation}": supported values: "Foreground", "Background", '
                f'"Orphan", "nil"',
                "Invalid",
            )
        grace = query.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
        obj, removed = self.store.delete(
            res,
            route.namespace,
            name,
            propagation=propagation,
            grace_seconds=int(grace) if grace not in (None, "") else None,
            preconditions=opts.get("preconditions") or None,
            dry_run=bool(query.get("dryRun") or opts.get("dryRun")),
        )
        if removed and res.kind not in ("Pod", "Service"):  # their registries return the deleted object
            details: dict[str, Any] = {"name": name}
            if res.group:
                details["group"] = res.group
            details["kind"] = res.plural
            details["uid"] = obj["metadata"]["uid"]
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        return 200, obj

    def deletecollection(self, route: Route, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        res = route.res
        items, _ = self.store.list(res, route.namespace, _matcher(res, query))
        opts = body if isinstance(body, dict) else {}
        propagation = query.get("propagationPolicy") or opts.get("propagationPolicy")
        deleted = []
        for item in items:
            try:
                obj, _ = self.store.delete(
                    res, item["metadata"].get("namespace"), item["metadata"]["name"], propagation=propagation
                )
                deleted.append(_list_item(obj))
            except errors.ApiError as exc:
                if exc.code != 404:
                    raise
        return 200, {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)},
            "items": deleted,
        }


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
