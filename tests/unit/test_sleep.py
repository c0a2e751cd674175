"""Sleep and wake of idle previews (preview/sleep.py), against in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from preview import naming, wake_link
from preview.commands import CommandRunner
from preview.lifecycle import Lifecycle, Outcome
from preview.models import ObjectRef, PullRef, State, StatusReport
from preview.naming import Annotations
from preview.reporting import Reporter
from preview.settings import Settings, load
from preview.settings_values import Secret, SettingsError
from preview.sleep import Sleeper, WakeResult, activity_key, asleep, wake_ref_key
from preview.slots import Limits, Slots
from tests.unit.fakes import FakeCluster, FakeGitHub, FakeRenderer, MemoryLedger
from tests.unit.test_slots import MemoryStore

REPO = "acme/web-shop"
REF = PullRef(REPO, 7)
NS = naming.namespace_name(REPO, 7)
A, B = "a" * 40, "b" * 40
START = datetime(2026, 1, 1, tzinfo=UTC)
IDLE = 3600
SETTINGS = Settings(
    idle_sleep_seconds=IDLE, public_url="https://previewbot.example.com", wake_link_secrets=(Secret("s3cret"),)
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    """A deployed, rolled-out preview of PR 7 and the sleeper of its lifecycle."""

    def __init__(self, settings: Settings = SETTINGS, slots: bool = False) -> None:
        self.clock = Clock()
        self.woken: list = []
        self.github, self.cluster, self.ledger = FakeGitHub(), FakeCluster(), MemoryLedger()
        self.reporter = Reporter(self.github, self.ledger, "preview", clock=lambda: "now")
        self.slots = (
            Slots(Limits(total=1), MemoryStore(), self.cluster, self.reporter, self.woken.append,
                  dormant=lambda ns: asleep(ns.annotations))
            if slots
            else None
        )  # fmt: skip
        self.lifecycle = Lifecycle(
            self.github, self.cluster, FakeRenderer(), self.reporter, settings, clock=self.clock, slots=self.slots
        )
        self.sleeper = Sleeper.of(self.lifecycle)

    def deploy(self, number: int = 7, sha: str = A, **kw: object) -> None:
        ref = PullRef(REPO, number)
        self.github.open(REPO, number, sha, **kw)
        assert self.lifecycle.sync(ref, sha) is Outcome.DEPLOYED
        self.ready(ref, sha)

    def ready(self, ref: PullRef = REF, sha: str = A) -> None:
        """What the watcher reports once the pods are ready."""
        self.reporter.report(ref, sha, StatusReport(State.SUCCESS, "Preview ready", "https://pr-7"), observed=True)

    def annotations(self, ns: str = NS) -> dict[str, str]:
        return self.cluster.objects[ObjectRef("v1", "Namespace", ns).key()]["metadata"].get("annotations", {})

    def replicas(self, ns: str = NS) -> int:
        return self.cluster.objects[ObjectRef("apps/v1", "Deployment", "web", ns).key()]["spec"].get("replicas", 1)

    def last(self, sha: str = A) -> StatusReport:
        return self.github.for_sha(sha)[-1]


@pytest.fixture
def world() -> World:
    w = World()
    w.deploy()
    return w


def test_an_idle_preview_sleeps(world: World) -> None:
    world.clock.advance(IDLE - 1)
    assert world.sleeper.sweep("keep") == []
    world.clock.advance(1)
    assert world.sleeper.sweep("keep") == [REF]
    assert world.replicas() == 0
    notes = world.annotations()
    assert notes[Annotations.SLEEPING_SINCE] == "2026-01-01T01:00:00Z"
    assert json.loads(notes[Annotations.SLEEP_REPLICAS]) == {"web": 1}
    status = world.last()
    assert status.state is State.SUCCESS and status.description.startswith("Sleeping after 1h idle")
    assert status.target_url == wake_link.url(SETTINGS, NS)
    body = next(iter(world.github.comments.values()))
    assert "💤 Sleeping" in body and "/preview wake" in body and "**Wake**" in body
    assert world.ledger.get(wake_ref_key(NS)) == json.dumps([REPO, 7, None])
    calls = list(world.cluster.calls)
    assert world.sleeper.sweep("keep") == []  # asleep: nothing more to do
    assert [c for c in world.cluster.calls[len(calls) :] if not c.startswith("read")] == []


def test_the_keep_label_never_sleeps() -> None:
    world = World()
    world.deploy(labels=("keep",))
    world.clock.advance(10 * IDLE)
    assert world.sleeper.sweep("keep") == []
    assert world.replicas() == 1 and Annotations.SLEEPING_SINCE not in world.annotations()


def test_activity_postpones_sleep(world: World) -> None:
    world.clock.advance(IDLE - 10)
    world.sleeper.touch(REF)  # e.g. a dashboard visit
    world.clock.advance(20)
    assert world.sleeper.sweep("keep") == []
    world.clock.advance(IDLE)
    assert world.sleeper.sweep("keep") == [REF]


def test_a_command_is_activity(world: World) -> None:
    world.github.permissions["maintainer"] = "write"
    world.clock.advance(IDLE - 10)
    CommandRunner(world.lifecycle, world.reporter).run(REF, 5, "maintainer", "/preview status")
    assert world.ledger.get(activity_key(REPO, 7)) == str(int(world.clock().timestamp()))
    world.clock.advance(20)
    assert world.sleeper.sweep("keep") == []


def test_disabled_with_zero() -> None:
    world = World(Settings(idle_sleep_seconds=0))
    world.deploy()
    world.clock.advance(365 * 86400)
    assert world.sleeper.sweep("keep") == []
    assert world.replicas() == 1


def test_a_preview_not_rolled_out_or_failed_never_sleeps() -> None:
    world = World()
    world.github.open(REPO, 7, A)
    world.lifecycle.sync(REF, A)  # pending "Deploying…"
    world.clock.advance(10 * IDLE)
    assert world.sleeper.sweep("keep") == []
    world.reporter.report(REF, A, StatusReport(State.FAILURE, "Rollout failed: x"), observed=True)
    assert world.sleeper.sweep("keep") == []


def test_wake_restores_replicas_and_clears_the_marks(world: World) -> None:
    world.cluster.scale(NS, "web", 3)  # as the apply left it
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    assert world.replicas() == 0
    world.clock.advance(60)
    assert world.sleeper.wake(REF) is WakeResult.WOKEN
    assert world.replicas() == 3
    assert Annotations.SLEEPING_SINCE not in world.annotations()
    assert Annotations.SLEEP_REPLICAS not in world.annotations()
    assert world.last() == StatusReport(State.PENDING, "Waking up…")
    assert world.sleeper.wake(REF) is WakeResult.AWAKE
    world.ready()
    assert world.last().description == "Preview ready"
    world.clock.advance(IDLE - 1)  # the wake was activity
    assert world.sleeper.sweep("keep") == []


def test_wake_command_needs_write_permission(world: World) -> None:
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    runner = CommandRunner(world.lifecycle, world.reporter)
    world.github.permissions.update({"reader": "read", "maintainer": "write"})
    assert runner.run(REF, 8, "reader", "/preview wake").startswith("refused")
    assert world.replicas() == 0
    assert runner.run(REF, 9, "maintainer", "/preview wake") == "waking up"
    assert world.replicas() == 1


def test_a_push_wakes_a_sleeping_preview(world: World) -> None:
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    world.clock.advance(5)
    world.github.open(REPO, 7, B)
    before = len(world.cluster.calls)
    assert world.lifecycle.sync(REF, B) is Outcome.DEPLOYED
    # the fake's apply replaces the namespace; a real server-side apply keeps the marks a merge patch wrote
    assert world.cluster.calls[-1] == f"annotate {NS}" and f"annotate {NS}" not in world.cluster.calls[before:-1]
    assert Annotations.SLEEPING_SINCE not in world.annotations()
    assert world.replicas() == 1
    world.ready(REF, B)
    world.clock.advance(IDLE - 1)  # the deploy was activity
    assert world.sleeper.sweep("keep") == []


def test_a_forced_redeploy_wakes_it(world: World) -> None:
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    world.clock.advance(5)
    assert world.lifecycle.resume(REF, force=True) is Outcome.DEPLOYED
    assert Annotations.SLEEPING_SINCE not in world.annotations()
    assert world.replicas() == 1


def test_a_sleep_cut_short_is_finished_by_the_next_sweep(world: World) -> None:
    world.clock.advance(IDLE)
    marks = {Annotations.SLEEPING_SINCE: "2026-01-01T01:00:00Z", Annotations.SLEEP_REPLICAS: '{"web": 1}'}
    world.cluster.annotate_namespace(NS, marks)  # then the process died: nothing scaled, nothing reported
    assert world.replicas() == 1
    world.sleeper.sweep("keep")
    assert world.replicas() == 0 and world.last().description.startswith("Sleeping")


def test_a_wake_cut_short_is_completed_by_the_next_sweep(world: World) -> None:
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    annotate = world.cluster.annotate_namespace

    def dies(name: str, annotations: dict) -> None:
        raise RuntimeError("killed")

    world.cluster.annotate_namespace = dies  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        world.sleeper.wake(REF)
    world.cluster.annotate_namespace = annotate  # type: ignore[method-assign]
    assert world.replicas() == 1 and asleep(world.annotations())
    world.sleeper.sweep("keep")
    assert not asleep(world.annotations()) and world.replicas() == 1


def test_marks_older_than_a_deploy_are_removed(world: World) -> None:
    marks = {Annotations.SLEEPING_SINCE: "2025-12-31T00:00:00Z", Annotations.SLEEP_REPLICAS: "{}"}
    world.cluster.annotate_namespace(NS, marks)  # a deploy raced the sleep and won
    assert not asleep(world.annotations())
    world.sleeper.sweep("keep")
    assert Annotations.SLEEPING_SINCE not in world.annotations() and world.replicas() == 1


def test_sleep_frees_a_slot_and_wake_claims_one() -> None:
    settings = Settings(idle_sleep_seconds=IDLE, max_previews=1, sleep_frees_slot=True)
    world = World(settings, slots=True)
    world.deploy()
    world.github.open(REPO, 8, B)
    assert world.lifecycle.sync(PullRef(REPO, 8), B) is Outcome.QUEUED
    world.clock.advance(IDLE)
    assert world.sleeper.sweep("keep") == [REF]
    assert [w.number for w in world.woken] == [8]  # the freed slot started the next queued PR
    assert world.lifecycle.sync(PullRef(REPO, 8), B) is Outcome.DEPLOYED
    assert world.sleeper.wake(REF) is WakeResult.QUEUED
    assert world.last().description == "Queued: position 1 of 1"
    assert world.replicas() == 0


# -- wake links and settings ---------------------------------------------------------------------------------


def test_wake_tokens() -> None:
    token = wake_link.token("s3cret", NS)
    assert wake_link.verify(["old", "s3cret"], NS, token)
    assert not wake_link.verify(["s3cret"], NS + "x", token)
    assert not wake_link.verify(["s3cret"], NS, None) and not wake_link.verify(["s3cret"], NS, "")
    assert not wake_link.verify(["s3cret"], NS, token[:-1] + ("0" if token[-1] != "0" else "1"))
    link = wake_link.url(SETTINGS, NS)
    assert link == f"https://previewbot.example.com/wake/{NS}?token={token}" and "s3cret" not in link
    assert wake_link.url(Settings(), NS) is None


def test_settings() -> None:
    assert Settings().idle_sleep_seconds == 86400 and not Settings().sleep_frees_slot
    loaded = load({"PREVIEWBOT_IDLE_SLEEP_SECONDS": "0", "PREVIEWBOT_SLEEP_FREES_SLOT": "true",
                   "PREVIEWBOT_PUBLIC_URL": "https://bot.example.com/"})  # fmt: skip
    assert (loaded.idle_sleep_seconds, loaded.sleep_frees_slot, loaded.public_url) == (
        0, True, "https://bot.example.com")  # fmt: skip
    for bad in ("-1", "1h", "1.5"):
        with pytest.raises(SettingsError, match="PREVIEWBOT_IDLE_SLEEP_SECONDS: expected a whole number"):
            load({"PREVIEWBOT_IDLE_SLEEP_SECONDS": bad})
    with pytest.raises(SettingsError, match="PREVIEWBOT_PUBLIC_URL"):
        load({"PREVIEWBOT_PUBLIC_URL": "bot.example.com"})


def test_a_push_to_a_sleeping_preview_without_a_free_slot_waits_asleep() -> None:
    settings = Settings(idle_sleep_seconds=IDLE, max_previews=1, sleep_frees_slot=True)
    world = World(settings, slots=True)
    world.deploy()
    world.clock.advance(IDLE)
    world.sleeper.sweep("keep")
    world.deploy(number=8, sha=B)  # took the slot the sleep freed
    world.clock.advance(5)
    head = "c" * 40
    world.github.open(REPO, 7, head)
    assert world.lifecycle.sync(REF, head) is Outcome.DEPLOYED
    assert asleep(world.annotations()) and world.replicas() == 0
    assert world.last(head).description == "Queued: position 1 of 1"
    assert world.sleeper.sweep("keep") == [] and world.replicas() == 0  # nothing half done
    world.github.close(REPO, 8)
    assert world.lifecycle.sync(PullRef(REPO, 8)) is Outcome.TORN_DOWN
    assert [w.number for w in world.woken] == [7]  # its turn: the worker wakes it (a wake is wanted)
    assert world.sleeper.wake(REF) is WakeResult.WOKEN
    assert world.replicas() == 1 and not asleep(world.annotations())
    assert world.last(head) == StatusReport(State.PENDING, "Waking up…")


def test_a_scale_down_that_lost_to_a_deploy_is_scaled_back(world: World) -> None:
    marks = {Annotations.SLEEPING_SINCE: "2025-12-31T00:00:00Z", Annotations.SLEEP_REPLICAS: '{"web": 1}'}
    world.cluster.annotate_namespace(NS, marks)  # the sleep began, a deploy came, then the scale-down ran
    world.cluster.scale(NS, "web", 0)
    world.sleeper.sweep("keep")
    assert Annotations.SLEEPING_SINCE not in world.annotations() and world.replicas() == 1


def test_the_watchers_sweep_only_queues_and_the_task_settles_under_the_lock(world: World) -> None:
    queued: list[PullRef] = []
    world.sleeper.request = queued.append
    world.clock.advance(IDLE)
    calls = len(world.cluster.calls)
    assert world.sleeper.sweep("keep") == [REF] and queued == [REF]
    assert world.replicas() == 1  # nothing done outside the PR's lock
    assert [c for c in world.cluster.calls[calls:] if not c.startswith("read")] == []
    world.deploy(sha=B)  # a push lands before the task runs: no longer idle
    assert world.sleeper.settle(REF, "keep") is False and world.replicas() == 1
    world.clock.advance(IDLE)
    assert world.sleeper.settle(REF, "keep") is True and world.replicas() == 0
    assert world.last(B).description.startswith("Sleeping")  # on the commit deployed now, not the one listed
    queued.clear()
    assert world.sleeper.sweep("keep") == [] and queued == []  # asleep and settled: nothing queued
