"""Checks RBAC storage makes on writes: escalation prevention, and ``create`` for an apply that creates.

As in kube-apiserver, a Role or ClusterRole may be written only by someone holding every permission it
grants (or allowed to ``escalate`` it), a RoleBinding or ClusterRoleBinding only by someone allowed to
``bind`` its role or holding every permission of that role where the binding applies. Members of
``system:masters`` skip these checks. A server-side apply that creates its object also needs ``create``.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from . import errors
from .authn import MASTERS, UserInfo
from .rbac import RBAC_GROUP, Authorizer, Decision, Refused, Rule, aggregate
from .requestinfo import Attributes
from .resources import ResourceType

ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def _values(rule: Rule, key: str) -> list[str]:
    found = rule.get(key) or []
    return [str(v) for v in found] if isinstance(found, list) else []


def breakdown(rule: Rule) -> list[Rule]:
    """Equivalent rules of one group, resource, verb and name each (non-resource URLs: one URL, one verb)."""
    subrules: list[Rule] = []
    names = _values(rule, "resourceNames")
    for group in _values(rule, "apiGroups"):
        for resource in _values(rule, "resources"):
            for verb in _values(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                subrules.extend({**base, "resourceNames": [n]} for n in names) if names else subrules.append(base)
    for url in _values(rule, "nonResourceURLs"):
        subrules.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in _values(rule, "verbs"))
    return subrules


def _resources_cover(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned or set(wanted) <= set(owned):
        return True
    for path in wanted:
        if path in owned:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owned:
            return False
    return True


def _urls_cover(owned: list[str], wanted: list[str]) -> bool:
    def covers(owner: str, path: str) -> bool:
        return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))

    return all(any(covers(o, path) for o in owned) for path in wanted)


def rule_covers(owner: Rule, sub: Rule) -> bool:
    """Whether ``owner`` grants everything the broken-down rule ``sub`` grants."""
    verbs, groups = _values(owner, "verbs"), _values(owner, "apiGroups")
    owner_names, sub_names = _values(owner, "resourceNames"), _values(sub, "resourceNames")
    names_ok = not owner_names or (bool(sub_names) and set(sub_names) <= set(owner_names))
    return (
        ("*" in verbs or set(_values(sub, "verbs")) <= set(verbs))
        and ("*" in groups or set(_values(sub, "apiGroups")) <= set(groups))
        and _resources_cover(_values(owner, "resources"), _values(sub, "resources"))
        and _urls_cover(_values(owner, "nonResourceURLs"), _values(sub, "nonResourceURLs"))
        and names_ok
    )


def compact(rules: list[Rule]) -> list[Rule]:
    """Merge rules of one group and one resource (nothing else) that differ only in their verbs."""
    merged: dict[tuple[str, str], Rule] = {}
    rest: list[Rule] = []
    for rule in rules:
        groups, resources = _values(rule, "apiGroups"), _values(rule, "resources")
        simple = set(rule) <= {"apiGroups", "resources", "verbs"} and len(groups) == len(resources) == 1
        if not simple:
            rest.append(rule)
        elif (key := (groups[0], resources[0])) in merged:
            merged[key]["verbs"] = merged[key]["verbs"] + _values(rule, "verbs")
        else:
            merged[key] = {"apiGroups": groups, "resources": resources, "verbs": _values(rule, "verbs")}
    return rest + list(merged.values())


def quote_list(values: list[str] | tuple[str, ...]) -> str:
    """A list of strings as Go's ``%q`` prints a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(errors.go_quote(v) for v in values) + "]"


def compact_string(rule: Rule) -> str:
    """``{APIGroups:[""], Resources:["pods"], Verbs:["get"]}``, as escalation errors list a rule."""
    parts = []
    for key, label in (
        ("apiGroups", "APIGroups"),
        ("resources", "Resources"),
        ("nonResourceURLs", "NonResourceURLs"),
        ("resourceNames", "ResourceNames"),
        ("verbs", "Verbs"),
    ):
        if values := _values(rule, key):
            parts.append(f"{label}:{quote_list(values)}")
    return "{" + ", ".join(parts) + "}"


