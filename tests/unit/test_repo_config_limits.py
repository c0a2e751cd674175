"""Reading a hostile ``.preview.yml`` stays cheap and ends in a ConfigError naming the problem."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal

import pytest

from integrations.repo_config_loader import load
from preview.quantities import QuantityError, parse_quantity
from preview.repo_config import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, ConfigError


def _merge_key_bomb() -> str:
    """Each level merges the previous one eight times: about 4 * 8**9 keys once flattened."""
    lines = ["a0: &a0 {k0: 0, k1: 1, k2: 2, k3: 3}"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 8)
        lines.append(f"a{i}: &a{i} {{<<: [{refs}]}}")
    return "\n".join(lines) + "\n"


def _billion_laughs() -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, 10):
        refs = ",".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _cost(call: Callable[[], object]) -> tuple[float, int]:
    """Seconds and peak bytes allocated by ``call``."""
    tracemalloc.start()
    try:
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return elapsed, peak


def _problem(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(text)
    [problem] = info.value.problems
    return problem


@pytest.mark.parametrize(("bomb", "named"), [(_merge_key_bomb, "anchors (&a0)"), (_billion_laughs, "anchors (&l0)")])
def test_bombs_are_refused_quickly_and_in_little_memory(bomb: Callable[[], str], named: str) -> None:
    text = bomb()
    assert len(text.encode()) < 600
    found: list[str] = []

    def read() -> None:
        with pytest.raises(ConfigError) as info:
            load(text)
        found.extend(info.value.problems)

    elapsed, peak = _cost(read)
    assert elapsed < 0.1, elapsed
    assert peak < 50 * 1024 * 1024, peak
    assert found == [f"{text.split(':')[0]} (line 1, column 5): {named} are not allowed (write the value out)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: *a\n", "b (line 2, column 4): aliases (*a) are not allowed (write the value out)"),
        ("env:\n  A: &x one\n", "env.A (line 2, column 6): anchors (&x) are not allowed (write the value out)"),
        ("env:\n  <<: {A: one}\n", "env (line 2, column 3): merge keys (<<) are not allowed (write the keys out)"),
        (
            "env: {B: x, <<: {A: one}}\n",
            "env (line 1, column 13): merge keys (<<) are not allowed (write the keys out)",
        ),
        ("port: !!python/object/apply:os.system [id]\n", "port (line 1, column 7): tag '!!python/object/apply:os"),
        ("port: !custom 3\n", "port (line 1, column 7): tag '!custom' is not allowed (only the standard YAML types)"),
        ("env: {A: !!binary aGk=}\n", "env.A (line 1, column 10): tag '!!binary' is not allowed"),
        ("env: !!set {A}\n", "env (line 1, column 6): tag '!!set' is not allowed"),
        (
            "%TAG !! tag:example.com,2024:\n---\nport: !!int 1\n",
            "port (line 3, column 7): tag 'tag:example.com,2024:int'",
        ),
        ("env: !!seq {A: x}\n", "env (line 1, column 6): tag '!!seq' does not fit a mapping"),
        ("port: !!int ''\n", "port (line 1, column 7): cannot read '' as int (quote it to use it as text)"),
        ("enabled: !!bool maybe\n", "enabled (line 1, column 10): cannot read 'maybe' as bool"),
        ("port: " + "9" * 5000 + "\n", "port (line 1, column 7): cannot read '9999"),
        ("? [a, b]\n: 1\n", ".preview.yml (line 1, column 3): keys must be plain values, not lists or mappings"),
        ("port: 1\x00\n", ".preview.yml (line 1, column 8): character #x0000 is not allowed"),
    ],
)
def test_yaml_features_that_could_be_costly_or_surprising_are_refused(text: str, expected: str) -> None:
    assert _problem(text).startswith(expected)


def test_a_quoted_merge_key_is_an_ordinary_key() -> None:
    assert _problem("env: {'<<': x}\n").startswith("env.<< (line 1): not a valid variable name")


def test_standard_tags_are_allowed() -> None:
    assert load("env: {A: !!str 3.10, B: !!int '7'}\nport: !!int 8080\n").env == {"A": "3.10", "B": "7"}


def test_nesting_depth_is_bounded() -> None:
    def nested(lists: int) -> str:
        return "required_checks: " + "[" * lists + "]" * lists + "\n"

    assert _problem(nested(MAX_DEPTH - 1)).startswith("required_checks[0] (line 1): must be a non-empty string")
    assert _problem(nested(MAX_DEPTH)) == (
        "required_checks" + "[0]" * (MAX_DEPTH - 1) + f" (line 1, column {17 + MAX_DEPTH}): "
        f"nested too deeply (at most {MAX_DEPTH} levels)"
    )


def test_number_of_values_is_bounded() -> None:
    def checks(count: int) -> str:
        return "required_checks:\n" + "".join(f"- c{i}\n" for i in range(count))

    assert len(load(checks(MAX_NODES - 3)).required_checks) == MAX_NODES - 3  # + document, key and list
    problem = _problem(checks(MAX_NODES - 2))
    assert problem.startswith(f"required_checks[{MAX_NODES - 3}] (line {MAX_NODES - 1}, column 3): too many values")


@pytest.mark.parametrize(
    "text",
    [
        "[" * (MAX_FILE_BYTES - 1),
        "{a: " * (MAX_FILE_BYTES // 4),
        "- " * (MAX_FILE_BYTES // 2),
        "required_checks: [" + ",".join(["a"] * (MAX_FILE_BYTES // 2 - 20)) + "]",
        "image: " + "x" * (MAX_FILE_BYTES - 10),
        "image: >\n" + "  x\n" * (MAX_FILE_BYTES // 4 - 4),
        ":" * MAX_FILE_BYTES,
        "port: 1" + ":59" * (MAX_FILE_BYTES // 3 - 4),
    ],
)
def test_the_largest_allowed_files_stay_cheap(text: str) -> None:
    assert len(text.encode()) <= MAX_FILE_BYTES

    def read() -> None:
        with contextlib.suppress(ConfigError):
            load(text)

    elapsed, peak = _cost(read)
    assert elapsed < 3, elapsed  # tracemalloc slows this several times; untraced it is about 0.1 s
    assert peak < 50 * 1024 * 1024, peak


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e1000000", "exponent out of range (e-100 to e100): '1e1000000'"),
        ("1e400Gi", "not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): '1e400Gi'"),
        ("nan", "not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): 'nan'"),
        (".nan", "not a finite number: .nan"),
        (".inf", "not a finite number: .inf"),
        ("-.inf", "not a finite number: -.inf"),
        ("1.0e+400", "not a finite number: .inf"),
        ("-1", "must not be negative: -1"),
        ("-100m", "must not be negative: '-100m'"),
        ("8Ei", "out of range: Kubernetes quantities are at most 2^63-1 (9223372036854775807): '8Ei'"),
        ("9223372036854775808", "out of range: Kubernetes quantities are at most 2^63-1 (9223372036854775807): 9"),
        ("1e19", "out of range: Kubernetes quantities are at most 2^63-1"),
        ("0.5n", "more precise than Kubernetes keeps (the smallest step is 1n): '0.5n'"),
        ("1" * 70, "out of range: Kubernetes quantities are at most 2^63-1 (9223372036854775807): a very large"),
        ("'" + "1" * 70 + "'", "too long for a quantity (at most 64 characters)"),
        ("true", "not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): true"),
    ],
)
def test_quantities_outside_kubernetes_range_name_key_and_line(value: str, expected: str) -> None:
    problem = _problem(f"resources:\n  requests:\n    cpu: {value}\n")
    assert problem.startswith(f"resources.requests.cpu (line 3): {expected}"), problem


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("500m", Decimal("0.5")),
        ("0.25", Decimal("0.25")),
        ("+1", Decimal(1)),
        ("1.", Decimal(1)),
        (".5", Decimal("0.5")),
        ("-0", Decimal(0)),
        ("64Mi", Decimal(64 * 2**20)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1E", Decimal(10**18)),
        ("1E3", Decimal(1000)),
        ("2e-3", Decimal("0.002")),
        ("1n", Decimal("1e-9")),
        ("7.99Ei", Decimal("7.99") * 2**60),
        ("9223372036854775807", Decimal(2**63 - 1)),
        (3, Decimal(3)),
        (0.5, Decimal("0.5")),
    ],
)
def test_valid_quantities_are_read_exactly(text: object, amount: Decimal) -> None:
    assert parse_quantity(text) == amount


@pytest.mark.parametrize(
    "value",
    ["", "1K", "1ki", "1 Gi", "Gi", "1e", "1e1.5", "0x10", "١", "1e-101", "1e0101", "1." + "0" * 70, "1Mi1", None, [1]],
)
def test_anything_else_is_a_quantity_error(value: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(value)


def test_quantity_parsing_raises_nothing_but_quantity_errors() -> None:
    pieces = [
        "",
        "0",
        "1",
        "9" * 30,
        ".",
        "-",
        "+",
        "e",
        "E",
        "e-",
        "e+",
        "Ki",
        "Ei",
        "m",
        "n",
        "5",
        "00",
        "e99",
        "e-99",
    ]
    for a in pieces:
        for b in pieces:
            for c in pieces:
                try:
                    amount = parse_quantity(a + b + c)
                except QuantityError:
                    continue
                assert 0 <= amount <= 2**63 - 1
