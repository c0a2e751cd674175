import pytest

from integrations.repo_config_loader import load
from preview.repo_config import (
    DEFAULT,
    FILE_NAME,
    KEYS,
    ConfigError,
    RepoConfig,
    Resources,
    SecretRef,
    default_resources,
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
    assert config.resources == default_resources()
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


def test_partial_resources_keep_other_defaults() -> None:
    config = load("resources:\n  limits:\n    memory: 512Mi\n")
    assert config.resources.as_dict() == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("enabled: maybe", "enabled: must be true or false, got 'maybe'"),
        ("enabled:", "enabled: must be true or false, got null"),
        ("image: ''", "image: must be a non-empty string, got ''"),
        ("image: 'reg/{repo} :{sha}'", "image: must not contain whitespace"),
        ("image: 'reg/{repo}:{tag}'", "image: unknown placeholder {tag} (allowed: {owner}, {repo}, {sha}"),
        ("image: 'reg/{repo}:{sha.upper}'", "image: unknown placeholder {sha.upper}"),
        ("image: 'reg/{repo}:{sha!r}'", "image: unknown placeholder {sha!r}"),
        ("image: 'reg/{repo:'", "image: unbalanced braces"),
        ("port: http", "port: must be an integer between 1 and 65535, got 'http'"),
        ("port: 70000", "port: must be an integer between 1 and 65535, got 70000"),
        ("port: true", "port: must be an integer between 1 and 65535, got true"),
        ("health_path: healthz", "health_path: must be a path starting with '/'"),
        ("health_path: /health z", "health_path: must be a path starting with '/' and without spaces"),
        ("replicas: 11", "replicas: must be an integer between 0 and 10, got 11"),
        ("replicas: -1", "replicas: must be an integer between 0 and 10, got -1"),
        ("resources: 1Gi", "resources: must be a mapping with 'requests' and/or 'limits', got '1Gi'"),
        ("resources: {limit: {cpu: 1}}", "resources.limit: unknown key (allowed: requests, limits)"),
        ("resources: {limits: [1]}", "resources.limits: must be a mapping with 'cpu' and/or 'memory', got a list"),
        ("resources: {limits: {gpu: 1}}", "resources.limits.gpu: unknown key (allowed: cpu, memory)"),
        ("resources: {limits: {memory: 2 GB}}", "resources.limits.memory: not a Kubernetes quantity"),
        ("resources: {requests: {cpu: -1}}", "resources.requests.cpu: not a Kubernetes quantity"),
        ("resources: {requests: {cpu: 2, memory: 64Mi}, limits: {cpu: 1500m}}", "resources.limits.cpu: 1500m is below"),
        ("resources: {requests: {memory: 1Gi}}", "resources.requests.memory: 1Gi is above the default limit (256Mi)"),
        ("env: [A, B]", "env: must be a mapping of variable names to values, got a list"),
        ("env: {1ABC: x}", "env.1ABC: not a valid variable name"),
        ("env: {MY-VAR: x}", "env.MY-VAR: not a valid variable name"),
        ("env: {PREVIEW_URL: x}", "env.PREVIEW_URL: reserved"),
        ("env: {PREVIEW: x}", "env.PREVIEW: reserved"),
        ("env: {A: [1, 2]}", "env.A: must be a string, number, boolean or {secret: ..., key: ...}, got a list"),
        ("env: {A: null}", "env.A: must be a string, number, boolean"),
        ("templates: /etc", "templates: must be a relative path inside the repository"),
        ("templates: deploy/../../etc", "templates: must be a relative path inside the repository"),
        ("templates: ''", "templates: must be a directory path inside the repository"),
        ("ttl: soon", "ttl: must be a number of seconds or a duration such as 30m, 72h, 7d, 2w, got 'soon'"),
        ("ttl: 1.5h", "ttl: must be a number of seconds or a duration"),
        ("ttl: 5m", "ttl: must be at least 10m, got '5m'"),
        ("ttl: 0", "ttl: must be at least 10m, got 0"),
        ("required_checks: build", "required_checks: must be a list of check names, got 'build'"),
        ("required_checks: [build, '']", "required_checks[1]: must be a non-empty string, got ''"),
        ("required_checks: [build, 3]", "required_checks[1]: must be a non-empty string, got 3"),
        ("required_checks: [build, build]", "required_checks[1]: duplicate check 'build'"),
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
        "port",
        "replicas",
        "color",
        "resources.limits.memory",
        "resources.limits.cpu",
        "env.PREVIEW_SHA",
        "ttl",
    ]


