"""Real registries on 127.0.0.1: htpasswd auth (credentials from every source), TLS from a CA this test
makes; the CLI's pull/tag/push and a whole run, and the password found nowhere afterwards."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration._cli import last_json
from tests.integration._registries import CertAuthority, Registry, untag

pytestmark = pytest.mark.integration

PASSWORD = "ck-pw-" + secrets.token_hex(8)
USER = "alice"
IMAGE = "busybox:1.35"  # built offline by scripts/test-infra.sh


def _ck(
    *args: str, home: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERKIT_REGISTRY_", "DOCKER_CONFIG"))}
    full.update({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", "HOME": str(home)})
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "containerkit", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=full,
        input=stdin,
        check=False,
    )


def _leaks(password: str, *places: Path, texts: list[str]) -> list[str]:
    """Where the password shows up: in any file under ``places`` (bytes, base64 too) or in ``texts``."""
    needles = [password.encode(), base64.b64encode(f"{USER}:{password}".encode())]
    found = [f"output {i}" for i, t in enumerate(texts) if any(n.decode() in t for n in needles)]
    for place in places:
        for f in [place] if place.is_file() else place.rglob("*"):
            if f.is_file() and any(n in f.read_bytes() for n in needles):
                found.append(str(f))
    return found


@pytest.fixture
def auth_registry(tmp_path: Path, docker_client: Any) -> Iterator[Registry]:
    reg = Registry(tmp_path / "reg-auth", users={USER: PASSWORD})
    reg.start()
    yield reg
    reg.stop()
    untag(docker_client, reg)


@pytest.fixture
def tls_registry(tmp_path: Path, docker_client: Any) -> Iterator[Registry]:
    """TLS with a CA made here; the engine is given the CA the documented way (certs.d, read per push)."""
    reg = Registry(tmp_path / "reg-tls", ca=CertAuthority(tmp_path / "ca"))
    reg.start()
    certs = Path("/etc/docker/certs.d") / reg.address
    with contextlib.suppress(OSError):
        certs.mkdir(parents=True, exist_ok=True)
        assert reg.ca is not None
        (certs / "ca.crt").write_bytes(reg.ca.ca_cert.read_bytes())
    yield reg
    reg.stop()
    untag(docker_client, reg)
    with contextlib.suppress(OSError):
        (certs / "ca.crt").unlink()
        certs.rmdir()


def test_push_and_pull_with_credentials_from_every_source_and_the_password_is_nowhere(
    auth_registry: Registry, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    addr = auth_registry.address
    outputs: list[str] = []

    def ok(res: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        outputs.extend([res.stdout, res.stderr])
        assert res.returncode == 0, res.stderr[-2000:]
        return last_json(res.stdout)

    # 1. --password-stdin
    stdin = ok(
        _ck(
            "push",
            IMAGE,
            f"{addr}/src/stdin:1",
            "-u",
            USER,
            "--password-stdin",
            "--json",
            home=home,
            stdin=PASSWORD + "\n",
        )
    )
    assert stdin["verified"] and stdin["digest"].startswith("sha256:")
    # 2. CONTAINERKIT_REGISTRY_USER/_PASSWORD
    env = {"CONTAINERKIT_REGISTRY_USER": USER, "CONTAINERKIT_REGISTRY_PASSWORD": PASSWORD}
    ok(_ck("push", IMAGE, f"{addr}/src/env:1", "--json", home=home, env=env))
    # 3. config.json auths, found through DOCKER_CONFIG
    cfg = tmp_path / "docker-auths"
    cfg.mkdir()
    (cfg / "config.json").write_text(
        json.dumps({"auths": {addr: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}})
    )
    ok(_ck("push", IMAGE, f"{addr}/src/config:1", "--json", home=home, env={"DOCKER_CONFIG": str(cfg)}))
    # 4. a credential helper named in config.json (credHelpers)
    helper_dir = tmp_path / "helper-bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-cktest"
    helper.write_text(
        f'#!/bin/sh\nread server\n[ "$server" = "{addr}" ] || {{ echo "credentials not found"; exit 1; }}\n'
        f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"%s"}}\' "$server" "$(cat {tmp_path}/secret)"\n'
    )
    helper.chmod(0o755)
    (tmp_path / "secret").write_text(PASSWORD)
    hcfg = tmp_path / "docker-helper"
    hcfg.mkdir()
    (hcfg / "config.json").write_text(json.dumps({"credHelpers": {addr: "cktest"}}))
    helper_env = {"DOCKER_CONFIG": str(hcfg), "PATH": f"{helper_dir}:{os.environ['PATH']}"}
    pushed = ok(_ck("push", IMAGE, f"{addr}/src/helper:1", "--json", home=home, env=helper_env))
    # pull back what was pushed, signed in by the helper; tag it locally
    pulled = ok(_ck("pull", f"{addr}/src/helper:1", "--json", home=home, env=helper_env))
    assert pulled["image_id"].startswith("sha256:") and pulled["attempts"][0]["ok"]
    ok(_ck("tag", pulled["image_id"], f"{addr}/ck-registry-test/tagged:1", "--json", home=home))
    assert pushed["digest"] == stdin["digest"]  # the same image, wherever it went

    # 5. wrong and missing credentials: a typed 401 at once, no retry, no password in the message
    wrong = _ck(
        "push", IMAGE, f"{addr}/src/wrong:1", home=home, env={**env, "CONTAINERKIT_REGISTRY_PASSWORD": "nope-x1"}
    )
    outputs.extend([wrong.stdout, wrong.stderr])
    assert wrong.returncode == 1 and "[CK304]" in wrong.stderr and "refused the credentials of alice" in wrong.stderr
    assert "retry" not in wrong.stderr and "nope-x1" not in wrong.stderr
    none = _ck("pull", f"{addr}/src/env:1", home=home)
    assert none.returncode == 1 and "[CK304]" in none.stderr and "none were found" in none.stderr

    assert _leaks(PASSWORD, home, auth_registry.log, texts=outputs) == []


def test_a_run_pushes_to_an_auth_registry_resumes_after_a_refusal_and_keeps_no_password(
    auth_registry: Registry, example_copy: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    app = example_copy("python-http")
    addr = auth_registry.address
    first = _ck(
        "run", str(app), "--registry", addr, "--no-scan", "--json", "--registry-user", USER, "--password-stdin",
        home=home, stdin="not-the-password\n",
    )  # fmt: skip
    out = last_json(first.stdout)
    assert first.returncode == 1 and out["status"] == "failed"
    # a refusal is the user's to fix: no retry, one recorded attempt, the category and the table's hint
    assert out["recovery"] == [] and [o["code"] for o in out["operations"]] == ["CK304"]
    assert out["errors"][-1]["category"] == "registry_auth" and "password-stdin" in out["errors"][-1]["hint"]

    env = {"CONTAINERKIT_REGISTRY_USER": USER, "CONTAINERKIT_REGISTRY_PASSWORD": PASSWORD}
    second = _ck("resume", out["session_id"], "--json", home=home, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    done = last_json(second.stdout)
    assert done["status"] == "succeeded" and done["image"].startswith(f"{addr}/") and done["digest"]
    assert [s["stage"] for s in done["stages"]].count("buildsec") == 1  # not rebuilt
    assert [o["ok"] for o in done["operations"]] == [False, True]
    show = _ck("sessions", "show", out["session_id"], "--json", home=home)
    assert show.returncode == 0
    assert (
        _leaks(
            PASSWORD,
            home,
            app,
            auth_registry.log,
            texts=[first.stdout, first.stderr, second.stdout, second.stderr, show.stdout],
        )
        == []
    )
    assert _leaks("not-the-password", home, texts=[first.stdout, first.stderr, show.stdout]) == []


def test_a_tls_registry_is_refused_without_its_ca_and_works_with_it(tls_registry: Registry, tmp_path: Path) -> None:
    home = tmp_path / "home"
    addr = tls_registry.address
    assert tls_registry.ca is not None
    ca = str(tls_registry.ca.ca_cert)

    refused = _ck("push", IMAGE, f"{addr}/tls/bb:1", home=home)
    assert refused.returncode == 1 and "[CK307]" in refused.stderr and "not trusted" in refused.stderr
    assert "--registry-ca" in refused.stderr and "retry" not in refused.stderr

    other = CertAuthority(tmp_path / "other-ca")
    wrong = _ck("push", IMAGE, f"{addr}/tls/bb:1", "--registry-ca", str(other.ca_cert), home=home)
    assert wrong.returncode == 1 and "[CK307]" in wrong.stderr

    pushed = _ck("push", IMAGE, f"{addr}/tls/bb:1", "--registry-ca", ca, "--json", home=home)
    assert pushed.returncode == 0, pushed.stderr[-2000:]
    result = last_json(pushed.stdout)
    assert result["verified"] is True  # our client read the digest back over verified TLS
    pulled = _ck("pull", f"{addr}/tls/bb:1", "--registry-ca", ca, "--json", home=home)
    assert pulled.returncode == 0, pulled.stderr[-2000:]

    # a whole run pushes there with the CA; the session keeps the CA's path, so resume would too
    app = tmp_path / "tlsapp"
    app.mkdir()
    (app / "Dockerfile").write_text('FROM busybox:1.35\nUSER 65534\nCMD ["sleep", "3600"]\n')
    run = _ck("run", str(app), "--registry", addr, "--registry-ca", ca, "--no-scan", "--no-verify", "--json", home=home)
    assert run.returncode == 0, run.stderr[-2000:]
    out = last_json(run.stdout)
    show = last_json(_ck("sessions", "show", out["session_id"], "--json", home=home).stdout)
    assert show["images"]["verified"] is True and show["options"]["registry_ca"] == ca
