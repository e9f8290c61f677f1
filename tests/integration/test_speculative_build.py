"""A build started while containerkit loads (real engine, real BuildKit CLI): taken over only when it
is the build asked for with nothing written since; otherwise cancelled, built as asked, and tidied."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerkit.graph.speculate import abandon_speculation
from containerkit.tools import speculative
from containerkit.tools.engine import BuildRequest, build_image, buildkit_cli, speculative_build
from tests.integration._cli import ck, last_json

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(buildkit_cli() is None, reason="no docker CLI with BuildKit on this machine"),
]


@pytest.fixture
def tag(docker_client: Any) -> Iterator[str]:
    name = f"ck-test/spec:{uuid.uuid4().hex[:10]}"
    yield name
    if docker_client.images.list(name=name):
        docker_client.images.remove(name, force=True)


def _request(tmp_path: Path, tag: str) -> BuildRequest:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    nonce = uuid.uuid4().hex  # a step no earlier test cached: the build takes a moment
    (ctx / "Dockerfile").write_text(
        f"FROM busybox:1.35\nRUN echo {nonce} > /nonce && sleep 1\nCOPY hello.txt /hello.txt\nUSER 10001\n"
    )
    (ctx / "hello.txt").write_text("first\n")
    time.sleep(0.1)  # written before the early build starts (writes within a clock tick of it count as after)
    return BuildRequest(context=ctx, dockerfile=ctx / "Dockerfile", tags=[tag], pull_policy="never")


def _speculate(req: BuildRequest) -> speculative.Speculation:
    key = speculative.request_key(req)
    return speculative.start(key, lambda spec: speculative_build(spec, key, None), watch=[req.context])


def _cat(docker_client: Any, image: str, path: str) -> str:
    out = docker_client.containers.run(image, ["cat", path], remove=True, network_mode="none")
    return bytes(out).decode()


def _untagged(docker_client: Any) -> set[str]:
    return {i.id for i in docker_client.images.list(filters={"dangling": True})}


def test_the_build_asked_for_takes_over_the_early_one(docker_client: Any, tmp_path: Path, tag: str) -> None:
    req = _request(tmp_path, tag)
    spec = _speculate(req)
    events: list[dict[str, Any]] = []
    result = build_image(req, docker_client=docker_client, on_progress=lambda e: events.append(dict(e)))
    assert result.early
    assert spec.result is not None and result.image_id == spec.result.image_id  # one build, not two
    assert docker_client.images.get(tag).id == result.image_id  # tagged as asked
    assert result.tags == [tag]
    assert any(e.get("kind") == "build" for e in events)  # its progress reached the caller
    assert any("while containerkit was starting" in str(e.get("message")) for e in events)
    assert not any(s.cached for s in result.step_details if "RUN" in s.name)  # the cache is reported truly
    assert _cat(docker_client, tag, "/hello.txt") == "first\n"


def test_a_file_written_after_the_early_build_started_is_built_as_asked(
    docker_client: Any, tmp_path: Path, tag: str
) -> None:
    req = _request(tmp_path, tag)
    before = _untagged(docker_client)
    spec = _speculate(req)
    time.sleep(0.2)
    (req.context / "hello.txt").write_text("second\n")  # what analyze (or the user) writes meanwhile
    events: list[dict[str, Any]] = []
    result = build_image(req, docker_client=docker_client, on_progress=lambda e: events.append(dict(e)))
    assert not result.early
    assert any("early build not used" in str(e.get("message")) for e in events)
    assert spec.done.is_set()  # cancelled and waited for: nothing builds behind the caller's back
    assert _cat(docker_client, tag, "/hello.txt") == "second\n"
    assert _untagged(docker_client) <= before  # the early build left no untagged image


def test_an_early_build_nobody_asks_for_is_cancelled_and_tidied(docker_client: Any, tmp_path: Path, tag: str) -> None:
    req = _request(tmp_path, tag)
    before = _untagged(docker_client)
    spec = _speculate(req)
    assert spec.done.wait(120)  # it finished: its image exists, untagged
    assert spec.result is not None
    assert docker_client.images.get(spec.result.image_id).tags == []
    assert abandon_speculation() == 1
    assert _untagged(docker_client) <= before
    assert speculative.take(req) is None


def test_an_edit_rerun_builds_while_the_graph_loads(example_copy: Any, tmp_path: Path, docker_client: Any) -> None:
    app = example_copy("python-http")
    home = tmp_path / "home"
    first = ck("run", str(app), "--no-scan", "--json", home=home)
    assert first.returncode == 0, first.stderr[-3000:]
    token = uuid.uuid4().hex
    with (app / "app.py").open("a") as fh:
        fh.write(f"\n# {token}\n")
    before = _untagged(docker_client)
    second = ck("run", str(app), "--no-scan", "--json", home=home)
    assert second.returncode == 0, second.stderr[-3000:]
    out = last_json(second.stdout)
    assert out["status"] == "succeeded" and out["verify"]["passed"]
    buildsec = next(s for s in out["stages"] if s["stage"] == "buildsec")
    assert "started while containerkit loaded" in buildsec["note"]
    workdir = docker_client.images.get(out["image"]).attrs["Config"]["WorkingDir"] or "/"
    assert token in _cat(docker_client, out["image"], f"{workdir.rstrip('/')}/app.py")  # the edit is in the image
    assert _untagged(docker_client) <= before

    # the same with the early build switched off: the same result, built the usual way
    with (app / "app.py").open("a") as fh:
        fh.write(f"\n# again {token}\n")
    third = ck("run", str(app), "--no-scan", "--json", home=home, env_extra={"CONTAINERKIT_NO_SPECULATE": "1"})
    assert third.returncode == 0, third.stderr[-3000:]
    note = next(s for s in last_json(third.stdout)["stages"] if s["stage"] == "buildsec")["note"]
    assert "started while containerkit loaded" not in note
