"""In-memory port implementations for unit tests of the domain (integration tests use emulators)."""

from __future__ import annotations

from dataclasses import dataclass, field

from preview.models import NamespaceInfo, ObjectRef, PullRef, PullRequest, StatusReport
from preview.ports import PermanentError


@dataclass
class FakeGitHub:
    pulls: dict[tuple[str, int], PullRequest] = field(default_factory=dict)
    statuses: list[tuple[str, str, StatusReport]] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)
    comments: dict[int, str] = field(default_factory=dict)
    comment_writes: int = 0
    comment_searches: int = 0
    files: dict[tuple[str, str], str] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    checks: dict[str, dict[str, str]] = field(default_factory=dict)
    reads: int = 0
    file_reads: list[tuple[str, str]] = field(default_factory=list)

    def open(self, repo: str, number: int, sha: str, **kw: object) -> PullRequest:
        pr = PullRequest(PullRef(repo, number), sha, "feature", "main", "open", **kw)  # type: ignore[arg-type]
        self.pulls[(repo, number)] = pr
        return pr

    def close(self, repo: str, number: int) -> None:
        pr = self.pulls[(repo, number)]
        self.pulls[(repo, number)] = PullRequest(pr.ref, pr.head_sha, pr.head_ref, pr.base_ref, "closed")

    def get_pull(self, ref: PullRef) -> PullRequest:
        self.reads += 1
        try:
            return self.pulls[(ref.repo, ref.number)]
        except KeyError:
            raise PermanentError("GitHub reading: 404 Not Found") from None

    def set_status(self, ref: PullRef, sha: str, context: str, report: StatusReport) -> None:
        self.statuses.append((sha, context, report))

    def permission(self, ref: PullRef, login: str) -> str:
        return self.permissions.get(login, "read")

    def react(self, ref: PullRef, comment_id: int, content: str) -> None:
        self.reactions.append((comment_id, content))

    def check_results(self, ref: PullRef, sha: str, exclude_context: str) -> dict[str, str]:
        return dict(self.checks.get(sha, {}))

    def read_file(self, ref: PullRef, path: str, sha: str) -> str | None:
        self.file_reads.append((sha, path))
        return self.files.get((sha, path))

    def read_templates(self, ref: PullRef, directory: str, sha: str) -> dict[str, str]:
        self.file_reads.append((sha, directory))
        prefix = directory.rstrip("/") + "/"
        return {
            path.removeprefix(prefix): text
            for (at, path), text in self.files.items()
            if at == sha and path.startswith(prefix) and path.endswith(".yaml.j2")
        }

    def create_deployment(self, ref: PullRef, sha: str, environment: str, description: str) -> int:
        self.deployments.append({"sha": sha, "environment": environment, "statuses": []})
        return len(self.deployments)

    def set_deployment_status(
        self, ref: PullRef, deployment_id: int, state: str, description: str, environment_url: str | None
    ) -> None:
        self.deployments[deployment_id - 1]["statuses"].append((state, environment_url))

    def find_comment(self, ref: PullRef, marker: str) -> int | None:
        self.comment_searches += 1
        found = [i for i, body in self.comments.items() if marker in body]
        return found[0] if found else None

    def write_comment(self, ref: PullRef, comment_id: int | None, body: str) -> int:
        comment_id = comment_id or len(self.comments) + 1
        self.comments[comment_id] = body
        self.comment_writes += 1
        return comment_id

    def for_sha(self, sha: str) -> list[StatusReport]:
        return [r for s, _, r in self.statuses if s == sha]


def _merge(target: dict, patch: dict) -> None:
    """RFC 7386 merge patch, in place."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


@dataclass
class FakeCluster:
    objects: dict[str, dict] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    terminating: set[str] = field(default_factory=set)

    def read_namespace(self, name: str) -> NamespaceInfo | None:
        self.calls.append(f"read {name}")
        ns = self.objects.get(ObjectRef("v1", "Namespace", name).key())
        if ns is None:
            return None
        phase = "Terminating" if name in self.terminating else "Active"
        meta = ns["metadata"]
        return NamespaceInfo(name, phase, dict(meta.get("annotations", {})), dict(meta.get("labels", {})))

    def apply(self, manifest: dict) -> None:
        ref = ObjectRef.of(manifest)
        self.calls.append(f"apply {ref.kind}/{ref.name}")
        self.objects[ref.key()] = manifest

    def delete(self, ref: ObjectRef) -> None:
        self.calls.append(f"delete {ref.kind}/{ref.name}")
        self.objects.pop(ref.key(), None)

    def delete_namespace(self, name: str) -> None:
        self.calls.append(f"delete-namespace {name}")
        self.terminating.add(name)

    def list_namespaces(self, label_selector: str) -> list[NamespaceInfo]:
        key, _, value = label_selector.partition("=")
        found = []
        for obj in self.objects.values():
            if obj["kind"] == "Namespace" and obj["metadata"].get("labels", {}).get(key) == value:
                found.append(self.read_namespace(obj["metadata"]["name"]))
        return [ns for ns in found if ns is not None]

    def kinds(self) -> set[str]:
        return {ObjectRef.parse(k).kind + "/" + ObjectRef.parse(k).name for k in self.objects}

    def deployments_in(self, namespace: str) -> list[dict]:
        return [
            obj
            for obj in self.objects.values()
            if obj["kind"] == "Deployment" and obj["metadata"].get("namespace") == namespace
        ]

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        self.calls.append(f"scale Deployment/{name} {replicas}")
        obj = self.objects.get(ObjectRef("apps/v1", "Deployment", name, namespace).key())
        if obj is not None:
            obj.setdefault("spec", {})["replicas"] = replicas

    def patch(self, ref: ObjectRef, patch: dict) -> None:
        self.calls.append(f"patch {ref.kind}/{ref.name}")
        _merge(self.objects[ref.key()], patch)

    def annotate_namespace(self, name: str, annotations: dict[str, str | None]) -> None:
        self.calls.append(f"annotate {name}")
        meta = self.objects[ObjectRef("v1", "Namespace", name).key()]["metadata"]
        current = dict(meta.get("annotations") or {})
        for key, value in annotations.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        meta["annotations"] = current


class FakeRenderer:
    """Renders a namespace, a config map and a deployment; ``extra`` adds objects."""

    def __init__(self) -> None:
        self.extra: list[str] = []

    def render(self, values: dict, extra: dict[str, str] | None = None) -> list[dict]:
        ns = values["namespace"]
        meta = {"labels": values["labels"], "namespace": ns}
        out = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": values["labels"]}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "preview-env", **meta}},
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", **meta, "annotations": values["annotations"]},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": values["image"]}]}}},
            },
        ]
        out += [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": n, **meta}} for n in self.extra]
        return out


class MemoryLedger:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
