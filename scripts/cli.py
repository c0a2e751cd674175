"""``previewbot``: run previewbot's processes, and look at or act on its previews from a terminal.

Settings come from the same ``PREVIEWBOT_*`` variables as the processes. Exit status: 0 on success,
1 when the work failed (GitHub or Kubernetes refused, a replayed webhook was not accepted), 2 for a
bad command line or bad settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from preview import naming
from preview.models import PullRef
from preview.naming import Annotations
from preview.ports import PermanentError, TemporaryError
from preview.repo_config import FILE_NAME, ConfigError
from preview.settings import Settings, SettingsError, load
from webhooks.signature import sign
from webhooks.validate import header_problem

DEFAULT_URL = "http://127.0.0.1:8000/webhooks/github"


class UsageError(Exception):
    """A bad command line or bad settings: exit status 2."""


class Failed(Exception):
    """The work itself failed: exit status 1."""


def _settings(*require: Callable[[Settings], Settings]) -> Settings:
    try:
        settings = load()
        for need in require:
            settings = need(settings)
    except SettingsError as exc:
        raise UsageError(f"configuration error: {exc}") from None
    return settings


def _runtime(settings: Settings):  # noqa: ANN202 - workers.runtime.Runtime, imported late
    """previewbot's collaborators; warnings and errors are logged to stderr (JSON lines)."""
    from preview import logs
    from workers.runtime import Runtime

    logs.configure("WARNING")
    return Runtime(settings)


# -- processes --------------------------------------------------------------------------------------


def serve(_args: argparse.Namespace, _extra: list[str]) -> int:
    """Exec gunicorn exactly as the Procfile's ``web`` line does."""
    _settings(Settings.require_webhook)
    port = os.environ.get("PORT", "")
    bind = f"0.0.0.0:{port}" if port else os.environ.get("PREVIEWBOT_BIND") or "127.0.0.1:8000"
    workers = os.environ.get("WEB_CONCURRENCY") or "2"
    argv = ["--bind", bind, "--workers", workers, "--access-logfile", "-", "app.wsgi:application()"]
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", *argv])
    return 0  # not reached


def process(args: argparse.Namespace, extra: list[str]) -> int:
    """``worker`` (further arguments go to Celery), ``watcher``, ``sandbox``: that process's own main."""
    from scripts import run
    from workers import watcher, worker

    {"worker": lambda: worker.main(extra), "watcher": watcher.main, "sandbox": run.main}[args.command]()
    return 0


# -- previews ---------------------------------------------------------------------------------------


def render(args: argparse.Namespace, _extra: list[str]) -> int:
    """Print the manifests a sync would apply for the PR at ``--sha``; apply nothing."""
    import yaml

    runtime = _runtime(_settings(Settings.require_github))
    try:
        manifests = runtime.lifecycle.render(PullRef(args.repo, args.pr), args.sha)
    except ConfigError as exc:
        raise Failed(f"invalid {FILE_NAME}: {exc}") from None
    yaml.safe_dump_all(manifests, sys.stdout, sort_keys=False, allow_unicode=True)
    return 0


def _age(created: object, now: datetime) -> str:
    try:
        seconds = int((now - datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)).total_seconds())
    except ValueError:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def list_previews(args: argparse.Namespace, _extra: list[str]) -> int:
    """previewbot's namespaces, as the cluster has them."""
    from preview.garbage_collector import SELECTOR, terminating

    runtime = _runtime(_settings())
    items, _ = runtime.cluster.list_objects("namespaces", SELECTOR)
    now = datetime.now(UTC)
    found = []
    for ns in items:
        meta = ns.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        found.append(
            {
                "namespace": meta.get("name", ""),
                "repo": annotations.get(Annotations.REPO, ""),
                "pr": annotations.get(Annotations.PR, ""),
                "sha": annotations.get(Annotations.APPLIED_SHA, ""),
                "created": meta.get("creationTimestamp", ""),
                "age": _age(meta.get("creationTimestamp"), now),
                "status": "Terminating" if terminating(ns) else "Active",
            }
        )
    found.sort(key=lambda p: (p["repo"], int(p["pr"]) if p["pr"].isdigit() else 0, p["namespace"]))
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no previews")
    else:
        rows = [[p["namespace"], p["repo"], p["pr"], p["sha"][:7] or "-", p["age"], p["status"]] for p in found]
        _table([["NAMESPACE", "REPO", "PR", "SHA", "AGE", "STATUS"], *rows])
    return 0


