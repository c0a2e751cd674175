"""JSON merge patch, strategic merge patch and JSON patch."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request

# Lists merged item-by-item by key in strategic merge patch and server-side apply.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "volumes": ("name",),
    "env": ("name",),
    "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
    "hostAliases": ("ip",),
    "secrets": ("name",),
    "readinessGates": ("conditionType",),
}
# Lists of scalars merged as sets.
SET_LISTS = {"finalizers"}


def list_key(field: str, items: list[Any]) -> tuple[str, ...] | None:
    """Merge key of a list field, or None for atomic lists."""
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), None)
        if sample is None:
            return None
        return ("containerPort",) if "containerPort" in sample else ("port",)
    return MERGE_KEYS.get(field)


def _item_id(item: Any, key: tuple[str, ...]) -> tuple[Any, ...] | None:
    if not isinstance(item, dict):
        return None
    return tuple(item.get(k) for k in key)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge patch with the merge keys of the built-in types."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in copy.deepcopy(patch).items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        retain = patch.get("$retainKeys")
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
                continue
            if value is None:
                result.pop(key, None)
            else:
                merged = strategic_merge(result.get(key), value, key)
                if merged is None:
                    result.pop(key, None)
                else:
                    result[key] = merged
        for key, value in patch.items():
            if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
                name = key.split("/", 1)[1]
                if isinstance(result.get(name), list):
                    result[name] = [v for v in result[name] if v not in value]
        if isinstance(retain, list):
            result = {k: v for k, v in result.items() if k in retain}
        return result
    if isinstance(patch, list):
        if field in SET_LISTS and isinstance(target, list):
            merged = list(target)
            merged.extend(v for v in patch if v not in merged)
            return merged
        key = list_key(field, patch) or (list_key(field, target) if isinstance(target, list) else None)
        if key is None or not isinstance(target, list):
            return [
                strategic_merge(None, v, "") if isinstance(v, dict) else copy.deepcopy(v)
                for v in patch
                if not (isinstance(v, dict) and v.get("$patch") == "delete")
            ]
        if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
            return [copy.deepcopy(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
        result = copy.deepcopy(target)
        for item in patch:
            ident = _item_id(item, key)
            idx = next((i for i, cur in enumerate(result) if _item_id(cur, key) == ident), None)
            if isinstance(item, dict) and item.get("$patch") == "delete":
                if idx is not None:
                    result.pop(idx)
                continue
            if idx is None:
                result.append(strategic_merge(None, item, ""))
            else:
                result[idx] = strategic_merge(result[idx], item, "")
        return result
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"the server rejected our request due to an error in our request: invalid path {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            cur = cur[part]
        else:
            raise KeyError(part)
    return cur


def _fail(op: dict[str, Any], why: str) -> ApiError:
    return ApiError(422, f"the server rejected our request due to an error in our request: {why}", "Invalid")


def json_patch(doc: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        try:
            if kind in ("add", "replace", "remove", "test"):
                doc = _apply_op(doc, kind, parts, op)
            elif kind in ("move", "copy"):
                src = _pointer(op.get("from", ""))
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    doc = _apply_op(doc, "remove", src, op)
                doc = _apply_op(doc, "add", parts, {"value": value})
            else:
                raise _fail(op, f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise _fail(op, f'{kind} operation does not apply: doc is missing path: "{op.get("path")}"') from exc
    return doc


def _apply_op(doc: Any, kind: str, parts: list[str], op: dict[str, Any]) -> Any:
    if not parts:
        if kind == "test":
            if doc != op.get("value"):
                raise _fail(op, "testing value failed")
            return doc
        return None if kind == "remove" else copy.deepcopy(op.get("value"))
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if kind == "test":
        if _walk(parent, [last]) != op.get("value"):
            raise _fail(op, f"testing value /{'/'.join(parts)} failed: test failed")
        return doc
    if isinstance(parent, list):
        idx = len(parent) if last == "-" else int(last)
        if kind == "add":
            if idx > len(parent):
                raise IndexError(idx)
            parent.insert(idx, copy.deepcopy(op.get("value")))
        elif kind == "replace":
            parent[idx] = copy.deepcopy(op.get("value"))
        else:
            parent.pop(idx)
    elif isinstance(parent, dict):
        if kind == "add":
            parent[last] = copy.deepcopy(op.get("value"))
        elif kind == "replace":
            if last not in parent:
                raise KeyError(last)
            parent[last] = copy.deepcopy(op.get("value"))
        else:
            del parent[last]
    else:
        raise KeyError(last)
    return doc
