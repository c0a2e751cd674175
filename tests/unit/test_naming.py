import re

import pytest

from preview import naming

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def test_namespace_is_readable_and_unique() -> None:
    name = naming.namespace_name("acme/web-shop", 42)
    assert name.startswith("pr-42-web-shop-")
    assert DNS_LABEL.match(name)
    assert naming.namespace_name("acme/web-shop", 42) == name
    assert naming.namespace_name("other/web-shop", 42) != name
    assert naming.namespace_name("acme/web-shop", 43) != name


@pytest.mark.parametrize(
    "repo",
    ["acme/" + "x" * 200, "acme/Weird_Repo.Name", "acme/---", "acme/ÄÖÜ", "acme/a.b.c" * 10],
)
def test_namespace_is_always_a_dns_label(repo: str) -> None:
    name = naming.namespace_name(repo, 123456)
    assert len(name) <= 63
    assert DNS_LABEL.match(name), name


def test_long_names_stay_unique_after_cutting() -> None:
    a = naming.namespace_name("acme/" + "x" * 100 + "a", 1)
    b = naming.namespace_name("acme/" + "x" * 100 + "b", 1)
    assert a != b


def test_host_label() -> None:
    assert naming.preview_host("acme/web-shop", 42, "preview.example.com") == "pr-42-web-shop.preview.example.com"
    assert len(naming.host_label("acme/" + "y" * 100, 7)) <= 63


@pytest.mark.parametrize("text", ["acme/web", "a" * 100, "-x-", "feature/ünïcode", "", "a.b_c"])
def test_label_values_are_valid(text: str) -> None:
    value = naming.label_value(text)
    assert len(value) <= 63
    assert LABEL_VALUE.match(value), value


def test_labels_carry_the_conventions() -> None:
    labels = naming.labels("acme/web-shop", 42, "a" * 40)
    assert labels["app.kubernetes.io/managed-by"] == "previewbot"
    assert labels["app.kubernetes.io/name"] == "web-shop"
    assert labels["app.kubernetes.io/instance"] == naming.namespace_name("acme/web-shop", 42)
    assert labels["previewbot.io/repo"] == "acme.web-shop"
    assert labels["previewbot.io/pr"] == "42"
    assert labels["previewbot.io/sha"] == "a" * 40
    assert all(LABEL_VALUE.match(v) for v in labels.values())
