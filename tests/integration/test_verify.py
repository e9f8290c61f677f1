"""Verify on the real engine: each kind of program judged by what it does when started."""

from __future__ import annotations

import io
import uuid

import pytest

from containerkit.tools.verify import VerifyRequest, verify_image

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def image_of(docker_client):  # type: ignore[no-untyped-def]
    """Build a tiny busybox image with the given CMD; every image is removed after the module."""
    made: list[str] = []

    def build(cmd: str, *, setup: str = "") -> str:
        tag = f"ck-verify-test:{uuid.uuid4().hex[:8]}"
        text = f"FROM busybox:1.35\n{setup}\nCMD {cmd}\n"
        docker_client.images.build(fileobj=io.BytesIO(text.encode()), tag=tag, network_mode="host", rm=True)
        made.append(tag)
        return tag

    yield build
    for tag in made:
        docker_client.images.remove(tag, force=True)


WWW = "RUN mkdir -p /www && echo hello > /www/index.html"


def test_a_server_that_honours_port_answers(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    image = image_of('["sh", "-c", "exec httpd -f -p $PORT -h /www"]', setup=WWW)
    res = verify_image(VerifyRequest(image=image, kind="server"), docker_client=docker_client)
    assert res.passed and res.answered and res.status_code == 200
    assert res.time_to_ready_s is not None and res.time_to_ready_s < 5
    # this image's verify container is gone (others on a shared engine may be verifying their own images)
    assert not docker_client.containers.list(all=True, filters={"label": "containerkit-verify", "ancestor": image})


def test_a_server_on_its_own_port_is_found_where_it_listens(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import free_port

    port = free_port()
    image = image_of(f'["httpd", "-f", "-p", "{port}", "-h", "/www"]', setup=WWW)
    # nothing told containerkit about this port: it is read from the container's listening sockets
    res = verify_image(VerifyRequest(image=image), docker_client=docker_client)
    assert res.passed and res.port == port and port in res.ports_listening
    assert any("not on $PORT" in n for n in res.notes)


def test_a_server_that_crashes_fails_with_its_log_and_exit_code(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    image = image_of('["sh", "-c", "echo cannot open config >&2; exit 3"]')
    res = verify_image(VerifyRequest(image=image, kind="server"), docker_client=docker_client)
    assert not res.passed and res.exit_code == 3
    assert "cannot open config" in res.log_tail


def test_a_job_must_exit_zero_and_a_worker_must_stay_up(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    ok = verify_image(VerifyRequest(image=image_of('["true"]'), kind="job"), docker_client=docker_client)
    assert ok.passed and ok.exit_code == 0 and ok.kind == "job"
    bad = verify_image(VerifyRequest(image=image_of('["false"]'), kind="job"), docker_client=docker_client)
    assert not bad.passed and bad.exit_code == 1
    worker = verify_image(
        VerifyRequest(image=image_of('["sleep", "600"]'), kind="worker", settle_s=1.5), docker_client=docker_client
    )
    assert worker.passed and worker.kind == "worker"
    dies = verify_image(
        VerifyRequest(image=image_of('["sh", "-c", "sleep 0.5; exit 2"]'), kind="worker", settle_s=5),
        docker_client=docker_client,
    )
    assert not dies.passed and dies.exit_code == 2


def test_a_server_that_never_answers_fails_within_its_window(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    res = verify_image(
        VerifyRequest(image=image_of('["sleep", "600"]'), kind="server", timeout_s=2), docker_client=docker_client
    )
    assert not res.passed and res.exit_code is None and "nothing answered" in res.reason
    assert res.duration_s < 10


def test_the_users_values_never_reach_the_recorded_log(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    image = image_of('["sh", "-c", "echo token is $API_TOKEN; exit 1"]')
    res = verify_image(
        VerifyRequest(image=image, kind="server", env={"API_TOKEN": "s3cr3t-value-42"}), docker_client=docker_client
    )
    assert "s3cr3t-value-42" not in res.model_dump_json()
    assert "token is <API_TOKEN>" in res.log_tail and res.env_names == ["API_TOKEN"]


def test_a_server_bound_to_loopback_only_is_flagged(docker_client, image_of) -> None:  # type: ignore[no-untyped-def]
    image = image_of('["sh", "-c", "exec httpd -f -p 127.0.0.1:$PORT -h /www"]', setup=WWW)
    res = verify_image(VerifyRequest(image=image, kind="server"), docker_client=docker_client)
    assert res.passed  # it answers here (host networking) ...
    assert any("127.0.0.1" in n and "bind 0.0.0.0" in n for n in res.notes)  # ... but not in a pod
