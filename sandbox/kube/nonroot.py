"""The kubelet's ``runAsNonRoot`` check: a container that must not run as root, whose image would.

The sandbox has no image metadata, so which images run as root is a convention: an image whose
repository name (the last path segment) or tag contains ``run-as-root``, or the official ``nginx`` image
(``nginx``, ``library/nginx``, ``docker.io/library/nginx`` with any tag or digest). Every other image
runs as a non-root user.

As in the kubelet, the container's ``securityContext`` overrides the pod's: with ``runAsNonRoot: true``
an explicit ``runAsUser: 0`` is refused, a non-zero ``runAsUser`` passes, and without ``runAsUser`` the
image's user decides. The container is not created (``CreateContainerConfigError``) and the kubelet tries
again at its next sync of the pod.
"""

from __future__ import annotations

from typing import Any

from . import imageref

MARKER = "run-as-root"
ROOT_REPOSITORIES = frozenset({"docker.io/library/nginx"})


def runs_as_root(image: str) -> bool:
    """Whether ``image``'s default user is root (by the convention above)."""
    try:
        ref = imageref.parse(image)
    except imageref.InvalidReference:
        return False
    last = ref.repository.rsplit("/", 1)[-1]
    return MARKER in last or MARKER in (ref.tag or "") or ref.repository in ROOT_REPOSITORIES


def _setting(pod: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    own = container.get("securityContext") or {}
    if key in own and own[key] is not None:
        return own[key]
    return ((pod.get("spec") or {}).get("securityContext") or {}).get(key)


def error(pod: dict[str, Any], container: dict[str, Any], pod_name: str) -> str | None:
    """The kubelet's message when ``container`` may not run as the user it would, or None.

    ``pod_name`` is the kubelet's ``name_namespace(uid)``.
    """
    if _setting(pod, container, "runAsNonRoot") is not True:
        return None
    name = container.get("name", "")
    user = _setting(pod, container, "runAsUser")
    if user == 0:
        return f'container\'s runAsUser breaks non-root policy (pod: "{pod_name}", container: {name})'
    if user is None and runs_as_root(str(container.get("image", ""))):
        return f'container has runAsNonRoot and image will run as root (pod: "{pod_name}", container: {name})'
    return None
