"""Blue-green previews through real processes: the Service never selects two commits at once.

A sampler reads the preview's Service, its EndpointSlices and its Pods through the API, over and over,
for the whole of a push's rollout and of a failed one. In every sample the pods the Service selects,
and the pods behind its endpoints, run one commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from kubernetes import client

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

TIMEOUT = 90
DB = 5  # a Redis database no other end-to-end module uses
NUMBER = 95
NS = naming.namespace_name(REPO, NUMBER)
SHA_ANNOTATION = "previewbot.io/sha"


@pytest.fixture(scope="module")
def blue_green(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{DB}").flushdb()
    workdir = tmp_path_factory.mktemp("blue-green")
    stack = make_stack(kube, gh, redis_url, workdir, DB, PREVIEWBOT_DEFAULT_STRATEGY="blue-green")
    stack.start_all()
    yield stack
    stack.stop_all()


@dataclass(frozen=True)
class Sample:
    selected: frozenset[str]  # commits of the pods the Service's selector matches
    serving: frozenset[str]  # commits of the pods behind the Service's ready endpoints


class Sampler(threading.Thread):
    """Samples the Service ``web``, its EndpointSlices and the Pods of the preview until stopped."""

    def __init__(self, api: client.ApiClient) -> None:
        super().__init__(daemon=True)
        self.core, self.discovery = client.CoreV1Api(api), client.DiscoveryV1Api(api)
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def sample(self) -> Sample:
        selector = self.core.read_namespaced_service("web", NS).spec.selector or {}
        slices = self.discovery.list_namespaced_endpoint_slice(NS, label_selector="kubernetes.io/service-name=web")
        pods = {p.metadata.name: p for p in self.core.list_namespaced_pod(NS).items}

        def commit(pod: client.V1Pod) -> str:
            return (pod.metadata.annotations or {}).get(SHA_ANNOTATION, "?")

        selected = {
            commit(p) for p in pods.values() if selector.items() <= (p.metadata.labels or {}).items() and selector
        }
        serving = {
            commit(pods[e.target_ref.name]) if e.target_ref.name in pods else "gone"
            for s in slices.items
            for e in s.endpoints or []
            if e.conditions and e.conditions.ready
        }
        return Sample(frozenset(selected), frozenset(serving))

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append(self.sample())

    def stop(self) -> list[Sample]:
        self.stopping.set()
        self.join(timeout=10)
        return self.samples


def last(gh, sha: str) -> dict | None:
    found = [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]
    return found[-1] if found else None


def wait_final(gh, sha: str) -> dict:
    final = lambda: (s := last(gh, sha)) is not None and s["state"] != "pending"  # noqa: E731
    wait_for(final, TIMEOUT, what=f"a final status of {sha[:7]}")
    status = last(gh, sha)
    assert status is not None
    return status


def deliver(gh, stack: Stack, action: str) -> None:
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", action, REPO, NUMBER)
    assert delivery.status_code in (200, 202), delivery.response_body


def deployments(kube) -> set[str]:
    return {
        d["metadata"]["name"] for d in kube.objects("deployments", NS) if not d["metadata"].get("deletionTimestamp")
    }


def test_a_push_switches_at_once_and_a_failed_one_leaves_the_old_commit_serving(gh, kube, blue_green) -> None:
    first = gh.open_pr(REPO, NUMBER, branch="blue-green")["head"]["sha"]
    deliver(gh, blue_green, "opened")
    assert wait_final(gh, first)["description"] == "Preview ready"
    sampler = Sampler(kube.api_client())
    assert sampler.sample() == Sample(frozenset({first}), frozenset({first}))
    sampler.start()

    second = gh.push(REPO, NUMBER)
    deliver(gh, blue_green, "synchronize")
    status = wait_final(gh, second)
    assert (status["state"], status["description"]) == ("success", "Preview ready")
    wait_for(lambda: deployments(kube) == {f"web-{second[:7]}"}, TIMEOUT, what="the old commit's Deployment gone")

    third = gh.push(REPO, NUMBER)
    gh.set_file(REPO, third, ".preview.yml", "image: 'example.org/web-shop:fail-pull-{short_sha}'\n")
    deliver(gh, blue_green, "synchronize")
    status = wait_final(gh, third)
    samples = sampler.stop()

    assert status["state"] == "failure"
    assert status["description"].startswith(f"Rollout of {third[:7]} failed: ")
    assert status["description"].endswith(f"; {second[:7]} still serving")
    assert deployments(kube) == {f"web-{second[:7]}", f"web-{third[:7]}"}
    assert sampler.sample() == Sample(frozenset({second}), frozenset({second}))

    assert len(samples) > 20, "too few samples to have watched the rollout"
    mixed = [s for s in samples if len(s.selected) > 1 or len(s.serving) > 1]
    assert not mixed, f"two commits behind the Service at once: {mixed[:3]}"
    served = [next(iter(s.serving)) for s in samples if s.serving]
    assert served[0] == first and served[-1] == second
    assert set(served) == {first, second}  # the failed commit never served
    switch = served.index(second)
    assert set(served[switch:]) == {second}  # switched once, never back
    assert all(s.serving for s in samples), "a moment with no ready endpoint behind the Service"
