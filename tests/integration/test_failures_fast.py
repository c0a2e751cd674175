"""The commonest failures are named in seconds, long before the progress deadline (600 s here).

The Kubernetes emulator runs at real speed in this module, so nothing is accelerated: a missing
image or a crashing container must be reported from the pod watch, not from the deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

from integrations.kube import WatchExpired
from preview.models import PullRef
from preview.settings import load
from tests.helpers import wait_for
from workers.runtime import Runtime
from workers.watcher import Watcher

REPO = "acme/fragile"


@pytest.fixture(scope="module")
def real_speed_kube():
    from sandbox.kube import KubeEmulator

    emulator = KubeEmulator(speed=1).start()
    yield emulator
    emulator.stop()


def make_runtime(bot_env: dict[str, str], kube, tmp_path, image: str) -> Runtime:
    env = {
        **bot_env,
        "PREVIEWBOT_KUBECONFIG": kube.write_kubeconfig(str(tmp_path / "real-speed-kubeconfig")),
        "PREVIEWBOT_IMAGE_TEMPLATE": image,
        "PREVIEWBOT_PROGRESS_DEADLINE_SECONDS": "600",
        "PREVIEWBOT_FAILURE_GRACE_SECONDS": "1",
    }
    return Runtime(load(env))


@pytest.fixture
def watching(gh, real_speed_kube, bot_env, redis_db: redis.Redis, tmp_path) -> Iterator:
    gh.add_repo(REPO)
    started: list[tuple[Watcher, threading.Thread]] = []

    def start(image: str) -> Runtime:
        runtime = make_runtime(bot_env, real_speed_kube, tmp_path, image)
        settings = runtime.settings
        watcher = Watcher(
            runtime.cluster, runtime.reporter, expired=WatchExpired, grace_seconds=settings.failure_grace_seconds
        )
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        started.append((watcher, thread))
        return runtime

    yield start
    for watcher, thread in started:
        watcher.stop()
        thread.join(90)


@pytest.mark.parametrize(
    ("number", "tag", "reasons"),
    [
        (1, "fail-pull", ("ErrImagePull", "ImagePullBackOff")),
        (2, "crash", ("CrashLoopBackOff",)),
    ],
)
def test_stuck_containers_fail_the_rollout_within_seconds(watching, gh, number: int, tag: str, reasons) -> None:
    runtime = watching("example.org/{repo}:" + tag + "-{short_sha}")
    sha = gh.open_pr(REPO, number, branch=f"broken-{tag}")["head"]["sha"]
    runtime.lifecycle.sync(PullRef(REPO, number), sha)
    failed = lambda: [s for s in gh.statuses(REPO, sha) if s["state"] == "failure"]  # noqa: E731
    (status, *_) = wait_for(failed, 30, what=f"{tag} reported long before the 600 s deadline")
    description = status["description"]
    assert description.startswith("Rollout failed: ")
    assert any(f"{reason} on container web" in description for reason in reasons), description
    if tag == "fail-pull":
        assert "not found" in description or "Back-off pulling image" in description
    assert len(description) <= 140
