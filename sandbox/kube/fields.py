"""Field paths in ``FieldsV1`` notation and ``managedFields`` bookkeeping.

A path is a tuple of FieldsV1 keys, e.g. ``("f:spec", "f:replicas")`` or
``("f:spec", "f:containers", 'k:{"name":"web"}', ".")`` for a keyed list item itself.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from .patch import list_key

Path = tuple[str, ...]
TRACKED_METADATA = ("labels", "annotations", "finalizers", "ownerReferences")


def trackable(obj: dict[str, Any], keep_status: bool) -> dict[str, Any]:
    """The part of an object whose fields get owners (a read-only view sharing ``obj``'s values)."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    if not keep_status:
        out.pop("status", None)
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in TRACKED_METADATA if meta.get(k) not in (None, {}, [])}
    if kept:
        out["metadata"] = kept
    return out


def _item_key(item: dict[str, Any], key: tuple[str, ...]) -> str:
    return "k:" + json.dumps({k: item.get(k) for k in key}, separators=(",", ":"), sort_keys=True)


def paths_of(obj: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """All leaf paths (plus keyed-item markers) of a nested object."""
    paths: set[Path] = set()
    for name, value in obj.items():
        here = prefix + ("f:" + name,)
        key = list_key(name, value) if isinstance(value, list) else None
        if isinstance(value, dict) and value:
            paths |= paths_of(value, here)
        elif key and value and all(isinstance(i, dict) for i in value):
            for item in value:
                item_path = here + (_item_key(item, key),)
                paths.add(item_path + (".",))
                paths |= paths_of(item, item_path)
        else:
            paths.add(here)
    return paths


@functools.lru_cache(maxsize=4096)
def _item_fields(comp: str) -> dict[str, Any]:
    """The fields a ``k:{...}`` path component selects a list item by (parsed once; callers only read it)."""
    return json.loads(comp[2:])


def value_at(obj: Any, path: Path) -> tuple[bool, Any]:
    """``(found, value)`` at a path."""
    cur = obj
    for comp in path:
        if comp == ".":
            return True, cur
        if comp.startswith("f:"):
            if not isinstance(cur, dict) or comp[2:] not in cur:
                return False, None
            cur = cur[comp[2:]]
        elif comp.startswith("k:"):
            want = _item_fields(comp)
            if not isinstance(cur, list):
                return False, None
            match = [i for i in cur if isinstance(i, dict) and all(i.get(k) == v for k, v in want.items())]
            if not match:
                return False, None
            cur = match[0]
        else:
            return False, None
    return True, cur


def remove_at(obj: Any, path: Path) -> None:
    """Delete the field (or keyed list item) a path points to, if present."""
    if path and path[-1] == ".":
        path = path[:-1]
    if not path:
        return
    found, parent = value_at(obj, path[:-1])
    if not found:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        want = json.loads(last[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in want.items()))]


def display(path: Path) -> str:
    """Human path as in apply conflict messages: ``.spec.containers[name="web"].image``."""
    out = ""
    for comp in path:
        if comp.startswith("f:"):
            out += "." + comp[2:]
        elif comp.startswith("k:"):
            want = json.loads(comp[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in want.items()) + "]"
    return out


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """Nested FieldsV1 document for a path set."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for comp in path:
            node = node.setdefault(comp, {})
    return root


def from_fields_v1(doc: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """Inverse of :func:`to_fields_v1`."""
    paths: set[Path] = set()
    for comp, sub in (doc or {}).items():
        here = prefix + (comp,)
        if isinstance(sub, dict) and sub:
            paths |= from_fields_v1(sub, here)
        else:
            paths.add(here)
    return paths


@dataclass
class Manager:
    """One ``managedFields`` entry with its parsed path set."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str = ""
    paths: set[Path] = field(default_factory=set)

    def to_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.paths),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry

    def same_slot(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)


def parse_managers(obj: dict[str, Any] | None) -> list[Manager]:
    """Read ``metadata.managedFields``."""
    out = []
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, dict):
            continue
        out.append(
            Manager(
                manager=entry.get("manager", ""),
                operation=entry.get("operation", "Update"),
                api_version=entry.get("apiVersion", ""),
                time=entry.get("time", ""),
                subresource=entry.get("subresource", ""),
                paths=from_fields_v1(entry.get("fieldsV1") or {}),
            )
        )
    return out


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
) -> None:
    """Give ``manager`` (operation Update) the fields this write changed; store into ``new``."""
    managers = parse_managers(old)
    keep_status = subresource == "status"
    old_t = trackable(old or {}, keep_status)
    new_t = trackable(new, keep_status)
    changed = {p for p in paths_of(new_t) if value_at(old_t, p) != value_at(new_t, p)}
    if old is not None and not keep_status:
        changed = {p for p in changed if p[0] != "f:status"}
    if changed:
        for m in managers:
            m.paths -= changed
        slot = next((m for m in managers if m.same_slot(manager, "Update", subresource)), None)
        if slot is None:
            slot = Manager(manager, "Update", api_version, now, subresource)
            managers.append(slot)
        slot.paths |= changed
        slot.time = now
        slot.api_version = api_version
    # Drop ownership of fields that no longer exist.
    full = trackable(new, True)
    for m in managers:
        m.paths = {p for p in m.paths if value_at(full, p)[0]}
    _store(new, managers)


def _store(obj: dict[str, Any], managers: list[Manager]) -> None:
    entries = [m.to_entry() for m in managers if m.paths]
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def store_managers(obj: dict[str, Any], managers: list[Manager]) -> None:
    """Write manager entries back into ``metadata.managedFields``."""
    _store(obj, managers)
