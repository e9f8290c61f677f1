from __future__ import annotations

import pytest

from containerkit.errors import InvalidImageReference, InvalidOption
from containerkit.tools.images import parse_image_ref, parse_registry, sanitize_repo_name


@pytest.mark.parametrize(
    ("ref", "registry", "repo", "tag"),
    [
        ("nginx", None, "nginx", "latest"),
        ("shop/api:1.2.0", None, "shop/api", "1.2.0"),
        ("127.0.0.1:5000/shop/api:v1", "127.0.0.1:5000", "shop/api", "v1"),
        ("localhost/app", "localhost", "app", "latest"),
        ("registry.example.com/team/app:2024_01.3-rc", "registry.example.com", "team/app", "2024_01.3-rc"),
    ],
)
def test_valid_references_parse(ref: str, registry: str | None, repo: str, tag: str) -> None:
    r = parse_image_ref(ref)
    assert (r.registry, r.repository, r.tag) == (registry, repo, tag)


def test_digest_reference_keeps_digest() -> None:
    d = "sha256:" + "a" * 64
    r = parse_image_ref(f"127.0.0.1:5000/app@{d}")
    assert r.digest == d and r.tag is None
    assert str(r) == f"127.0.0.1:5000/app@{d}"


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("UPPER/Case:bad tag", "white space"),
        ("UPPER/case:v1", "upper-case"),
        ("app:-bad", "bad tag"),
        ("app@sha256:xyz", "bad digest"),
        ("", "empty"),
    ],
)
def test_invalid_references_say_what_is_wrong(ref: str, why: str) -> None:
    with pytest.raises(InvalidImageReference) as ei:
        parse_image_ref(ref)
    assert why in ei.value.message
    assert ei.value.code == "CK105" and ei.value.hint


def test_registry_validation() -> None:
    assert parse_registry("127.0.0.1:5000") == "127.0.0.1:5000"
    assert parse_registry("http://localhost:5000/") == "localhost:5000"
    with pytest.raises(InvalidOption):
        parse_registry("not a registry")


def test_sanitize_repo_name() -> None:
    assert sanitize_repo_name("My_App Service") == "my_app-service"
    assert sanitize_repo_name("___") == "app"
