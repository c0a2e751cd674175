"""The previews of the watcher scale benchmark: N live previews written into the emulators as the admin.

Each preview is what a sync leaves behind, reduced to what the watcher reads: a Namespace carrying
previewbot's labels and the annotations the lifecycle stamps (repository, PR, head and applied SHA,
times, inventory, access role, URL), and a 1-replica Deployment whose pod template carries the commit
in ``previewbot.io/sha``. Both are written with server-side apply under previewbot's field manager, in
the lifecycle's order (the Deployment, then the namespace stamp). The matching pull requests are opened
in the GitHub emulator, spread over a few repositories of one owner.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from preview import naming
from preview.naming import Annotations
from sandbox.github import GitHubEmulator
from sandbox.kube import KubeEmulator
from sandbox.kube.resources import BY_KEY

OWNER = "bench-org"
REPOSITORIES = 10
DOMAIN = "preview.bench"
CONTEXT = "preview"
PREVIEW_ROLE = "previewbot-preview"
DEPLOYMENTS = BY_KEY["deployments.apps"].key


@dataclass
class Preview:
    """One preview: its PR, the namespace it lives in and the commit it runs."""

    repo: str
    number: int
    sha: str
    created_at: str = ""

    @property
    def namespace(self) -> str:
        return naming.namespace_name(self.repo, self.number)

    @property
    def url(self) -> str:
        return f"https://{naming.preview_host(self.repo, self.number, DOMAIN)}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def namespace_manifest(preview: Preview) -> dict:
    """The namespace as ``00-namespace.yaml.j2`` renders it and ``Lifecycle._stamp`` stamps it after an apply."""
    inventory = [f"apps/v1/Deployment/{preview.namespace}/web"]
    annotations = {
        Annotations.REPO: preview.repo,
        Annotations.PR: str(preview.number),
        Annotations.URL: preview.url,
        Annotations.CONTEXT: CONTEXT,
        "previewbot.io/title": f"Change {preview.number}",
        "previewbot.io/author": "octocat",
        "previewbot.io/branch": f"feature-{preview.number}",
        Annotations.HEAD_SHA: preview.sha,
        Annotations.CREATED_AT: preview.created_at,
        Annotations.APPLIED_SHA: preview.sha,
        Annotations.APPLIED_AT: _now(),
        Annotations.INVENTORY: json.dumps(inventory, separators=(",", ":")),
        Annotations.ACCESS: PREVIEW_ROLE,
    }
    labels = {
        **naming.labels(preview.repo, preview.number),
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    meta = {"name": preview.namespace, "labels": labels, "annotations": annotations}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def deployment_manifest(preview: Preview) -> dict:
    """The parts of ``30-deployment.yaml.j2`` a rollout depends on, for the commit ``preview.sha``."""
    labels = naming.labels(preview.repo, preview.number)
    annotations = {
        Annotations.REPO: preview.repo,
        Annotations.PR: str(preview.number),
        Annotations.URL: preview.url,
        Annotations.SHA: preview.sha,
        Annotations.CONTEXT: CONTEXT,
    }
    selector = {k: labels[k] for k in ("app.kubernetes.io/instance", "app.kubernetes.io/name")}
    container = {
        "name": "web",
        "image": f"registry.example.com/{preview.repo}:{preview.sha}",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "initialDelaySeconds": 2, "periodSeconds": 5},
    }
    spec = {
        "replicas": 1,
        "revisionHistoryLimit": 2,
        "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": labels, "annotations": {Annotations.SHA: preview.sha}},
            "spec": {"automountServiceAccountToken": False, "containers": [container]},
        },
    }
    meta = {"name": "web", "namespace": preview.namespace, "labels": labels, "annotations": annotations}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


class Fleet:
    """Creates the previews and rolls out new commits, as the Kubernetes admin."""

    def __init__(self, kube: KubeEmulator, gh: GitHubEmulator, count: int) -> None:
        self.kube = kube
        self.gh = gh
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {kube.token}"
        self.session.headers["Content-Type"] = "application/apply-patch+yaml"
        repos = [f"{OWNER}/app-{i:02d}" for i in range(min(REPOSITORIES, count))]
        for repo in repos:
            gh.add_repo(repo)
        self.previews: list[Preview] = []
        for i in range(count):
            repo, number = repos[i % len(repos)], i // len(repos) + 1
            sha = gh.open_pr(repo, number, branch=f"feature-{number}", title=f"Change {number}")["head"]["sha"]
            self.previews.append(Preview(repo, number, sha, _now()))

    @property
    def repositories(self) -> int:
        return len({p.repo for p in self.previews})

    def _apply(self, manifest: dict) -> None:
        meta = manifest["metadata"]
        if manifest["kind"] == "Namespace":
            path = f"/api/v1/namespaces/{meta['name']}"
        else:
            path = f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}"
        answer = self.session.patch(
            self.kube.url + path, params={"fieldManager": naming.FIELD_MANAGER, "force": "true"}, json=manifest
        )
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"apply {meta['name']}: HTTP {answer.status_code}: {answer.text[:200]}")

    def create_all(self, workers: int = 4) -> None:
        """The first apply of every preview: its stamped namespace, then its Deployment."""

        def create(preview: Preview) -> None:
            self._apply(namespace_manifest(preview))
            self._apply(deployment_manifest(preview))

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(create, self.previews))

    def push(self, preview: Preview) -> Preview:
        """A new head commit: apply its Deployment, then stamp the namespace with it (the lifecycle's order)."""
        moved = Preview(preview.repo, preview.number, self.gh.push(preview.repo, preview.number), preview.created_at)
        self._apply(deployment_manifest(moved))
        self._apply(namespace_manifest(moved))
        self.previews[self.previews.index(preview)] = moved
        return moved

    def success_answered(self, preview: Preview) -> tuple[float, float] | None:
        """(arrived, answered) of the POST that set ``success`` on the preview's commit, or None."""
        statuses = self.gh.statuses(preview.repo, preview.sha)  # only the watcher posts statuses here
        index = next((i for i, s in enumerate(statuses) if s["state"] == "success"), None)
        if index is None:
            return None
        path = f"/repos/{preview.repo}/statuses/{preview.sha}"
        posts = [(t[0], t[1]) for t in self.gh.timed_requests if t[2] == "POST" and t[3] == path and t[4] < 300]
        return posts[index] if index < len(posts) else None

    def reported(self, preview: Preview) -> bool:
        """Whether the preview's commit shows ``success`` on GitHub."""
        return any(s["state"] == "success" for s in self.gh.statuses(preview.repo, preview.sha))
