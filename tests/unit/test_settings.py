import pytest

from preview.settings import Settings, SettingsError, load

BASE = {"PREVIEWBOT_GITHUB_WEBHOOK_SECRET": "one, two", "PREVIEWBOT_GITHUB_TOKEN": "ghp_secretvalue"}


def test_defaults() -> None:
    settings = load(BASE)
    assert [s.value for s in settings.webhook_secrets] == ["one", "two"]
    assert settings.github_api_url == "https://api.github.com"
    assert settings.status_context == "preview"
    assert settings.image_template == "registry.example.com/{owner}/{repo}:{sha}"
    assert settings.redis_url.startswith("redis://")


def test_secrets_never_print() -> None:
    settings = load(BASE)
    text = repr(settings) + str(settings.github_token) + repr(settings.webhook_secrets)
    assert "ghp_secretvalue" not in text and "one" not in text


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("PREVIEWBOT_REDIS_URL", "localhost:6379", "PREVIEWBOT_REDIS_URL"),
        ("PREVIEWBOT_GITHUB_API_URL", "ftp://x", "PREVIEWBOT_GITHUB_API_URL"),
        ("PREVIEWBOT_PREVIEW_DOMAIN", "bad domain", "PREVIEWBOT_PREVIEW_DOMAIN"),
        ("PREVIEWBOT_IMAGE_TEMPLATE", "r/{nope}:{sha}", "PREVIEWBOT_IMAGE_TEMPLATE"),
        ("PREVIEWBOT_LOCK_TTL_SECONDS", "soon", "PREVIEWBOT_LOCK_TTL_SECONDS"),
        ("PREVIEWBOT_KUBECONFIG", "/nonexistent/kubeconfig", "PREVIEWBOT_KUBECONFIG"),
        ("PREVIEWBOT_GITHUB_APP_ID", "12", "PREVIEWBOT_GITHUB_PRIVATE_KEY"),
        ("PREVIEWBOT_SERVICE_ACCOUNT", "previewbot", "PREVIEWBOT_SERVICE_ACCOUNT"),
        ("PREVIEWBOT_PREVIEW_ROLE", "Not A Role", "PREVIEWBOT_PREVIEW_ROLE"),
        ("PREVIEWBOT_POD_SECURITY", "lenient", "PREVIEWBOT_POD_SECURITY"),
        ("PREVIEWBOT_PREVIEW_EGRESS", "closed", "PREVIEWBOT_PREVIEW_EGRESS"),
        ("PREVIEWBOT_INGRESS_NAMESPACE", "Ingress_NGINX", "PREVIEWBOT_INGRESS_NAMESPACE"),
        ("PREVIEWBOT_FAILURE_GRACE_SECONDS", "nan", "PREVIEWBOT_FAILURE_GRACE_SECONDS"),
        ("PREVIEWBOT_RETRY_BACKOFF_SECONDS", "0", "PREVIEWBOT_RETRY_BACKOFF_SECONDS"),
        ("PREVIEWBOT_TASK_TIME_LIMIT_SECONDS", "1", "PREVIEWBOT_TASK_TIME_LIMIT_SECONDS"),
        ("PREVIEWBOT_STALE_PENDING_SECONDS", "ever", "PREVIEWBOT_STALE_PENDING_SECONDS"),
        ("PREVIEWBOT_CONTAINER_CPU_REQUEST", "half", "PREVIEWBOT_CONTAINER_CPU_REQUEST"),
        ("PREVIEWBOT_CONTAINER_MEMORY_LIMIT", "256MB", "PREVIEWBOT_CONTAINER_MEMORY_LIMIT"),
        ("PREVIEWBOT_CONTAINER_MAX_CPU", "-2", "PREVIEWBOT_CONTAINER_MAX_CPU"),
    ],
)
def test_invalid_values_name_the_variable(key: str, value: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named) as info:
        load({**BASE, key: value})
    assert "ghp_secretvalue" not in str(info.value)


def test_required_groups() -> None:
    with pytest.raises(SettingsError, match="PREVIEWBOT_GITHUB_WEBHOOK_SECRET"):
        Settings().require_webhook()
    with pytest.raises(SettingsError, match="PREVIEWBOT_GITHUB_TOKEN"):
        Settings().require_github()
    assert load(BASE).require_github().require_webhook()


def test_trust_and_access_settings() -> None:
    settings = load(
        {
            **BASE,
            "PREVIEWBOT_SERVICE_ACCOUNT": "",
            "PREVIEWBOT_FAILURE_GRACE_SECONDS": "2.5",
            "PREVIEWBOT_TASK_TIME_LIMIT_SECONDS": "60",
        }
    )
    assert settings.service_account == ""  # no per-namespace RoleBinding
    assert settings.failure_grace_seconds == 2.5
    assert (settings.task_time_limit_seconds, settings.task_hard_time_limit_seconds) == (60, 90)
    assert load(BASE).service_account == "previewbot/previewbot"
