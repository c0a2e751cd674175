"""The RBAC authorizer: rules granted by (Cluster)RoleBindings, matched the way kube-apiserver matches them.

``system:masters`` is allowed everything before RBAC is asked, as kube-apiserver's privileged-group
authorizer does. Everyone else gets exactly the rules of the ClusterRoleBindings naming them, plus, inside
a namespace, those of the RoleBindings there (to a Role of that namespace or to a ClusterRole).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import errors
from .authn import MASTERS, UserInfo
from .requestinfo import Attributes
from .resources import BY_KEY
from .store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_ROLES = BY_KEY[f"clusterroles.{RBAC_GROUP}"]
CLUSTER_ROLE_BINDINGS = BY_KEY[f"clusterrolebindings.{RBAC_GROUP}"]
ROLES = BY_KEY[f"roles.{RBAC_GROUP}"]
ROLE_BINDINGS = BY_KEY[f"rolebindings.{RBAC_GROUP}"]
Rule = dict[str, Any]


@dataclass(frozen=True)
class Decision:
    """One authorization check made while serving a request, and its outcome.

    ``via`` says why it was made: ``request`` (the request itself), ``create`` (a server-side apply that
    creates), ``bind``/``escalate`` (the explicit permissions that waive the escalation check), ``holds``
    (one permission a Role or bound role grants, which the requester must hold itself).
    """

    attributes: Attributes
    allowed: bool
    via: str = "request"


# -- rule matching (like k8s.io/kubernetes/pkg/apis/rbac/v1 evaluation helpers) -----------------------------


def _listed(rule: Rule, key: str) -> list[str]:
    values = rule.get(key) or []
    return [str(v) for v in values] if isinstance(values, list) else []


def verb_matches(rule: Rule, verb: str) -> bool:
    """Whether the rule names ``verb`` (or ``*``)."""
    return any(v in ("*", verb) for v in _listed(rule, "verbs"))


def group_matches(rule: Rule, group: str) -> bool:
    """Whether the rule names API group ``group`` (or ``*``)."""
    return any(g in ("*", group) for g in _listed(rule, "apiGroups"))


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    """Whether the rule names ``resource[/subresource]``, ``*`` or ``*/subresource``."""
    for resource in _listed(rule, "resources"):
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def name_matches(rule: Rule, name: str) -> bool:
    """Whether the rule has no ``resourceNames`` or names ``name``."""
    names = _listed(rule, "resourceNames")
    return not names or name in names


def url_matches(rule: Rule, path: str) -> bool:
    """Whether one of the rule's ``nonResourceURLs`` is ``path``, ``*`` or a ``prefix*`` of it."""
    for url in _listed(rule, "nonResourceURLs"):
        if url in ("*", path) or (url.endswith("*") and path.startswith(url.rstrip("*"))):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    """Whether one PolicyRule grants the request."""
    if attrs.resource_request:
        return (
            verb_matches(rule, attrs.verb)
            and group_matches(rule, attrs.group)
            and resource_matches(rule, attrs.combined_resource, attrs.subresource)
            and name_matches(rule, attrs.name)
        )
    return verb_matches(rule, attrs.verb) and url_matches(rule, attrs.path)


def applies_to(user: UserInfo, subject: dict[str, Any], namespace: str) -> bool:
    """Whether a binding subject names ``user`` (a ServiceAccount without namespace means the binding's)."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == f"system:serviceaccount:{sa_namespace}:{name}"
    return False


def aggregate(messages: list[str]) -> str:
    """Several errors in one message, as ``utilerrors.NewAggregate`` prints them."""
    unique = list(dict.fromkeys(messages))
    if len(messages) == 1 or len(unique) == 1:
        return unique[0] if unique else ""
    return "[" + ", ".join(unique) + "]"


# -- rule resolution (like pkg/registry/rbac/validation DefaultRuleResolver) -------------------------------


class RuleResolver:
    """Finds the rules that apply to a user in a namespace, reading bindings and roles from the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def role_rules(self, ref: dict[str, Any], namespace: str, plural: bool = False) -> tuple[list[Rule], str | None]:
        """Rules of a roleRef, or the error text when the role is missing.

        The authorizer reads roles from an informer (``clusterrole.rbac.authorization.k8s.io "x" not found``),
        the escalation check from storage (``plural``: ``clusterroles.rbac.authorization.k8s.io ...``).
        """
        kind, name = ref.get("kind"), str(ref.get("name") or "")
        if kind == "ClusterRole":
            role, res = self.store.peek(CLUSTER_ROLES, None, name), CLUSTER_ROLES
        elif kind == "Role":
            role, res = self.store.peek(ROLES, namespace, name) if namespace else None, ROLES
        else:
            return [], f"unsupported role reference kind: {errors.go_quote(str(kind))}"
        if role is None:
            what = res.plural if plural else res.singular
            return [], f"{what}.{RBAC_GROUP} {errors.go_quote(name)} not found"
        rules = role.get("rules") or []
        return [r for r in rules if isinstance(r, dict)], None

    def visit(self, user: UserInfo, namespace: str, plural: bool = False) -> list[tuple[Rule | None, str | None]]:
        """Each rule granted to ``user`` in ``namespace`` (cluster-wide first), and each resolution error."""
        found: list[tuple[Rule | None, str | None]] = []
        with self.store.lock:
            bindings = [(b, "") for b in self.store.list(CLUSTER_ROLE_BINDINGS)[0]]
            if namespace:
                bindings += [(b, namespace) for b in self.store.list(ROLE_BINDINGS, namespace)[0]]
            for binding, where in bindings:
                subjects = [s for s in binding.get("subjects") or [] if isinstance(s, dict)]
                if not any(applies_to(user, s, where) for s in subjects):
                    continue
                rules, error = self.role_rules(binding.get("roleRef") or {}, where, plural)
                if error is not None:
                    found.append((None, error))
                found.extend((rule, None) for rule in rules)
        return found

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """All rules granted to ``user`` in ``namespace`` and the errors met resolving them (storage wording)."""
        rules: list[Rule] = []
        problems: list[str] = []
        for rule, error in self.visit(user, namespace, plural=True):
            if rule is not None:
                rules.append(rule)
            if error is not None:
                problems.append(error)
        return rules, problems


