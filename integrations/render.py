"""Render a preview's Kubernetes manifests from Jinja2 templates, safely and in apply order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from preview.ports import PermanentError

SUFFIX = ".yaml.j2"

#: Kinds that live outside any namespace (so never get ``metadata.namespace``).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
    }
)

#: Apply order after the Namespace; anything else follows, in template order.
KIND_ORDER = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "Ingress",
    "NetworkPolicy",
)
_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}

# Characters JSON leaves raw but YAML would reject or fold (C1 controls, line/paragraph
# separators, surrogates, non-characters): written as escapes instead.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


class RenderError(PermanentError):
    """A template could not be turned into valid manifests."""

    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"{template}: {problem}")
        self.template = template
        self.problem = problem


def _check_defined(value: Any) -> None:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable


def to_yaml(value: Any) -> str:
    """Inline ``value`` as one YAML flow node that parses back to exactly ``value``."""
    _check_defined(value)
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of ``mapping`` without ``keys``."""
    _check_defined(mapping)
    return {k: v for k, v in mapping.items() if k not in keys}


class TemplateRenderer:
    """Renders every ``*.yaml.j2`` template of a directory into Kubernetes objects.

    Templates in ``extra_dirs`` are added to those of ``directory``; a file with the same
    name in a later directory replaces the earlier one. Names starting with ``_`` are
    partials for ``{% include %}`` and are not rendered on their own.
    """

    def __init__(self, directory: Path, extra_dirs: Sequence[Path] = ()) -> None:
        self.dirs = [Path(directory), *(Path(d) for d in extra_dirs)]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in reversed(self.dirs)]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["yaml"] = to_yaml
        self.env.filters["without"] = without

    def template_names(self) -> list[str]:
        """The templates :meth:`render` uses, in rendering order."""
        names = {
            path.name
            for d in self.dirs
            if d.is_dir()
            for path in d.glob(f"*{SUFFIX}")
            if path.is_file() and not path.name.startswith("_")
        }
        return sorted(names)

    def render(self, values: dict, extra: Mapping[str, str] | None = None) -> list[dict]:
        """Render all templates with ``values``; Namespace first, then in apply order.

        ``extra`` maps file names to template texts from the repository (``templates`` in
        ``.preview.yml``). They run in Jinja2's sandbox, and may only add namespaced objects.
        """
        names = self.template_names()
        if not names:
            raise RenderError(str(self.dirs[0].name or "templates"), f"no *{SUFFIX} templates found")
        found: list[dict] = []
        for name in names:
            found.extend(_enforce(name, obj, values) for obj in self._documents(name, values))
        if extra:
            sandbox = self._sandbox(extra)
            for name in sorted(extra):
                for obj in self._documents(name, values, sandbox):
                    if isinstance(obj, dict) and (obj.get("kind") in CLUSTER_SCOPED or obj.get("kind") == "Namespace"):
                        raise RenderError(name, f"repository templates may not create a {obj.get('kind')}")
                    found.append(_enforce(name, obj, values))
        order = sorted(range(len(found)), key=lambda i: (_RANK.get(found[i]["kind"], len(_RANK)), i))
        return [found[i] for i in order]

    def _sandbox(self, templates: Mapping[str, str]) -> jinja2.Environment:
        env = SandboxedEnvironment(
            loader=jinja2.DictLoader(dict(templates)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(self.env.filters)
        return env

    def _documents(self, name: str, values: dict, env: jinja2.Environment | None = None) -> Iterable[Any]:
        try:
            text = (env or self.env).get_template(name).render(values)
        except jinja2.UndefinedError as exc:
            raise RenderError(name, f"undefined variable: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(name, f"template syntax error at line {exc.lineno}: {exc.message}") from None
        except SecurityError as exc:
            raise RenderError(name, f"unsafe template: {exc}") from None
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            raise RenderError(name, f"cannot render: {exc}") from None
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f" at line {mark.line + 1}" if mark else ""
            raise RenderError(name, f"invalid YAML{where}: {exc.problem or exc.context}") from None
        except yaml.YAMLError as exc:
            raise RenderError(name, f"invalid YAML: {exc}") from None
        return [doc for doc in docs if doc is not None]


def _enforce(name: str, obj: Any, values: dict) -> dict:
    """Check the required fields and force the preview's labels and namespace."""
    if not isinstance(obj, dict):
        raise RenderError(name, f"document is a {type(obj).__name__}, not a mapping")
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            raise RenderError(name, f"object without {field}")
    kind = obj["kind"]
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise RenderError(name, f"{kind} without metadata")
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise RenderError(name, f"{kind} without metadata.name")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        raise RenderError(name, f"{kind} {meta['name']}: metadata.labels is not a mapping")
    meta["labels"] = {**labels, **values["labels"]}
    if kind == "Namespace":
        if meta["name"] != values["namespace"]:
            raise RenderError(name, f"Namespace {meta['name']} is not the preview's namespace")
        meta.pop("namespace", None)
    elif kind not in CLUSTER_SCOPED:
        meta["namespace"] = values["namespace"]
    return obj
