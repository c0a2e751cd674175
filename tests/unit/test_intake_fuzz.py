"""Property-based fuzzing of the intake with official payloads, signed and not, intact and mutated.

Every answer is a documented one, and nothing is queued without a valid signature or with a value
that breaks the validation rules (re-checked here with rules written independently of the code).
"""

from __future__ import annotations

import json
import string
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from app import create_app
from preview.settings import load
from tests.helpers import EXAMPLES
from tests.helpers import RecordingQueue as Recorder
from tests.unit.test_intake_rules import check_command
from webhooks.signature import sign

SECRETS = ("old-secret", "new-secret")
ANSWERS = {
    200: {"pong", "duplicate"},
    202: {"queued", "ignored"},
    400: {"bad-headers", "bad-payload", "bad-body"},
    401: {"bad-signature"},
    413: {"too-large"},
    415: {"unsupported-media-type"},
}
HANDLED = ["pull_request", "issue_comment", "check_run", "check_suite", "status", "installation", "ping"]


def load_bases() -> list[tuple[str, dict]]:
    bases = []
    for path in sorted(EXAMPLES.glob("*.json")) + sorted((EXAMPLES / "derived").glob("*.json")):
        bases.append((path.name.split(".")[0], json.loads(path.read_text())))
    command = json.loads((EXAMPLES / "derived" / "issue_comment.created.on-pull-request.DERIVED.json").read_text())
    command["comment"]["body"] = "/preview approve\nplease"
    bases += [("issue_comment", command)] * 20
    status = json.loads((EXAMPLES / "status.json").read_text())
    status["state"] = "success"
    bases += [("status", status)] * 4
    return bases


BASES = load_bases()
#: The fields the intake reads, as paths (list positions as ints).
HOT = [
    tuple(int(part) if part.isdigit() else part for part in path.split("."))
    for path in (
        "action", "repository", "repository.full_name", "installation", "installation.id", "pull_request",
        "pull_request.number", "pull_request.head", "pull_request.head.sha", "issue", "issue.number",
        "issue.pull_request", "comment", "comment.id", "comment.body", "comment.user", "comment.user.login",
        "comment.user.type", "comment.created_at", "check_run", "check_run.head_sha", "check_run.pull_requests",
        "check_run.pull_requests.0", "check_run.pull_requests.0.number", "check_suite.head_sha",
        "check_suite.pull_requests.0.number", "sha", "state", "context", "repositories",
        "repositories.0.full_name", "repositories_removed", "repositories_removed.0.full_name", "zen",
    )
]  # fmt: skip
#: JSON texts spliced into a body verbatim: beyond int()'s digit limit, deeper than the parser goes, and so on.
RAW = [
    "9" * 5000,
    "-" + "1" * 4400,
    "[" * 50_000 + "]" * 50_000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    "[" * 400 + "]" * 400,
    "1e400", "NaN", "-Infinity", '"\\u0000"', '"\\ud800"', '"a\\u202eb/c"', '"Codertocat/Hello-World\\u0000"',
    '"/preview approve\\u202e"', '"/preview \\u0000"', '[{"number": 1e3}]', '[{"full_name": 7}]',
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
HEADER_TEXT = st.text(st.characters(blacklist_characters="\r\n", max_codepoint=0x2FFF), max_size=40)
ODD = "\x00\x1f\x7f\u00e9\u200b\u202e\u2066 "
NUMBERS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30, True, 1.0, "7"]) | st.integers()
SHAS = st.text("0123456789abcdefABCDEFg" + ODD, min_size=39, max_size=41) | st.sampled_from(["a" * 40, "A" * 40, ""])
SEP = st.sampled_from(["/", "/", "//", ",", ""])
BOT = st.sampled_from(["", "[bot]", "[bot"])
PART = st.text(string.ascii_letters[:3] + string.digits[:2] + "-._" + ODD, max_size=4)
REPO_CASES = [
    "a/.", "a/..", "a/...", "-a/b", "a-/b", "a/b/c", "a/b,c/d", "a/b\x00", "a/b\u202e", "\u202ea/b", "a/b ",
    "o" * 40 + "/b", "o" * 39 + "/b", "a/" + "n" * 101, "a/" + "n" * 100, "a/.b", "a/b-_.c", "/b", "a/", "a",
]  # fmt: skip
LOGIN_CASES = [
    "-a", "a-", "a--b", "a.b", "a_b", "a\u202e", "a\x00", "a b", "a[bot]x", "[bot]", "a[bot][bot]", "a" * 40,
    "a" * 39, "ghost", "x[bot]", "\u00e9", "",
]  # fmt: skip
REPOS = st.sampled_from(REPO_CASES) | st.sampled_from(REPO_CASES) | st.builds("{}{}{}".format, PART, SEP, PART)
LOGINS = st.sampled_from(LOGIN_CASES) | st.sampled_from(LOGIN_CASES) | st.builds("{}{}".format, PART, BOT)
TIMES = st.sampled_from(
    ["2026-11-23T10:00:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00:00+00:00", "2026-02-30T10:00:00Z",
     "2026-11-23T24:00:00Z", "2026-11-23T10:00:00.5Z", "0000-01-01T00:00:00Z", "2026-11-23T10:00:00Z\n", "\u0662" * 4]
)  # fmt: skip
WORDS = st.sampled_from(
    ["opened", "closed", "completed", "created", "deleted", "removed", "success", "Opened", "opened\n"]
)
BODIES = st.sampled_from(["/preview", "/preview approve", "/previewx", "/preview\u202e", " /preview go\n", None, 7])
#: Values close to valid, chosen by the name of the field they replace.
NEAR: dict[object, st.SearchStrategy] = {
    "full_name": REPOS, "sha": SHAS, "head_sha": SHAS, "number": NUMBERS, "id": NUMBERS, "login": LOGINS,
    "created_at": TIMES, "action": WORDS, "state": WORDS, "body": BODIES, "type": st.sampled_from(["Bot", "User", 1]),
}  # fmt: skip


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            found += paths_of(value, (*prefix, index))
    return found


