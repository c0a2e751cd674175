"""The ``scale`` subresource of Deployments and ReplicaSets, served as ``autoscaling/v1`` ``Scale`` objects.

As kube-apiserver's ``ScaleREST``: reads build a Scale from the parent; writes (update, patch, apply) are
applied to that Scale, validated, and only its ``spec.replicas`` (plus a ``resourceVersion`` precondition)
is copied back to the parent. Managed fields are kept on the parent, the writer's entry carrying
``subresource: scale``; the Scale itself never shows them.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .apply import server_side_apply
from .clock import rfc3339
from .fields import Manager, Path, parse_managers, store_managers
from .handlers import Handlers, _manager
from .objmeta import clone
from .patch import json_patch, merge_patch, strategic_merge
from .routing import Route
from .store import DEFAULT_MANAGER

API_VERSION = "autoscaling/v1"
KIND = "Scale"
REPLICAS: Path = ("f:spec", "f:replicas")


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as ``labels.Selector.String()`` prints it: requirements sorted by key."""
    reqs: list[tuple[str, str]] = []
    for key, value in ((selector or {}).get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in (selector or {}).get("matchExpressions") or []:
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "DoesNotExist": f"!{key}"}
        reqs.append((key, text.get(str(op), key)))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def scale_of(parent: dict[str, Any]) -> dict[str, Any]:
    """The Scale of a Deployment or ReplicaSet (``spec.replicas`` is omitted when 0, as its JSON tag says)."""
    meta = parent["metadata"]
    spec: dict[str, Any] = {}
    replicas = int((parent.get("spec") or {}).get("replicas", 0) or 0)
    if replicas:
        spec["replicas"] = replicas
    status: dict[str, Any] = {"replicas": int((parent.get("status") or {}).get("replicas", 0) or 0)}
    selector = selector_string((parent.get("spec") or {}).get("selector"))
    if selector:
        status["selector"] = selector
    return {
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
        "spec": spec,
        "status": status,
    }


def _not_found(route: Route) -> errors.ApiError:
    return errors.not_found(f"{route.res.plural}/scale", route.res.group, route.name or "")


def _parent(h: Handlers, route: Route) -> dict[str, Any]:
    found = h.store.peek(route.res, route.namespace, route.name or "")
    if found is None:
        raise _not_found(route)
    return clone(found)


def _check_scale(body: Any) -> dict[str, Any]:
    """Decode a request's Scale: 400 for another type or a non-integer ``spec.replicas``."""
    if not isinstance(body, dict):
        raise errors.bad_request(
            "the body of the request was in an unknown format - accepted media types "
            "include: application/json, application/yaml"
        )
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if api_version and api_version != API_VERSION:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version ({API_VERSION})"
        )
    if kind and kind != KIND:
        raise errors.bad_request(
            f'{kind} in version "v1" cannot be handled as a Scale: '
            f"the kind in the data ({kind}) does not match the expected kind (Scale)"
        )
    replicas = (body.get("spec") or {}).get("replicas")
    if replicas is not None and (isinstance(replicas, bool) or not isinstance(replicas, int)):
        got = "string" if isinstance(replicas, str) else "bool" if isinstance(replicas, bool) else "number"
        raise errors.bad_request(
            f'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal {got} into Go '
            f"struct field ScaleSpec.spec.replicas of type int32"
        )
    return body


