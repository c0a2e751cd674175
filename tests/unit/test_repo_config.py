import pytest

from integrations.repo_config_loader import load
from preview.repo_config import (
    DEFAULT,
    FILE_NAME,
    KEYS,
    MAX_FILE_BYTES,
    MAX_PROBLEMS,
    ConfigError,
    RepoConfig,
    Resources,
    SecretRef,
    describe_schema,
    parse,
)

FULL = """\
enabled: true
image: "ghcr.io/{owner}/{repo}:pr-{number}-{short_sha}"
port: 3000
health_path: /healthz
replicas: 2
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: 1, memory: 1Gi}
env:
  LOG_LEVEL: debug
  WORKERS: 4
  FEATURE_X: true
  DATABASE_URL: {secret: preview-db, key: url}
templates: deploy/preview/
ttl: 72h
required_checks: [build, "test (3.11)"]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    assert str(info.value) == "; ".join(info.value.problems)
    return info.value.problems


@pytest.mark.parametrize("text", [None, "", "# nothing configured yet\n", "---\n"])
def test_absent_or_empty_file_gives_defaults(text: str | None) -> None:
    config = load(text)
    assert config == DEFAULT == RepoConfig()
    assert config.enabled and config.image is None and config.port is None
    assert (config.health_path, config.replicas, config.env, config.ttl_seconds) == ("/", 1, {}, None)
    assert config.resources == Resources()  # the operator's defaults (preview.pod_policy.resources)
    assert config.image_template("reg/{repo}:{sha}") == "reg/{repo}:{sha}"
    assert config.container_port(8080) == 8080


def test_full_example_round_trips() -> None:
    config = load(FULL)
    assert config == RepoConfig(
        enabled=True,
        image="ghcr.io/{owner}/{repo}:pr-{number}-{short_sha}",
        port=3000,
        health_path="/healthz",
        replicas=2,
        resources=Resources(requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "1", "memory": "1Gi"}),
        env={
            "LOG_LEVEL": "debug",
            "WORKERS": "4",
            "FEATURE_X": "true",
            "DATABASE_URL": SecretRef(secret="preview-db", key="url"),
        },
        templates="deploy/preview",
        ttl_seconds=72 * 3600,
        required_checks=("build", "test (3.11)"),
    )
    assert config.plain_env == {"LOG_LEVEL": "debug", "WORKERS": "4", "FEATURE_X": "true"}
    assert config.secret_env == {"DATABASE_URL": SecretRef("preview-db", "url")}
    assert config.container_port(8080) == 3000


def test_disabled_and_nullable_keys() -> None:
    config = load("enabled: false\nimage: null\nport:\nenv:\nresources:\nttl: null\nrequired_checks:\n")
    assert config == RepoConfig(enabled=False)


def test_partial_resources_hold_only_what_is_given() -> None:
    config = load("resources:\n  limits:\n    memory: 512Mi\n    cpu: null\n")
    assert config.resources.as_dict() == {"requests": {}, "limits": {"memory": "512Mi"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("enabled: maybe", "enabled (line 1): must be true or false, got 'maybe'"),
        ("enabled:", "enabled (line 1): must be true or false, got null"),
        ("image: ''", "image (line 1): must be a non-empty string, got ''"),
        ("image: 'reg/{repo} :{sha}'", "image (line 1): must not contain whitespace"),
        ("image: 'reg/{repo}:{tag}'", "image (line 1): unknown placeholder {tag} (allowed: {owner}, {repo}, {sha}"),
        ("image: 'reg/{repo}:{sha.upper}'", "image (line 1): unknown placeholder {sha.upper}"),
        ("image: 'reg/{repo}:{sha!r}'", "image (line 1): unknown placeholder {sha!r}"),
        ("image: 'reg/{repo:'", "image (line 1): unbalanced braces"),
        ("port: http", "port (line 1): must be an integer between 1 and 65535, got 'http'"),
        ("port: 70000", "port (line 1): must be an integer between 1 and 65535, got 70000"),
        ("port: true", "port (line 1): must be an integer between 1 and 65535, got true"),
        ("health_path: healthz", "health_path (line 1): must be a path starting with '/'"),
        ("health_path: /health z", "health_path (line 1): must be a path starting with '/' and without spaces"),
        ("replicas: 11", "replicas (line 1): must be an integer between 0 and 10, got 11"),
        ("replicas: -1", "replicas (line 1): must be an integer between 0 and 10, got -1"),
        ("resources: 1Gi", "resources (line 1): must be a mapping with 'requests' and/or 'limits', got '1Gi'"),
        ("resources: {limit: {cpu: 1}}", "resources.limit (line 1): unknown key (allowed: requests, limits)"),
        (
            "resources: {limits: [1]}",
            "resources.limits (line 1): must be a mapping with 'cpu' and/or 'memory', got a list",
        ),
        ("resources: {limits: {gpu: 1}}", "resources.limits.gpu (line 1): unknown key (allowed: cpu, memory)"),
        ("resources: {limits: {memory: 2 GB}}", "resources.limits.memory (line 1): not a Kubernetes quantity"),
        ("resources: {requests: {cpu: -1}}", "resources.requests.cpu (line 1): must not be negative: -1"),
        (
            "resources: {requests: {cpu: 2, memory: 64Mi}, limits: {cpu: 1500m}}",
            "resources.limits.cpu (line 1): 1500m is below",
        ),
        ("env: [A, B]", "env (line 1): must be a mapping of variable names to values, got a list"),
        ("env: {1ABC: x}", "env.1ABC (line 1): not a valid variable name"),
        ("env: {MY-VAR: x}", "env.MY-VAR (line 1): not a valid variable name"),
        ("env: {PREVIEW_URL: x}", "env.PREVIEW_URL (line 1): reserved"),
        ("env: {PREVIEW: x}", "env.PREVIEW (line 1): reserved"),
        (
            "env: {A: [1, 2]}",
            "env.A (line 1): must be a string, number, boolean or {secret: ..., key: ...}, got a list",
        ),
        ("env: {A: null}", "env.A (line 1): must be a string, number, boolean"),
        ("templates: /etc", "templates (line 1): must be a relative path inside the repository"),
        ("templates: deploy/../../etc", "templates (line 1): must be a relative path inside the repository"),
        ("templates: ''", "templates (line 1): must be a directory path inside the repository"),
        ("ttl: soon", "ttl (line 1): must be a number of seconds or a duration such as 30m, 72h, 7d, 2w, got 'soon'"),
        ("ttl: 1.5h", "ttl (line 1): must be a number of seconds or a duration"),
        ("ttl: 5m", "ttl (line 1): must be at least 10m, got '5m'"),
        ("ttl: 0", "ttl (line 1): must be at least 10m, got 0"),
        ("ttl: 53w", "ttl (line 1): must be at most 365d, got '53w'"),
        ("ttl: 99999999999999999999", "ttl (line 1): must be at most 365d, got 99999999999999999999"),
        ("required_checks: build", "required_checks (line 1): must be a list of check names, got 'build'"),
        ("required_checks: [build, '']", "required_checks[1] (line 1): must be a non-empty string, got ''"),
        ("required_checks: [build, 3]", "required_checks[1] (line 1): must be a non-empty string, got 3"),
        ("required_checks: [build, build]", "required_checks[1] (line 1): duplicate check 'build'"),
    ],
)
def test_each_invalid_field_is_named_with_its_reason(text: str, expected: str) -> None:
    found = problems(text + "\n")
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "port: http\n"
        "replicas: 50\n"
        "color: blue\n"
        "resources: {limits: {memory: 2 GB, cpu: 10m}, requests: {cpu: 1}}\n"
        "env: {PREVIEW_SHA: x, OK: fine}\n"
        "ttl: forever\n"
    )
    found = problems(text)
    assert [p.split(":", 1)[0] for p in found] == [
        "port (line 1)",
        "replicas (line 2)",
        "color (line 3)",
        "resources.limits.memory (line 4)",
        "resources.limits.cpu (line 4)",
        "env.PREVIEW_SHA (line 5)",
        "ttl (line 6)",
    ]


def test_problems_name_the_line_of_their_key() -> None:
    text = (
        "# comment\n"
        "resources:\n"
        "  limits:\n"
        "    cpu: 10m\n"
        "    memory: lots\n"
        "required_checks:\n"
        "  - build\n"
        "  - ''\n"
        "env:\n"
        "  T: {key: k}\n"
    )
    assert problems(text) == [
        "resources.limits.memory (line 5): not a Kubernetes quantity (such as 500m, 0.5, 64Mi, 1Gi): 'lots'",
        "required_checks[1] (line 8): must be a non-empty string, got ''",
        "env.T.secret (line 10): must be a Kubernetes Secret name (lowercase DNS name), got null",
    ]


def test_the_separator_between_problems_stays_unambiguous() -> None:
    with pytest.raises(ConfigError) as info:
        load("env: {'a; b': 1, 'c; d': 2}\n")
    assert len(str(info.value).split("; ")) == len(info.value.problems) == 2
    assert info.value.problems[0].startswith("env.a;\u00a0b (line 1): not a valid variable name")


def test_too_many_problems_are_counted_not_listed() -> None:
    found = problems("".join(f"key{i}: 1\n" for i in range(50)))
    assert len(found) == MAX_PROBLEMS + 1
    assert found[0].startswith("key0 (line 1): unknown key")
    assert found[-1] == f"{FILE_NAME}: {50 - MAX_PROBLEMS} more problems not listed"


def test_unknown_keys_list_the_allowed_ones_and_suggest_a_fix() -> None:
    found = problems("helth_path: /x\nzzz: 1\n")
    allowed = "(allowed: " + ", ".join(KEYS) + ")"
    assert found == [
        f"helth_path (line 1): unknown key, did you mean 'health_path'? {allowed}",
        f"zzz (line 2): unknown key {allowed}",
    ]


def test_long_keys_and_values_are_shortened_in_messages() -> None:
    [found] = problems("? " + "k" * 5000 + "\n: " + "v" * 5000 + "\n")
    assert found.startswith("k" * 57 + "... (line 1): unknown key")
    [found] = parse_problems({"env": {"A" * 5000: ["x"]}})
    assert found.startswith("env." + "A" * 57 + "...: must be a string")
    [found] = problems("image: '" + "x {sha}" * 1000 + "'\n")
    assert len(found) < 200


@pytest.mark.parametrize("text", ["- port: 80\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    [found] = problems(text)
    assert found.startswith(f"{FILE_NAME} (line 1): must be a mapping of settings")


def test_yaml_syntax_error_names_line_and_column() -> None:
    [found] = problems("port: 3000\nenv:\n  A: b: c\n")
    assert found == ".preview.yml (line 3, column 7): mapping values are not allowed here"


def test_unclosed_bracket_names_the_position() -> None:
    [found] = problems("required_checks: [build\n")
    assert found.startswith(".preview.yml (line 2, column 1): ")


def test_duplicate_key_names_both_lines() -> None:
    [found] = problems("port: 3000\nreplicas: 1\nport: 4000\n")
    assert found == "port (line 3, column 1): duplicate key (first defined on line 1)"


def test_nested_duplicate_key_is_rejected() -> None:
    [found] = problems("env:\n  A: x\n  A: y\n")
    assert found == "env.A (line 3, column 3): duplicate key (first defined on line 2)"


def test_several_documents_are_rejected() -> None:
    [found] = problems("port: 1\n---\nport: 2\n")
    assert found.startswith(".preview.yml (line 2, column 1): ")


def test_oversized_file_is_rejected() -> None:
    [found] = problems("# " + "x" * 70000 + "\n")
    assert found == ".preview.yml: file is too large (at most 64 KiB)"
    [found] = problems("# " + "é" * (MAX_FILE_BYTES // 2) + "\n")  # under the limit in characters, over it in bytes
    assert "too large" in found
    assert load("# " + "x" * (MAX_FILE_BYTES - 3) + "\n") == DEFAULT


def test_secret_references() -> None:
    config = load("env:\n  TOKEN: {secret: api.tokens, key: github_token}\n  PLAIN: x\n")
    assert config.env == {"TOKEN": SecretRef("api.tokens", "github_token"), "PLAIN": "x"}
    found = problems("env:\n  T: {secret: Bad_Name, key: 'a b', extra: 1}\n  U: {key: k}\n")
    assert found == [
        "env.T.extra (line 2): unknown key (allowed: secret, key)",
        "env.T.secret (line 2): must be a Kubernetes Secret name (lowercase DNS name), got 'Bad_Name'",
        "env.T.key (line 2): must be a Secret key (letters, digits, '-', '_', '.'), got 'a b'",
        "env.U.secret (line 3): must be a Kubernetes Secret name (lowercase DNS name), got null",
    ]


def test_env_scalars_become_strings() -> None:
    config = load("env: {A: 1, B: false, C: '3.10', D: 2.5, E: hello, F: =}\n")
    assert config.env == {"A": "1", "B": "false", "C": "3.10", "D": "2.5", "E": "hello", "F": "="}


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_env_numbers_must_be_finite(value: str) -> None:
    [found] = problems(f"env:\n  A: {value}\n")
    assert found.startswith("env.A (line 2): not a usable number")


def test_env_numbers_too_long_to_print_are_refused() -> None:
    [found] = parse_problems({"env": {"A": 10**2000}})
    assert found == "env.A: not a usable number, got a very large integer (quote the value to use it as text)"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("600", 600),
        ("'900'", 900),
        ("30m", 1800),
        ("72h", 259200),
        ("7d", 604800),
        ("2w", 1209600),
        ("1d12h", 129600),
        ("90M", 5400),
    ],
)
def test_ttl_forms(value: str, seconds: int) -> None:
    assert load(f"ttl: {value}\n").ttl_seconds == seconds


def test_ttl_null_never_expires() -> None:
    assert load("ttl: null\n").ttl_seconds is None
    assert load("ttl: 2d\n").ttl_seconds == 172800


@pytest.mark.parametrize(
    "image",
    [
        "reg/{owner}/{repo}:{sha}",
        "reg/{repo}:{short_sha}",
        "reg/{repo}:pr-{number}",
        "reg/{repo}:{branch}",
        "reg/app:latest",
        "reg/app:{{literal}}-{sha}",
    ],
)
def test_image_placeholders(image: str) -> None:
    assert load(f"image: '{image}'\n").image == image


def test_quantities() -> None:
    text = "resources:\n  requests: {cpu: 0.25, memory: 500M}\n  limits: {cpu: '1e0', memory: 1.5Gi}\n"
    assert load(text).resources.as_dict() == {
        "requests": {"cpu": "0.25", "memory": "500M"},
        "limits": {"cpu": "1e0", "memory": "1.5Gi"},
    }


def test_zero_limits_are_compared_as_zero() -> None:
    [found] = problems("resources: {requests: {cpu: 1n}, limits: {cpu: 0}}\n")
    assert found == "resources.limits.cpu (line 1): 0 is below resources.requests.cpu (1n)"
    config = load("resources: {requests: {cpu: 0}, limits: {cpu: '0'}}\n")
    assert config.resources.requests["cpu"] == config.resources.limits["cpu"] == "0"


def test_parse_accepts_plain_data() -> None:
    assert parse(None) is DEFAULT
    assert parse({"port": 9000, "required_checks": ["ci"]}) == RepoConfig(port=9000, required_checks=("ci",))
    with pytest.raises(ConfigError, match=r"^port: must be an integer"):
        parse({"port": "9000"})


def test_parse_never_raises_anything_but_config_error_on_odd_data() -> None:
    odd: list[object] = [
        {("a",): 1},
        {None: 1, 3: 2, True: 3},
        {"port": 10**5000},
        {"resources": {"limits": {"cpu": 10**5000, "memory": float("nan")}}},
        {"ttl": "9" * 5000},
        {"required_checks": [[]] * 100},
        {"env": {"A": {"secret": ["x"], "key": {}}}},
    ]
    for data in odd:
        with pytest.raises(ConfigError):
            parse(data)


def parse_problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value.problems


def test_schema_description_covers_every_key() -> None:
    schema = describe_schema()
    assert [key for key, _, _ in schema] == list(KEYS)
    assert {"enabled", "image", "port", "health_path", "replicas", "resources", "env", "templates", "ttl"} < set(KEYS)
    assert "required_checks" in KEYS
    assert all(default and meaning for _, default, meaning in schema)
