"""The ``previewbot`` command line, run as a process against the emulators, Redis and the real intake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from werkzeug.serving import make_server

from app import create_app
from preview import naming
from preview.models import PullRef
from preview.settings import load
from scripts.cli import main
from tests.helpers import EXAMPLES, ROOT, free_port
from workers.celery_app import QUEUE, make_celery
from workers.enqueue import Enqueuer
from workers.runtime import Runtime

REPO = "acme/cli"
SECRET = "replay-secret"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m scripts.cli ARGS`` with exactly ``env`` (plus PATH and HOME)."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": env.get("HOME", str(ROOT)), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(gh, bot_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    gh.add_repo(REPO)
    return {**bot_env, "HOME": str(tmp_path)}


def deploy(env: dict[str, str], gh, number: int) -> tuple[str, str]:
    sha = gh.open_pr(REPO, number, branch=f"cli-{number}")["head"]["sha"]
    Runtime(load(env)).lifecycle.sync(PullRef(REPO, number), sha)
    return naming.namespace_name(REPO, number), sha


def exists(kube, name: str) -> bool:
    return any(n["metadata"]["name"] == name for n in kube.objects("namespaces"))


def test_render_prints_the_manifests_and_applies_nothing(env: dict[str, str], gh, kube) -> None:
    sha = gh.open_pr(REPO, 5, branch="feature")["head"]["sha"]
    gh.set_file(REPO, sha, ".preview.yml", "replicas: 2\nport: 3000\n")

    done = cli(env, "render", "--repo", REPO, "--pr", "5", "--sha", sha)

    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    ns = naming.namespace_name(REPO, 5)
    assert {"Namespace", "Deployment", "Service", "Ingress"} <= {d["kind"] for d in docs}
    assert next(d for d in docs if d["kind"] == "Namespace")["metadata"]["name"] == ns
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert sha in container["image"] and container["ports"][0]["containerPort"] == 3000
    assert not exists(kube, ns)

    bad = gh.push(REPO, 5)
    gh.set_file(REPO, bad, ".preview.yml", "replicas: many\n")
    failed = cli(env, "render", "--repo", REPO, "--pr", "5", "--sha", bad)
    assert failed.returncode == 1 and "invalid .preview.yml" in failed.stderr and "replicas" in failed.stderr
    missing = cli(env, "render", "--repo", REPO, "--pr", "999")
    assert missing.returncode == 1 and "404" in missing.stderr


def test_list_shows_previews_from_the_cluster(env: dict[str, str], gh, kube) -> None:
    first, first_sha = deploy(env, gh, 6)
    second, _ = deploy(env, gh, 7)

    done = cli(env, "list")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "REPO", "PR", "SHA", "AGE", "STATUS"]
    row = next(line.split() for line in lines if line.startswith(first))
    assert row[1:4] == [REPO, "6", first_sha[:7]] and row[5] == "Active"
    assert any(line.startswith(second) for line in lines)
    listed = {p["namespace"]: p for p in json.loads(cli(env, "list", "--json").stdout)}
    assert listed[first]["sha"] == first_sha and listed[first]["pr"] == "6" and listed[first]["repo"] == REPO


def test_gc_dry_run_reports_and_deletes_nothing(env: dict[str, str], gh, kube, redis_db: redis.Redis) -> None:
    ns, _ = deploy(env, gh, 8)
    kept, _ = deploy(env, gh, 9)
    gh.close_pr(REPO, 8)

    done = cli(env, "gc", "--dry-run")

    assert done.returncode == 0, done.stderr
    assert f"would remove: {ns} ({REPO}#8, closed)" in done.stdout
    assert kept not in done.stdout
    assert "would remove" in done.stdout.splitlines()[-1]
    report = json.loads(cli({**env, "PREVIEWBOT_GC_DRY_RUN": "true"}, "gc", "--json").stdout)
    assert report["dry_run"] is True
    assert {"namespace": ns, "repo": REPO, "pr": 8, "reason": "closed", "outcome": "dry run"} in report["removed"]
    assert exists(kube, ns) and exists(kube, kept)
    assert redis_db.llen(QUEUE) == 0


@pytest.fixture
def intake(redis_url: str, redis_db: redis.Redis) -> Iterator[str]:
    """The real Flask intake, served over HTTP on a free port, queueing into the tests' Redis."""
    settings = load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": SECRET, "PREVIEWBOT_REDIS_URL": redis_url})
    enqueuer = Enqueuer(redis.Redis.from_url(redis_url), make_celery(settings), settings.delivery_ttl_seconds)
    server = make_server("127.0.0.1", free_port(), create_app(settings, enqueuer), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhooks/github"
    finally:
        server.shutdown()
        thread.join(10)


def test_replay_signs_and_resends_a_saved_webhook(intake: str, redis_db: redis.Redis, tmp_path: Path) -> None:
    saved = tmp_path / "delivery.json"
    saved.write_bytes((EXAMPLES / "pull_request.opened.json").read_bytes())
    env = {"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": f"{SECRET},older", "HOME": str(tmp_path)}

    done = cli(env, "replay", str(saved), "--event", "pull_request", "--url", intake)

    assert done.returncode == 0, done.stderr
    assert "HTTP 202" in done.stdout and '"queued"' in done.stdout
    assert redis_db.llen(QUEUE) == 1
    again = cli(env, "replay", str(saved), "--event", "pull_request", "--url", intake, "--delivery", "fixed-1")
    assert again.returncode == 0 and "delivery fixed-1: HTTP 202" in again.stdout
    duplicate = cli(env, "replay", str(saved), "--event", "pull_request", "--url", intake, "--delivery", "fixed-1")
    assert duplicate.returncode == 0 and "HTTP 200" in duplicate.stdout and '"duplicate"' in duplicate.stdout
    assert redis_db.llen(QUEUE) == 2
    refused = cli(
        {**env, "PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "not-the-secret"},
        *("replay", str(saved), "--event", "pull_request", "--url", intake),
    )
    assert refused.returncode == 1 and "HTTP 401" in refused.stdout
    unreachable = cli(env, "replay", str(saved), "--event", "ping", "--url", f"http://127.0.0.1:{free_port()}/")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    assert redis_db.llen(QUEUE) == 2


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("PREVIEWBOT_"):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: COMMAND"),
        (["nonsense"], "invalid choice"),
        (["render", "--pr", "1"], "--repo"),
        (["render", "--repo", "not a repo", "--pr", "1"], "expected owner/name"),
        (["render", "--repo", "acme/web", "--pr", "0"], "expected a pull request number"),
        (["render", "--repo", "acme/web", "--pr", "1", "--sha", "abc"], "full commit SHA"),
        (["list", "--bogus"], "unrecognized arguments: --bogus"),
        (["replay", "payload.json"], "--event"),
        (["replay", "payload.json", "--event", "ping", "--url", "ftp://example.org/"], "http(s) URL"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variables", "args", "message"),
    [
        ({}, ["render", "--repo", "acme/web", "--pr", "1"], "PREVIEWBOT_GITHUB_TOKEN: required"),
        ({}, ["replay", "payload.json", "--event", "ping"], "PREVIEWBOT_GITHUB_WEBHOOK_SECRET: required"),
        ({}, ["serve"], "PREVIEWBOT_GITHUB_WEBHOOK_SECRET: required"),
        ({"PREVIEWBOT_REDIS_URL": "ftp://example.org"}, ["list"], "PREVIEWBOT_REDIS_URL"),
        ({"PREVIEWBOT_GITHUB_TOKEN": "t", "PREVIEWBOT_GC_INTERVAL_SECONDS": "5"}, ["gc"], "at least 10"),
        ({"PREVIEWBOT_GITHUB_TOKEN": "t", "PREVIEWBOT_GC_DRY_RUN": "maybe"}, ["gc"], "PREVIEWBOT_GC_DRY_RUN"),
        (
            {"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "s"},
            ["replay", "/nonexistent/x.json", "--event", "ping"],
            "cannot read",
        ),
    ],
)
def test_bad_settings_exit_2_with_a_message(
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    for key, value in variables.items():
        clean_env.setenv(key, value)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("previewbot: ") and message in err
