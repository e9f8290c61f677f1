"""Building on the real engine: BuildKit (per-step durations, cache hits, secrets) and the API builder."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from containerkit.errors import BaseImageUnavailable, BuildFailed, InvalidDockerfile
from containerkit.tools.engine import BuildRequest, build_image, buildkit_cli

pytestmark = pytest.mark.integration


def _ctx(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "hello.txt").write_text("hello\n")
    return tmp_path


@pytest.fixture
def tag(docker_client):  # type: ignore[no-untyped-def]
    name = f"ck-test/build:{uuid.uuid4().hex[:10]}"
    yield name
    docker_client.images.remove(name, force=True) if docker_client.images.list(name=name) else None


@pytest.mark.slow
@pytest.mark.skipif(buildkit_cli() is None, reason="no docker CLI with BuildKit on this machine")
def test_buildkit_reports_steps_durations_and_cache_hits(docker_client, tmp_path: Path, tag: str) -> None:
    nonce = uuid.uuid4().hex
    ctx = _ctx(
        tmp_path,
        f"FROM busybox:1.35 AS base\nRUN echo {nonce} > /nonce && sleep 1\n"
        "FROM busybox:1.35\nCOPY --from=base /nonce /nonce\nCOPY hello.txt /hello.txt\nUSER 10001\n",
    )
    req = BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], builder="buildkit", pull_policy="never")
    first = build_image(req, docker_client=docker_client)
    assert first.builder == "buildkit"
    run = next(s for s in first.step_details if "RUN" in s.name)
    assert not run.cached
    assert run.duration_s is not None and run.duration_s >= 1.0
    assert docker_client.images.get(tag).id == first.image_id

    (ctx / "hello.txt").write_text("changed\n")
    second = build_image(req, docker_client=docker_client)
    cached = [s.name for s in second.step_details if s.cached]
    assert any("RUN" in n for n in cached)  # the RUN step came from the cache
    assert not any("hello.txt" in n for n in cached)  # the edited file's COPY did not


@pytest.mark.slow
@pytest.mark.skipif(buildkit_cli() is None, reason="no docker CLI with BuildKit on this machine")
def test_build_secret_is_usable_in_the_build_and_absent_from_the_image(docker_client, tmp_path: Path, tag: str) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value-for-build\n")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    _ctx(  # the build proves it read the secret by its hash; the value itself is nowhere in the Dockerfile
        ctx,
        "FROM busybox:1.35\n"
        f'RUN --mount=type=secret,id=token test "$(sha256sum < /run/secrets/token | cut -c1-64)" = {digest}'
        " && echo used > /used\n",
    )
    req = BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], secrets={"token": secret})
    build_image(req, docker_client=docker_client)
    out = docker_client.containers.run(
        tag, "sh -c 'cat /used; ls /run/secrets 2>&1; true'", remove=True, network_mode="host"
    )
    assert b"used" in out and b"s3cr3t" not in out
    history = " ".join(str(h.get("CreatedBy", "")) for h in docker_client.images.get(tag).history())
    assert "s3cr3t" not in history


@pytest.mark.slow
@pytest.mark.parametrize("builder", ["legacy", "buildkit"])
def test_failed_build_names_the_step_and_exit_code(docker_client, tmp_path: Path, tag: str, builder: str) -> None:
    if builder == "buildkit" and buildkit_cli() is None:
        pytest.skip("no docker CLI with BuildKit on this machine")
    ctx = _ctx(tmp_path, f"FROM busybox:1.35\nRUN echo {uuid.uuid4().hex}\nRUN echo failing-now && exit 7\n")
    req = BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], builder=builder)  # type: ignore[arg-type]
    with pytest.raises(BuildFailed) as ei:
        build_image(req, docker_client=docker_client)
    err = ei.value
    assert err.context["exit_code"] == 7
    assert "exit 7" in str(err.context["step"])
    assert "failing-now" in str(err.context["log_tail"])


def test_missing_base_image_is_an_error_not_a_pull(docker_client, tmp_path: Path, tag: str) -> None:
    ctx = _ctx(tmp_path, "FROM containerkit-test/no-such-base:1.0\nRUN true\n")
    req = BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], pull_policy="never")
    with pytest.raises(BaseImageUnavailable, match="no-such-base"):
        build_image(req, docker_client=docker_client)


def test_binary_dockerfile_is_rejected(docker_client, tmp_path: Path, tag: str) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"\x7fELF\x00\x00\x01binary")
    req = BuildRequest(context=tmp_path, dockerfile=tmp_path / "Dockerfile", tags=[tag])
    with pytest.raises(InvalidDockerfile, match="binary"):
        build_image(req, docker_client=docker_client)