def _to_parent(route: Route, parent: dict[str, Any], scale: dict[str, Any]) -> dict[str, Any]:
    """Validate the new Scale and copy its replicas and resourceVersion precondition onto the parent."""
    meta = parent["metadata"]
    replicas = int((scale.get("spec") or {}).get("replicas") or 0)
    if replicas < 0:
        cause = ("FieldValueInvalid", "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
        raise errors.invalid(KIND, "autoscaling", meta["name"], [cause])
    smeta = scale.get("metadata") or {}
    if smeta.get("uid") and smeta["uid"] != meta["uid"]:
        raise errors.conflict(
            f"{route.res.plural}/scale",
            route.res.group,
            meta["name"],
            f"Precondition failed: UID in precondition: {smeta['uid']}, UID in object meta: {meta['uid']}",
        )
    parent.setdefault("spec", {})["replicas"] = replicas
    meta["resourceVersion"] = smeta.get("resourceVersion") or ""
    return parent


def _write(
    h: Handlers, route: Route, query: dict[str, str], parent: dict[str, Any], manager: str | None
) -> dict[str, Any]:
    """Admit and store the parent; ``manager`` None: its managedFields were merged already (an apply)."""
    current = h.store.peek(route.res, route.namespace, route.name or "")
    h.admit(route.res, current, parent, False)
    obj = h.store.update(
        route.res,
        route.namespace,
        route.name or "",
        parent,
        manager=manager or DEFAULT_MANAGER,
        subresource="scale",
        dry_run=bool(query.get("dryRun")),
        managed=manager is not None,
    )
    return scale_of(obj)


def get(h: Handlers, route: Route) -> tuple[int, dict[str, Any]]:
    """GET …/scale."""
    return 200, scale_of(_parent(h, route))


def update(h: Handlers, route: Route, query: dict[str, str], body: Any, user_agent: str) -> tuple[int, dict[str, Any]]:
    """PUT …/scale: the body's name must be the URL's."""
    scale = _check_scale(body)
    name = (scale.get("metadata") or {}).get("name") or ""
    if name != route.name:
        raise errors.bad_request(f"the name of the object ({name}) does not match the name on the URL ({route.name})")
    with h.store.transaction():
        parent = _to_parent(route, _parent(h, route), scale)
        return 200, _write(h, route, query, parent, _manager(query, user_agent))


def patch(
    h: Handlers, route: Route, query: dict[str, str], body: Any, content_type: str, user_agent: str
) -> tuple[int, dict[str, Any]]:
    """PATCH …/scale with a JSON, merge or strategic merge patch of the Scale."""
    errors.refuse_force(query)
    with h.store.transaction():
        parent = _parent(h, route)
        current = scale_of(parent)
        if content_type.startswith("application/json-patch"):
            patched = json_patch(current, body)
        elif content_type.startswith("application/merge-patch"):
            patched = merge_patch(current, body)
        else:
            patched = strategic_merge(current, body)
        scale = _check_scale(patched)
        scale.setdefault("metadata", {}).setdefault("resourceVersion", parent["metadata"]["resourceVersion"])
        return 200, _write(h, route, query, _to_parent(route, parent, scale), _manager(query, user_agent))


def _scale_managers(parent: dict[str, Any]) -> list[Manager]:
    """The parent's managers that own ``spec.replicas``, owning only that (``ToSubresource``)."""
    return [
        Manager(m.manager, m.operation, m.api_version, m.time, m.subresource, {REPLICAS})
        for m in parse_managers(parent)
        if REPLICAS in m.paths
    ]


def _from_scale(parent: dict[str, Any], scale_managers: list[Manager]) -> None:
    """Merge the Scale's managers back into the parent's (``FromSubresource``)."""
    owners = {(m.manager, m.operation, m.subresource): m for m in scale_managers if REPLICAS in m.paths}
    managers = parse_managers(parent)
    for m in managers:
        if (m.manager, m.operation, m.subresource) in owners:
            m.paths.add(REPLICAS)
            owners.pop((m.manager, m.operation, m.subresource))
        else:
            m.paths.discard(REPLICAS)
    for m in owners.values():
        managers.append(Manager(m.manager, m.operation, parent["apiVersion"], m.time, m.subresource, {REPLICAS}))
    store_managers(parent, [m for m in managers if m.paths])


def apply(h: Handlers, route: Route, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
    """Server-side apply of a Scale; conflicts over ``spec.replicas`` are those of the parent's managers."""
    manager = query.get("fieldManager")
    if not manager:
        raise errors.field_manager_required()
    scale = _check_scale(body)
    if not scale.get("apiVersion") or not scale.get("kind"):
        raise errors.bad_request(
            f"invalid object type: {scale.get('apiVersion') or ''}, Kind={scale.get('kind') or ''}"
        )
    force = query.get("force") in ("true", "1")
    with h.store.transaction():
        parent = _parent(h, route)
        current = scale_of(parent)
        store_managers(current, _scale_managers(parent))
        cfg = clone(scale)
        cfg.setdefault("metadata", {})["name"] = route.name
        merged = server_side_apply(
            current, cfg, manager, force, parent["apiVersion"], rfc3339(), route.res.plural, route.res.group, "scale"
        )
        want_rv = (scale.get("metadata") or {}).get("resourceVersion")
        merged["metadata"]["resourceVersion"] = want_rv or parent["metadata"]["resourceVersion"]
        parent = _to_parent(route, parent, merged)
        _from_scale(parent, parse_managers(merged))
        return 200, _write(h, route, query, parent, None)


def serve(
    h: Handlers, verb: str, route: Route, query: dict[str, str], body: Any, content_type: str, user_agent: str
) -> tuple[int, dict[str, Any]]:
    """Dispatch one request on a ``scale`` subresource (get, update, patch, apply)."""
    if verb == "get":
        return get(h, route)
    if verb == "update":
        return update(h, route, query, body, user_agent)
    if verb == "patch":
        return patch(h, route, query, body, content_type, user_agent)
    if verb == "apply":
        return apply(h, route, query, body)
    raise errors.ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
