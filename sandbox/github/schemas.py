"""Request and response schemas from the OpenAPI subset, as JSON Schema validators."""

from __future__ import annotations

import json
import logging
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from . import reference

log = logging.getLogger(__name__)
ROOT = "urn:previewbot:openapi"
_METHODS = ("get", "post", "patch", "put", "delete")


def to_json_schema(node: Any) -> Any:
    """Translate OpenAPI 3.0 schema dialect (``nullable``) into JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "discriminator", "example")}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _key(operation_id: str) -> str:
    return operation_id.replace("/", ".")


class OpenAPISchemas:
    """Validators for request bodies and responses, keyed by operationId."""

    def __init__(self, doc: dict | None) -> None:
        self.available = doc is not None
        self._requests: set[str] = set()
        self._responses: dict[str, set[str]] = {}
        self.operations: list[tuple[str, str, str]] = []
        if doc is None:
            self._registry: Registry = Registry()
            return
        combined: dict[str, Any] = {"components": to_json_schema(doc.get("components", {}))}
        requests: dict[str, Any] = {}
        responses: dict[str, dict[str, Any]] = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method not in _METHODS:
                    continue
                key = _key(op["operationId"])
                self.operations.append((method.upper(), path, op["operationId"]))
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                if "schema" in body:
                    requests[key] = to_json_schema(body["schema"])
                for code, resp in op.get("responses", {}).items():
                    if "$ref" in resp:
                        resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
                    schema = resp.get("content", {}).get("application/json", {}).get("schema")
                    if schema is not None:
                        responses.setdefault(key, {})[code] = to_json_schema(schema)
        combined["requests"] = requests
        combined["responses"] = responses
        self._requests = set(requests)
        self._responses = {k: set(v) for k, v in responses.items()}
        resource = DRAFT202012.create_resource(combined)
        self._registry = Registry().with_resource(ROOT, resource)

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{ROOT}#{pointer}"}, registry=self._registry)

    def request_error(self, operation_id: str, body: Any) -> str | None:
        """GitHub-style 'Invalid request.' message for a bad body, or None if valid."""
        key = _key(operation_id)
        if key not in self._requests:
            return None
        err = best_match(self._validator(f"/requests/{key}").iter_errors(body))
        return None if err is None else describe(err)

    def response_errors(self, operation_id: str, status: int, body: Any) -> list[str]:
        """Schema violations of a response body (empty when valid or undocumented)."""
        key = _key(operation_id)
        if str(status) not in self._responses.get(key, set()):
            return []
        validator = self._validator(f"/responses/{key}/{status}")
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def describe(err: ValidationError) -> str:
    """Word a schema violation the way GitHub's API does."""
    where = "/".join(f"properties/{p}" if isinstance(p, str) else f"items/{p}" for p in err.absolute_path)
    value = json.dumps(err.instance)
    if err.validator == "required":
        missing = [r for r in err.validator_value if r not in (err.instance or {})]
        return f'Invalid request.\n\n"{missing[0] if missing else "?"}" wasn\'t supplied.'
    if err.validator == "enum":
        return f"Invalid request.\n\nFor '{where}', {value} is not a member of {json.dumps(err.validator_value)}."
    if err.validator == "type":
        kind = err.validator_value if isinstance(err.validator_value, str) else err.validator_value[0]
        article = "an" if kind[0] in "aeiou" else "a"
        return f"Invalid request.\n\nFor '{where or 'body'}', {value} is not {article} {kind}."
    if err.validator == "minItems":
        return f"Invalid request.\n\nFor '{where}', {value} should have at least {err.validator_value} item(s)."
    return f"Invalid request.\n\n{err.message}"


_cached: OpenAPISchemas | None = None


def load() -> OpenAPISchemas:
    """Schemas from the reference folder; warns once when it is absent."""
    global _cached
    if _cached is None:
        doc = reference.openapi()
        if doc is None:
            log.warning("GitHub reference material not found; request-body validation is skipped")
        _cached = OpenAPISchemas(doc)
    return _cached