def _as_attributes(sub: Rule, namespace: str) -> Attributes:
    if sub.get("nonResourceURLs"):
        return Attributes(sub["verbs"][0], resource_request=False, path=sub["nonResourceURLs"][0])
    resource, _, subresource = sub["resources"][0].partition("/")
    name = (sub.get("resourceNames") or [""])[0]
    return Attributes(sub["verbs"][0], True, sub["apiGroups"][0], "", resource, subresource, namespace, name)


def only_gc_fields(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether an update changes nothing but owner references and finalizers (the garbage collector's)."""
    if old is None:
        return False
    a, b = copy.deepcopy(new), copy.deepcopy(old)
    for obj in (a, b):
        meta = obj.setdefault("metadata", {})
        for key in ("ownerReferences", "finalizers", "managedFields", "resourceVersion", "selfLink"):
            meta.pop(key, None)
    return a == b


class Admission:
    """The storage-level checks for one request, by one user; every check made lands in ``record``."""

    def __init__(self, authorizer: Authorizer, user: UserInfo, request: Attributes, record: list[Decision]) -> None:
        self.authorizer = authorizer
        self.user = user
        self.request = request
        self.record = record

    def __call__(self, res: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], creating: bool) -> None:
        """Refuse a write of ``new`` (replacing ``old``); ``creating`` for an apply that creates its object."""
        privileged = MASTERS in self.user.groups
        if res.group == RBAC_GROUP and res.kind in ROLE_KINDS and not privileged:
            self._role(res, old, new)
        elif res.group == RBAC_GROUP and res.kind in BINDING_KINDS and not privileged:
            self._binding(res, old, new)
        if creating:
            attrs = replace(self.request, verb="create")
            allowed, reason = self.authorizer.authorize(self.user, attrs, self.record, via="create")
            if not allowed:
                error = errors.forbidden(attrs.group, attrs.resource, attrs.name, reason)
                raise Refused(error, [self.record[-1]])

    def _role(self, res: ResourceType, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        escalate = replace(self.request, verb="escalate", subresource="")
        denied = []
        if self.authorizer.authorize(self.user, escalate, self.record, via="escalate")[0]:
            return
        denied.append(self.record[-1])
        if only_gc_fields(new, old):
            return
        rules = [r for r in new.get("rules") or [] if isinstance(r, dict)]
        self._confirm_no_escalation(res, new, rules, denied)

    def _binding(self, res: ResourceType, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if only_gc_fields(new, old):
            return
        ref = new.get("roleRef") or {}
        namespace = self.request.namespace
        target = {"ClusterRole": "clusterroles", "Role": "roles"}.get(str(ref.get("kind")))
        denied = []
        if target is not None:
            bind = Attributes(
                "bind", True, str(ref.get("apiGroup") or ""), "", target, "", namespace, ref.get("name") or ""
            )
            if self.authorizer.authorize(self.user, bind, self.record, via="bind")[0]:
                return
            denied.append(self.record[-1])
        rules, problem = self.authorizer.resolver.role_rules(ref, namespace, plural=True)
        if problem is not None:
            if target is None:
                raise errors.ApiError(500, problem, "InternalError")
            raise errors.not_found(target, RBAC_GROUP, str(ref.get("name") or ""))
        self._confirm_no_escalation(res, new, rules, denied)

    def _confirm_no_escalation(
        self, res: ResourceType, obj: dict[str, Any], rules: list[Rule], denied: list[Decision]
    ) -> None:
        """403 unless the user holds every permission in ``rules`` where the object applies."""
        namespace = self.request.namespace
        owned, problems = self.authorizer.resolver.rules_for(self.user, namespace)
        missing = []
        for rule in rules:
            for sub in breakdown(rule):
                held = any(rule_covers(owner, sub) for owner in owned)
                self.record.append(Decision(_as_attributes(sub, namespace), held, "holds"))
                if not held:
                    missing.append(sub)
                    denied.append(self.record[-1])
        if not missing:
            return
        held_not = "\n".join(sorted({compact_string(r) for r in compact(missing)}))
        message = (
            f"user {errors.go_quote(self.user.name)} (groups={quote_list(self.user.groups)}) "
            f"is attempting to grant RBAC permissions not currently held:\n{held_not}"
        )
        if problems:
            message += f"; resolution errors: [{aggregate(problems)}]"
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise Refused(errors.forbidden(res.group, res.plural, name, message), denied)