def gc(args: argparse.Namespace, _extra: list[str]) -> int:
    """One garbage-collection run now: previews of closed, missing or unreachable pull requests."""
    from workers.garbage_collector import build

    settings = _settings(Settings.require_github)
    runtime = _runtime(settings)
    dry = True if args.dry_run else settings.gc_dry_run
    enqueuer = None
    if not dry:
        from workers.celery_app import make_celery
        from workers.enqueue import Enqueuer

        enqueuer = Enqueuer(runtime.redis, make_celery(settings, runtime), settings.delivery_ttl_seconds)
    result = build(runtime, enqueuer, dry_run=dry).run()
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 1 if result.errors else 0
    for doomed in result.removed:
        verb = "would remove" if dry else f"removing ({doomed.outcome})"
        print(f"{verb}: {doomed.namespace} ({doomed.ref}, {doomed.reason})")
    for found in result.stuck:
        blockers = "; ".join(found.blockers) or "nothing recorded"
        print(f"stuck terminating for {found.seconds} s: {found.namespace}: {blockers}")
    for error in result.errors:
        print(f"not checked: {error}")
    removed = "would remove" if dry else "removing"
    print(
        f"checked {result.checked}, kept {result.kept}, {removed} {len(result.removed)}, "
        f"stuck {len(result.stuck)}, errors {len(result.errors)}"
    )
    return 1 if result.errors else 0


def replay(args: argparse.Namespace, _extra: list[str]) -> int:
    """POST a saved webhook payload, signed like GitHub signs it, with a fresh (or the given) delivery id."""
    settings = _settings(Settings.require_webhook)
    try:
        body = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        if not isinstance(json.loads(body), dict):
            raise ValueError
    except ValueError:
        raise UsageError(f"{args.file}: not a JSON object (a webhook payload)") from None
    delivery = args.delivery or str(uuid.uuid4())
    if (problem := header_problem(args.event, delivery)) is not None:
        raise UsageError(problem.replace("X-GitHub-Event", "--event").replace("X-GitHub-Delivery", "--delivery"))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "previewbot-replay",
        "X-GitHub-Event": args.event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, settings.webhook_secrets[0].value),
    }
    request = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http(s) checked by the parser
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise Failed(f"cannot reach {args.url}: {getattr(exc, 'reason', exc)}") from None
    print(f"delivery {delivery}: HTTP {status} {answer.decode('utf-8', 'replace').strip()}")
    return 0 if 200 <= status < 300 else 1


# -- command line -----------------------------------------------------------------------------------


def _repo(text: str) -> str:
    if not naming.is_repo(text):
        raise argparse.ArgumentTypeError(f"expected owner/name, got {text!r}")
    return text


def _number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise argparse.ArgumentTypeError(f"expected a pull request number, got {text!r}")
    return int(text)


def _sha(text: str) -> str:
    if not naming.FULL_SHA.fullmatch(text):
        raise argparse.ArgumentTypeError("expected a full commit SHA (40 lower-case hex digits)")
    return text


def _url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {text!r}")
    return text


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="previewbot", description="A preview environment per pull request.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="the webhook intake on gunicorn (the Procfile's web)").set_defaults(run=serve)
    commands.add_parser("worker", help="a Celery worker; further arguments go to Celery").set_defaults(run=process)
    commands.add_parser("watcher", help="the watcher (rollouts, expiry, garbage collection)").set_defaults(run=process)
    commands.add_parser("sandbox", help="what `make run` starts").set_defaults(run=process)
    cmd = commands.add_parser("render", help="print the manifests a pull request would get, apply nothing")
    cmd.add_argument("--repo", required=True, type=_repo, help="owner/name")
    cmd.add_argument("--pr", required=True, type=_number, help="pull request number")
    cmd.add_argument("--sha", type=_sha, help="commit to render (default: the pull request's head)")
    cmd.set_defaults(run=render)
    cmd = commands.add_parser("list", help="previewbot's namespaces: repository, PR, applied commit, age")
    cmd.add_argument("--json", action="store_true", help="machine-readable output")
    cmd.set_defaults(run=list_previews)
    cmd = commands.add_parser("gc", help="one garbage-collection run now")
    cmd.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    cmd.add_argument("--json", action="store_true", help="machine-readable output")
    cmd.set_defaults(run=gc)
    cmd = commands.add_parser("replay", help="re-send a saved webhook payload, signed with the webhook secret")
    cmd.add_argument("file", help="the payload (JSON) as GitHub sent it")
    cmd.add_argument("--event", required=True, help="the X-GitHub-Event, e.g. pull_request")
    cmd.add_argument("--url", type=_url, default=DEFAULT_URL, help=f"where to send it (default {DEFAULT_URL})")
    cmd.add_argument("--delivery", help="the X-GitHub-Delivery (default: a fresh one)")
    cmd.set_defaults(run=replay)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args, extra = top.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if extra and args.command != "worker":
        top.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.run(args, extra)
    except UsageError as exc:
        print(f"previewbot: {exc}", file=sys.stderr)
        return 2
    except (Failed, PermanentError, TemporaryError) as exc:
        print(f"previewbot: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
