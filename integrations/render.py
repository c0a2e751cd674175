"""Render a preview's Kubernetes manifests from Jinja2 templates, safely and in apply order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.exceptions import SecurityError

from integrations.template_child import TemplateFailure, render_untrusted
from integrations.template_env import ENV_OPTIONS, FILTERS, to_yaml, without  # noqa: F401 - to_yaml is public
from preview.blue_green import ROLLING, STRATEGY_ANNOTATION
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


class RenderError(PermanentError):
    """A template could not be turned into valid manifests."""

    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"{template}: {problem}")
        self.template = template
        self.problem = problem


#: What a repository's own templates may create: namespaced kinds previewbot can apply, minus the
#: ones that set the preview's limits (ResourceQuota, LimitRange), which stay the operator's.
REPO_KINDS = frozenset(
    {
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("v1", "ServiceAccount"),
        ("apps/v1", "Deployment"),
        ("networking.k8s.io/v1", "Ingress"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    }
)
RESERVED_PREFIXES = ("previewbot.io/", "app.kubernetes.io/managed-by")
#: API groups a repository's Role may grant rights in: its app's own objects, never RBAC itself.
ROLE_GROUPS = frozenset({"", "apps", "batch", "networking.k8s.io"})


class TemplateRenderer:
    """Renders every ``*.yaml.j2`` template of a directory into Kubernetes objects.

    Templates in ``extra_dirs`` are added to those of ``directory``; a file with the same
    name in a later directory replaces the earlier one. Names starting with ``_`` are
    partials for ``{% include %}`` and are not rendered on their own.
    """

    def __init__(self, directory: Path, extra_dirs: Sequence[Path] = ()) -> None:
        self.dirs = [Path(directory), *(Path(d) for d in extra_dirs)]
        loader = jinja2.FileSystemLoader([str(d) for d in reversed(self.dirs)])
        self.env = jinja2.Environment(loader=loader, **ENV_OPTIONS)
        self.env.filters.update(FILTERS)

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
            found.extend(self._repository_objects(extra, values, found))
        order = sorted(range(len(found)), key=lambda i: (_RANK.get(found[i]["kind"], len(_RANK)), i))
        return [found[i] for i in order]

    @staticmethod
    def _repository_objects(extra: Mapping[str, str], values: dict, builtin: list[dict]) -> list[dict]:
        """The repository's objects: rendered under hard limits, confined, stamped with previewbot's labels."""
        try:
            documents = render_untrusted(extra, values)
        except TemplateFailure as exc:
            where = exc.template if exc.line is None else f"{exc.template} line {exc.line}"
            raise RenderError(where, exc.problem) from None
        taken = {(o["kind"], o["metadata"]["name"]) for o in builtin}
        objects = []
        for name in sorted(documents):
            for obj in documents[name]:
                _confine(name, obj, taken)
                obj = _enforce(name, obj, values)
                _label_pods(obj)
                taken.add((obj["kind"], obj["metadata"]["name"]))
                objects.append(obj)
        return objects

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


def _reserved(mapping: object) -> list[str]:
    if not isinstance(mapping, dict):
        return []
    return sorted(k for k in mapping if isinstance(k, str) and k.startswith(RESERVED_PREFIXES))


def _pod_template(obj: dict) -> dict | None:
    template = (obj.get("spec") or {}).get("template") if obj.get("kind") == "Deployment" else None
    return template if isinstance(template, dict) else None


def _confine(name: str, obj: Any, taken: set[tuple[str, str]]) -> None:
    """Refuse what a repository template may not create or claim."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return  # _enforce names the problem
    kind, meta = obj.get("kind"), obj["metadata"]
    if (obj.get("apiVersion"), kind) not in REPO_KINDS:
        allowed = ", ".join(sorted(k for _, k in REPO_KINDS))
        raise RenderError(
            name, f"repository templates may not create a {kind} ({obj.get('apiVersion')}); allowed: {allowed}"
        )
    if (kind, meta.get("name")) in taken:
        raise RenderError(name, f"{kind} {meta.get('name')} is already defined by the preview's own templates")
    pod_meta = (_pod_template(obj) or {}).get("metadata")
    pod_meta = pod_meta if isinstance(pod_meta, dict) else {}
    for where, mapping in (
        ("metadata.labels", meta.get("labels")),
        ("metadata.annotations", meta.get("annotations")),
        ("spec.template.metadata.labels", pod_meta.get("labels")),
        ("spec.template.metadata.annotations", pod_meta.get("annotations")),
    ):
        keys = _reserved(mapping)
        if kind == "Deployment" and where == "metadata.annotations":  # a Deployment may opt out of blue-green
            keys = [k for k in keys if k != STRATEGY_ANNOTATION or mapping[k] != ROLLING]  # type: ignore[index]
        if keys:
            raise RenderError(name, f"{kind} {meta.get('name')}: {where} may not set previewbot's {', '.join(keys)}")
    if kind == "RoleBinding" and (obj.get("roleRef") or {}).get("kind") != "Role":
        raise RenderError(name, f"RoleBinding {meta.get('name')}: may refer only to a Role of the preview")
    if kind == "Role" and (problem := _role_problem(obj.get("rules"))):
        raise RenderError(name, f"Role {meta.get('name')}: {problem}")


def _label_pods(obj: dict) -> None:
    """previewbot's labels on the pods of a repository workload too (the watcher follows them)."""
    template = _pod_template(obj)
    if template is None:
        return
    pod_meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **obj["metadata"]["labels"]}
    template["metadata"] = pod_meta


def _role_problem(rules: object) -> str | None:
    """Why a repository Role's rules could reach beyond the preview's own objects, or None.

    previewbot holds rights on the namespace object itself and on RBAC inside the preview, so a
    Role could otherwise hand the app a way to relabel its namespace (Pod Security) or grant more.
    """
    for rule in rules if isinstance(rules, list) else [rules]:
        if not isinstance(rule, dict):
            return "rules must be mappings"
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        if not isinstance(groups, list) or not isinstance(resources, list) or rule.get("nonResourceURLs"):
            return "rules must list apiGroups and resources"
        if "*" in groups or "*" in resources or any("*" in str(r) for r in resources):
            return "rules may not use wildcards"
        if set(groups) - ROLE_GROUPS:
            return f"rules may grant rights only in the API groups {sorted(ROLE_GROUPS)}"
        if any(str(r).split("/", 1)[0] == "namespaces" for r in resources):
            return "rules may not grant rights on namespaces"
    return None
