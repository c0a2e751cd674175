"""Fair limits through real processes: with PREVIEWBOT_MAX_PREVIEWS=2 a third PR waits for a free slot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from preview import naming
from tests.e2e.conftest import REPO, SECRET, make_stack
from tests.e2e.harness import Stack
from tests.helpers import wait_for

TIMEOUT = 60
DB = 13


@pytest.fixture(scope="module")
def limited(kube, gh, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + f"/{DB}").flushdb()
    stack = make_stack(kube, gh, redis_url, tmp_path_factory.mktemp("limits"), DB, PREVIEWBOT_MAX_PREVIEWS="2")
    stack.start_all()
    yield stack
    stack.stop_all()


def last(gh, sha: str) -> dict | None:
    found = [s for s in gh.statuses(REPO, sha) if s["context"] == "preview"]
    return found[-1] if found else None


def has(gh, sha: str, state: str, description: str | None = None) -> bool:
    status = last(gh, sha)
    return status is not None and status["state"] == state and description in (None, status["description"])


def namespace(kube, number: int) -> dict | None:
    name = naming.namespace_name(REPO, number)
    return next((n for n in kube.objects("namespaces") if n["metadata"]["name"] == name), None)


def deliver(gh, stack: Stack, action: str, number: int) -> None:
    delivery = gh.deliver(stack.webhook_url, SECRET, "pull_request", action, REPO, number)
    assert delivery.status_code in (200, 202), delivery.response_body


def test_third_preview_waits_for_a_free_slot(gh, kube, limited: Stack) -> None:
    first = gh.open_pr(REPO, 81, branch="limit-a")["head"]["sha"]
    second = gh.open_pr(REPO, 82, branch="limit-b")["head"]["sha"]
    deliver(gh, limited, "opened", 81)
    deliver(gh, limited, "opened", 82)
    wait_for(lambda: has(gh, first, "success") and has(gh, second, "success"), TIMEOUT, what="two previews ready")

    third = gh.open_pr(REPO, 83, branch="limit-c")["head"]["sha"]
    deliver(gh, limited, "opened", 83)
    wait_for(lambda: has(gh, third, "pending", "Queued: position 1 of 1"), TIMEOUT, what="third PR queued")
    assert namespace(kube, 83) is None

    gh.close_pr(REPO, 81)
    deliver(gh, limited, "closed", 81)
    wait_for(lambda: has(gh, third, "success"), TIMEOUT, what="third preview ready once a slot freed")
    assert namespace(kube, 83) is not None
    descriptions = [s["description"] for s in gh.statuses(REPO, third) if s["context"] == "preview"]
    assert descriptions[0] == "Queued: position 1 of 1"
    assert any(d.startswith("Deploying") for d in descriptions)
