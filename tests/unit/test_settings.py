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