ALL_PATHS = {id(base): paths_of(base) for _, base in BASES}
PRESENT = {id(base): [p for p in HOT if p in set(ALL_PATHS[id(base)])] or HOT for _, base in BASES}
#: Of those, the values that end up in a command.
VALUES = {id(base): [p for p in PRESENT[id(base)] if p[-1] in NEAR] or HOT for _, base in BASES}


def mutate(payload: dict, path: tuple, drop: bool, value: object) -> None:
    """Set (or drop) the value at ``path`` if its parent exists."""
    node: Any = payload
    for key in path[:-1]:
        if (
            isinstance(node, dict)
            and key in node
            or isinstance(node, list)
            and isinstance(key, int)
            and key < len(node)
        ):
            node = node[key]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int) and last < len(node)):
        if drop and isinstance(node, dict):
            node.pop(last, None)
        elif drop:
            del node[last]
        else:
            node[last] = value


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True once in ``n`` draws (Hypothesis favours the first element of a list, so that one is False)."""
    return st.sampled_from([False] * (n - 1) + [True])


def mostly(draw: st.DrawFn, usual: object, otherwise: st.SearchStrategy) -> Any:
    """``usual`` 19 times in 20, else a draw from ``otherwise``."""
    return usual if draw(one_in(20)) is False else draw(otherwise)


@st.composite
def deliveries(draw: st.DrawFn) -> dict:
    """One request: headers, body, and whether its signature is valid."""
    name, base = draw(st.sampled_from(BASES))
    payload = json.loads(json.dumps(base))
    raws: dict[str, str] = {}
    for i in range(draw(st.sampled_from([1, 1, 1, 1, 1, 1, 0, 0, 0, 2, 2, 3]))):
        pools = [VALUES] * 6 + [PRESENT] * 2 + [{id(base): HOT}, ALL_PATHS]
        pool = draw(st.sampled_from(pools))[id(base)] or HOT
        path = draw(st.sampled_from(pool))
        op = draw(st.sampled_from(["near"] * 6 + ["drop", "json", "json", "raw"]))
        value: object = f"@@raw{i}@@"
        if op == "raw":
            raws[f'"@@raw{i}@@"'] = draw(st.sampled_from(RAW))
        elif op == "json" or path[-1] not in NEAR:
            value = draw(JSON)
        else:
            value = draw(NEAR[path[-1]])
        mutate(payload, path, op == "drop", value)
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    for marker, raw in raws.items():
        text = text.replace(marker, raw)
    body = text.encode("utf-8", "surrogatepass")
    if draw(one_in(40)):
        body = body[: draw(st.integers(0, len(body)))]
    if draw(one_in(80)):
        body = draw(st.binary(max_size=64))
    how = draw(st.sampled_from(["valid"] * 12 + ["rotated", "flipped", "missing", "wrong", "garbage", "stale"]))
    signature: str | None = {
        "valid": sign(body, SECRETS[1]),
        "rotated": sign(body, SECRETS[0]),
        "wrong": sign(body, "not-the-secret"),
        "stale": sign(body + b" ", SECRETS[1]),
        "missing": None,
    }.get(how)
    if how == "flipped":
        good = sign(body, SECRETS[1])
        at = draw(st.integers(len("sha256="), len(good) - 1))
        signature = good[:at] + ("0" if good[at] != "0" else "1") + good[at + 1 :]
    elif how == "garbage":
        signature = draw(HEADER_TEXT)
    headers = {
        "X-Hub-Signature-256": signature,
        "X-GitHub-Event": mostly(draw, name, st.sampled_from(HANDLED + ["push", ""]) | HEADER_TEXT),
        "X-GitHub-Delivery": mostly(draw, str(draw(st.uuids())), HEADER_TEXT | st.none()),
        "Content-Type": mostly(
            draw,
            "application/json",
            st.sampled_from(["application/json; charset=utf-8", "text/plain", "", None]) | HEADER_TEXT,
        ),
    }
    extra = draw(st.dictionaries(st.from_regex(r"X-[A-Za-z]{1,12}", fullmatch=True), HEADER_TEXT, max_size=2))
    sent = {k: v for k, v in {**extra, **headers}.items() if v is not None}
    return {"headers": sent, "body": body, "signed": how in ("valid", "rotated")}


@pytest.fixture(scope="module")
def intake() -> tuple[FlaskClient, Recorder]:
    recorder = Recorder()
    app = create_app(load({"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": ",".join(SECRETS)}), recorder)
    return app.test_client(), recorder


@pytest.mark.timeout(240)
@settings(max_examples=10_000, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(delivery=deliveries())
def test_every_answer_is_documented_and_nothing_bad_is_queued(
    intake: tuple[FlaskClient, Recorder], delivery: dict
) -> None:
    client, recorder = intake
    recorder.commands.clear()
    response = client.post("/webhooks/github", data=delivery["body"], headers=delivery["headers"])
    answer = response.get_json()
    assert response.status_code in ANSWERS, (response.status_code, answer)
    assert answer["result"] in ANSWERS[response.status_code]
    if answer["result"] in ("bad-payload", "bad-headers"):
        field, _, why = answer["message"].partition(": ")
        assert field and why and set(field) <= set(string.ascii_letters + string.digits + "._-"), answer
    if answer["result"] == "queued":
        assert delivery["signed"]
        (command,) = recorder.commands
        check_command(command, delivery["headers"]["X-GitHub-Delivery"])
    else:
        assert recorder.commands == []
    target(float(answer["result"] == "queued"), label="queued")


@pytest.mark.parametrize(("event", "base"), BASES[: len(BASES) - 24], ids=lambda v: v if isinstance(v, str) else "")
def test_official_examples_pass_the_independent_rules(
    intake: tuple[FlaskClient, Recorder], event: str, base: dict
) -> None:
    client, recorder = intake
    recorder.commands.clear()
    body = json.dumps(base).encode()
    delivery = str(uuid.uuid4())
    headers = {"X-Hub-Signature-256": sign(body, SECRETS[1]), "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    response = client.post("/webhooks/github", data=body, headers={**headers, "Content-Type": "application/json"})
    assert response.get_json()["result"] in ("pong", "ignored", "queued")
    for command in recorder.commands:
        check_command(command, delivery)