class Authorizer:
    """Answers authorization questions and records each answer."""

    def __init__(self, store: Store) -> None:
        self.resolver = RuleResolver(store)

    def authorize(
        self, user: UserInfo, attrs: Attributes, record: list[Decision], via: str = "request"
    ) -> tuple[bool, str]:
        """Whether ``user`` may do ``attrs``, with the reason RBAC gives for a denial (resolution errors)."""
        if MASTERS in user.groups:
            record.append(Decision(attrs, True, via))
            return True, ""
        problems: list[str] = []
        for rule, error in self.resolver.visit(user, attrs.namespace):
            if rule is not None and rule_allows(attrs, rule):
                record.append(Decision(attrs, True, via))
                return True, ""
            if error is not None:
                problems.append(error)
        record.append(Decision(attrs, False, via))
        return False, f"RBAC: {aggregate(problems)}" if problems else ""


class Refused(errors.ApiError):
    """A 403 from authorization, carrying the checks that failed."""

    def __init__(self, error: errors.ApiError, denied: list[Decision]) -> None:
        body = error.body
        super().__init__(error.code, body["message"], body["reason"], body.get("details"), error.headers)
        self.denied = tuple(denied)


def _sanitize(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """``User "u" cannot <verb> resource "<r>" in API group "<g>" in the namespace "<ns>"`` and its variants."""
    q = errors.go_quote
    who = f"User {q(user.name)} cannot {attrs.verb}"
    if not attrs.resource_request:
        return f"{who} path {q(attrs.path)}"
    what = f"{who} resource {q(attrs.combined_resource)} in API group {q(attrs.group)}"
    if attrs.namespace:
        return f"{what} in the namespace {q(attrs.namespace)}"
    return f"{what} at the cluster scope"


def forbidden(user: UserInfo, attrs: Attributes, reason: str) -> errors.ApiError:
    """403 for a request the authorizers did not allow."""
    message = _sanitize(forbidden_message(user, attrs))
    if reason:
        message = f"{message}: {reason}"
    if not attrs.resource_request:
        return errors.forbidden("", "", "", message)
    return errors.forbidden(attrs.group, attrs.resource, attrs.name, message)


# -- bootstrap policy ---------------------------------------------------------------------------------------

_PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", *_PUBLIC_INFO]
BOOTSTRAP_ROLES: dict[str, tuple[list[Rule], list[str]]] = {
    "cluster-admin": (
        [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        [MASTERS],
    ),
    "system:discovery": ([{"nonResourceURLs": _DISCOVERY, "verbs": ["get"]}], ["system:authenticated"]),
    "system:public-info-viewer": (
        [{"nonResourceURLs": _PUBLIC_INFO, "verbs": ["get"]}],
        ["system:authenticated", "system:unauthenticated"],
    ),
}


def bootstrap_policy() -> Iterator[tuple[Any, dict[str, Any]]]:
    """The default ClusterRoles and ClusterRoleBindings a new cluster has (for authorization that matters here)."""
    meta = {
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    }
    for name, (rules, groups) in BOOTSTRAP_ROLES.items():
        yield CLUSTER_ROLES, {"metadata": {"name": name, **meta}, "rules": rules}
        subjects = [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups]
        ref = {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name}
        yield CLUSTER_ROLE_BINDINGS, {"metadata": {"name": name, **meta}, "roleRef": ref, "subjects": subjects}
