"""A credential added in one layer and deleted in the next is still in the image: found, with the
layer that added it and the layer that removed it, and never echoed in the report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from containerkit.tools.engine import BuildRequest, build_image
from containerkit.tools.secrets import ImageNotAvailableForScan, scan_image_secrets

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AWS_ID = "AKIA" + "Q3EGUV6XMZ7YK2PL"
AWS_SECRET = "wJalrXUtnF" + "EMI/K7MDENG/bPxRfiCY" + "9q2T8hLzKe"
BUILD_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"

DOCKERFILE = """\
FROM debian:bookworm-slim
COPY credentials /root/.aws/credentials
COPY app.env /opt/app/.env
RUN rm /root/.aws/credentials && rm -rf /opt/app
ARG GH_TOKEN
RUN test -n "$GH_TOKEN" && echo built > /built.txt
"""


@pytest.fixture(scope="module")
def leaky_image(docker_client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    ctx: Path = tmp_path_factory.mktemp("leaky")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "credentials").write_text(f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n")
    (ctx / "app.env").write_text("DEBUG=0\nexport PAYMENT_API_KEY=" + "Hd82kLq0Zx7Pw3" + "\n")
    tag = f"ck-test-secrets:{uuid.uuid4().hex[:10]}"
    build_image(
        BuildRequest(
            context=ctx,
            dockerfile=ctx / "Dockerfile",
            tags=[tag],
            build_args={"GH_TOKEN": BUILD_TOKEN},
            pull_policy="never",
        ),
        docker_client=docker_client,
    )
    yield tag
    docker_client.images.remove(tag, force=True)


def test_secret_deleted_by_a_later_layer_is_found_with_its_layer(docker_client, leaky_image: str) -> None:  # type: ignore[no-untyped-def]
    report = scan_image_secrets(docker_client, leaky_image)

    by_rule = {(f.rule_id, f.path): f for f in report.findings if f.source == "layer"}
    key_id = by_rule[("aws-access-key-id", "root/.aws/credentials")]
    assert key_id.line == 2
    assert key_id.redacted == "AKIA***(20 chars)"
    assert key_id.layer is not None and "COPY" in key_id.layer.created_by and "credentials" in key_id.layer.created_by
    assert key_id.layer.diff_id.startswith("sha256:")
    assert key_id.in_final_image is False
    assert key_id.removed_in_layer is not None and "rm /root/.aws/credentials" in key_id.removed_in_layer.created_by
    assert key_id.removed_in_layer.index == key_id.layer.index + 2
    assert ("aws-secret-access-key", "root/.aws/credentials") in by_rule
    # a folder removed with rm -rf is a whiteout of the folder: the file inside counts as deleted
    env = by_rule[("generic-secret-env", "opt/app/.env")]
    assert env.in_final_image is False and env.removed_in_layer == key_id.removed_in_layer
    assert report.layers_scanned >= 5
    assert report.skipped_binary > 0


def test_build_argument_recorded_in_history_is_found(docker_client, leaky_image: str) -> None:  # type: ignore[no-untyped-def]
    report = scan_image_secrets(docker_client, leaky_image)
    history = [f for f in report.findings if f.source == "image-history"]
    assert [f.rule_id for f in history] == ["github-token"]


def test_report_json_never_contains_a_secret(docker_client, leaky_image: str) -> None:  # type: ignore[no-untyped-def]
    dumped = scan_image_secrets(docker_client, leaky_image).model_dump_json()
    for secret in (AWS_ID, AWS_SECRET, BUILD_TOKEN, "Hd82kLq0Zx7Pw3", AWS_SECRET[4:], BUILD_TOKEN[4:]):
        assert secret not in dumped


def test_missing_image_is_a_typed_error_not_a_pull(docker_client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImageNotAvailableForScan) as exc:
        scan_image_secrets(docker_client, "ck-test-secrets:does-not-exist")
    assert exc.value.code == "CK260"


@pytest.mark.parametrize("image", ["python:3.11-slim", "node:22-slim"])
def test_base_images_have_no_secret_findings(docker_client, image: str) -> None:  # type: ignore[no-untyped-def]
    """pip's docs show ``https://user:pass@pypi.company.com``, npm's READMEs show tokens: not the image's."""
    report = scan_image_secrets(docker_client, image)
    assert report.findings == [], [(f.rule_id, f.path) for f in report.findings]
    assert report.skipped_documentation > 0 and report.files_scanned > 1000


def test_secret_planted_in_an_app_layer_of_a_python_image_is_found_cold_and_warm(  # type: ignore[no-untyped-def]
    docker_client, tmp_path: Path
) -> None:
    ctx = tmp_path / "app"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY settings.py /app/settings.py\n")
    (ctx / "settings.py").write_text(
        f'DEBUG = False\nDATABASE_URL = "postgres://shop:{"Zq8xW2vK9p"}@db.internal/shop"\n'
    )
    tag = f"ck-test-secrets-app:{uuid.uuid4().hex[:10]}"
    build_image(
        BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], pull_policy="never"),
        docker_client=docker_client,
    )
    try:
        cache = tmp_path / "cache"
        cold = scan_image_secrets(docker_client, tag, cache_dir=cache)
        warm = scan_image_secrets(docker_client, tag, cache_dir=cache)
    finally:
        docker_client.images.remove(tag, force=True)
    for report in (cold, warm):
        assert [(f.rule_id, f.path, f.line, f.in_final_image) for f in report.findings] == [
            ("basic-auth-url", "app/settings.py", 2, True)
        ]
        layer = report.findings[0].layer
        assert layer is not None and "COPY" in layer.created_by and layer.index == report.layers_scanned - 1
    assert "Zq8xW2vK9p" not in "".join(p.read_text() for p in (cache / "scan").glob("*.json"))
