"""Server-side apply: ownership-aware merge with conflict detection."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError
from .fields import Manager, Path, display, parse_managers, paths_of, remove_at, store_managers, trackable, value_at
from .patch import list_key


def _merge(target: Any, config: Any, name: str = "") -> Any:
    """Merge applied configuration into live state (maps recurse, keyed lists by key, rest replaced)."""
    if isinstance(config, dict):
        out = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in config.items():
            out[key] = _merge(out.get(key), value, key)
        return out
    if isinstance(config, list):
        key = list_key(name, config)
        if key is None or not isinstance(target, list) or not all(isinstance(i, dict) for i in config):
            return copy.deepcopy(config)
        out = copy.deepcopy(target)
        for item in config:
            ident = tuple(item.get(k) for k in key)
            idx = next(
                (i for i, cur in enumerate(out) if isinstance(cur, dict) and tuple(cur.get(k) for k in key) == ident),
                None,
            )
            if idx is None:
                out.append(copy.deepcopy(item))
            else:
                out[idx] = _merge(out[idx], item)
        return out
    return copy.deepcopy(config)


def _conflict_error(plural: str, group: str, name: str, found: list[tuple[Manager, Path]]) -> ApiError:
    causes = [
        {
            "type": "FieldManagerConflict",
            "message": f'conflict with "{m.manager}"'
            + (f" using {m.api_version}" if m.operation == "Apply" or m.api_version else ""),
            "field": display(p),
        }
        for m, p in found
    ]
    n = len(found)
    if n == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        by_msg: dict[str, list[str]] = {}
        for c in causes:
            by_msg.setdefault(c["message"], []).append(c["field"])
        lines = []
        for msg, fields in by_msg.items():
            lines.append(msg.replace("conflict with", "conflicts with", 1) + ":")
            lines.extend(f"- {f}" for f in fields)
        message = f"Apply failed with {n} conflicts: " + "\n".join(lines)
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = plural
    details["causes"] = causes
    return ApiError(409, message, "Conflict", details)


def server_side_apply(
    current: dict[str, Any] | None,
    config: dict[str, Any],
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    plural: str,
    group: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Return the object after applying ``config`` as ``manager``; raise 409 on conflicts."""
    keep_status = subresource == "status"
    cfg = trackable(config, keep_status)
    if subresource == "status":
        cfg = {k: v for k, v in cfg.items() if k in ("status", "metadata")}
    new_paths = paths_of(cfg)
    managers = parse_managers(current)
    live = trackable(current or {}, True)
    own = next((m for m in managers if m.same_slot(manager, "Apply", subresource)), None)
    found: list[tuple[Manager, Path]] = []
    for other in managers:
        if other is own:
            continue
        for path in sorted(new_paths & other.paths):
            if path[-1] == ".":
                continue
            exists, live_value = value_at(live, path)
            if exists and live_value != value_at(cfg, path)[1]:
                found.append((other, path))
    name = (config.get("metadata") or {}).get("name", "")
    if found and not force:
        raise _conflict_error(plural, group, name, found)
    for other, path in found:
        other.paths.discard(path)
    obj = copy.deepcopy(current) if current is not None else {}
    if own is not None:
        others: set[Path] = set()
        for other in managers:
            if other is not own:
                others |= other.paths
        for path in sorted(own.paths - new_paths - others, key=len, reverse=True):
            remove_at(obj, path)
    else:
        own = Manager(manager, "Apply", api_version, now, subresource)
        managers.append(own)
    own.paths = new_paths
    own.time = now
    own.api_version = api_version
    body = {k: v for k, v in config.items() if k not in ("metadata", "status") or k == "status" and keep_status}
    meta_cfg = {
        k: v
        for k, v in (config.get("metadata") or {}).items()
        if k in ("labels", "annotations", "finalizers", "ownerReferences", "name", "namespace", "generateName")
    }
    obj = _merge(obj, body)
    obj["metadata"] = _merge(obj.get("metadata") or {}, meta_cfg)
    for key in ("labels", "annotations"):
        if obj["metadata"].get(key) == {}:
            obj["metadata"].pop(key)
    full = trackable(obj, True)
    for m in managers:
        m.paths = {p for p in m.paths if value_at(full, p)[0]}
    store_managers(obj, [m for m in managers if m.paths or m is own])
    return obj