def test_unknown_keys_list_the_allowed_ones_and_suggest_a_fix() -> None:
    found = problems("helth_path: /x\nzzz: 1\n")
    allowed = "(allowed: " + ", ".join(KEYS) + ")"
    assert found == [
        f"helth_path: unknown key, did you mean 'health_path'? {allowed}",
        f"zzz: unknown key {allowed}",
    ]


@pytest.mark.parametrize("text", ["- port: 80\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    [found] = problems(text)
    assert found.startswith(f"{FILE_NAME}: must be a mapping of settings")


def test_yaml_syntax_error_names_line_and_column() -> None:
    [found] = problems("port: 3000\nenv:\n  A: b: c\n")
    assert found == ".preview.yml line 3, column 7: mapping values are not allowed here"


def test_unclosed_bracket_names_the_position() -> None:
    [found] = problems("required_checks: [build\n")
    assert found.startswith(".preview.yml line 2, column 1: ")


def test_duplicate_key_names_both_lines() -> None:
    [found] = problems("port: 3000\nreplicas: 1\nport: 4000\n")
    assert found == ".preview.yml line 3, column 1: duplicate key 'port' (first defined on line 1)"


def test_nested_duplicate_key_is_rejected() -> None:
    [found] = problems("env:\n  A: x\n  A: y\n")
    assert found.startswith(".preview.yml line 3, column 3: duplicate key 'A'")


def test_merge_keys_may_override() -> None:
    config = load("env:\n  <<: {A: one, B: two}\n  B: three\n")
    assert config.env == {"A": "one", "B": "three"}


def test_several_documents_are_rejected() -> None:
    [found] = problems("port: 1\n---\nport: 2\n")
    assert found.startswith(".preview.yml line 2, column 1: ")


def test_oversized_file_is_rejected() -> None:
    [found] = problems("# " + "x" * 70000 + "\n")
    assert "too large" in found


def test_secret_references() -> None:
    config = load("env:\n  TOKEN: {secret: api.tokens, key: github_token}\n  PLAIN: x\n")
    assert config.env == {"TOKEN": SecretRef("api.tokens", "github_token"), "PLAIN": "x"}
    found = problems("env:\n  T: {secret: Bad_Name, key: 'a b', extra: 1}\n  U: {key: k}\n")
    assert found == [
        "env.T.extra: unknown key (allowed: secret, key)",
        "env.T.secret: must be a Kubernetes Secret name (lowercase DNS name), got 'Bad_Name'",
        "env.T.key: must be a Secret key (letters, digits, '-', '_', '.'), got 'a b'",
        "env.U.secret: must be a Kubernetes Secret name (lowercase DNS name), got null",
    ]


def test_env_scalars_become_strings() -> None:
    config = load("env: {A: 1, B: false, C: '3.10', D: 2.5, E: hello}\n")
    assert config.env == {"A": "1", "B": "false", "C": "3.10", "D": "2.5", "E": "hello"}


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


def test_parse_accepts_plain_data() -> None:
    assert parse(None) is DEFAULT
    assert parse({"port": 9000, "required_checks": ["ci"]}) == RepoConfig(port=9000, required_checks=("ci",))
    with pytest.raises(ConfigError, match=r"^port: must be an integer"):
        parse({"port": "9000"})


def test_yaml_aliases_do_not_blow_up_messages() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nenv: {A: [*b, *b, *b]}\n"
    found = problems(text)
    assert found[-1] == "env.A: must be a string, number, boolean or {secret: ..., key: ...}, got a list"
    assert all(len(p) < 300 for p in found)


def test_schema_description_covers_every_key() -> None:
    schema = describe_schema()
    assert [key for key, _, _ in schema] == list(KEYS)
    assert {"enabled", "image", "port", "health_path", "replicas", "resources", "env", "templates", "ttl"} < set(KEYS)
    assert "required_checks" in KEYS
    assert all(default and meaning for _, default, meaning in schema)
