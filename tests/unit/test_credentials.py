"""Where registry credentials come from (the caller, the environment, Docker's config and its helpers),
that a broken config or helper is a typed error which never echoes a secret, and the time-limit settings."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from containerkit.errors import InvalidOption, RegistryCredentialsUnavailable
from containerkit.settings import Settings
from containerkit.tools.credentials import RegistryCredentials, registry_key, resolve_credentials

REG = "127.0.0.1:5101"
PASSWORD = "pw-unit-credentials-5519"


def _env(tmp_path: Path, config: object | str, **extra: str) -> dict[str, str]:
    folder = tmp_path / "dockercfg"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return {"DOCKER_CONFIG": str(folder), "PATH": os.environ.get("PATH", ""), **extra}


def _helper(tmp_path: Path, name: str, body: str) -> str:
    """A real credential helper: an executable speaking the docker-credential protocol."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / f"docker-credential-{name}"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    return f"{bin_dir}:{os.environ.get('PATH', '')}"


def test_config_auths_in_docker_config_are_found_under_any_spelling_of_the_host(tmp_path: Path) -> None:
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    env = _env(tmp_path, {"auths": {f"https://{REG}/v1/": {"auth": auth}}})
    creds = resolve_credentials(REG, environ=env)
    assert creds is not None and creds.username == "alice" and creds.password.get_secret_value() == PASSWORD
    assert creds.source.endswith("config.json")
    assert resolve_credentials("127.0.0.1:5999", environ=env) is None
    assert registry_key("https://index.docker.io/v1/") == registry_key("docker.io") == "docker.io"


def test_the_environment_wins_over_the_config_and_the_caller_over_both(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:from-config").decode()
    env = _env(
        tmp_path,
        {"auths": {REG: {"auth": auth}}},
        CONTAINERKIT_REGISTRY_USER="bob",
        CONTAINERKIT_REGISTRY_PASSWORD=PASSWORD,
    )
    creds = resolve_credentials(REG, environ=env)
    assert creds is not None and creds.username == "bob"
    mine = RegistryCredentials(registry="", username="carol", password=SecretStr("x"), source="--password-stdin")
    chosen = resolve_credentials(REG, explicit=mine, environ=env)
    assert chosen is not None and chosen.username == "carol" and chosen.registry == REG


def test_a_credential_helper_is_asked_for_its_host_and_a_store_for_every_host(tmp_path: Path) -> None:
    path = _helper(
        tmp_path,
        "cktest",
        f'read server\nif [ "$server" = "{REG}" ]; then\n'
        f'  echo \'{{"ServerURL": "{REG}", "Username": "alice", "Secret": "{PASSWORD}"}}\'\n'
        "else\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
    )
    env = _env(tmp_path, {"credHelpers": {REG: "cktest"}}, PATH=path)
    creds = resolve_credentials(REG, environ=env)
    assert creds is not None and creds.source == "docker-credential-cktest"
    assert creds.engine_auth() == {"username": "alice", "password": PASSWORD, "serveraddress": REG}
    store = _env(tmp_path, {"credsStore": "cktest"}, PATH=path)
    assert resolve_credentials(REG, environ=store) is not None
    assert resolve_credentials("127.0.0.1:5999", environ=store) is None  # "not found" is no error


def test_an_identity_token_is_handed_to_the_engine_as_one(tmp_path: Path) -> None:
    env = _env(tmp_path, {"auths": {REG: {"identitytoken": "refresh-tok"}}})
    creds = resolve_credentials(REG, environ=env)
    assert creds is not None and creds.engine_auth() == {"identitytoken": "refresh-tok", "serveraddress": REG}


def test_broken_configs_and_helpers_are_typed_errors_that_never_echo_a_secret(tmp_path: Path) -> None:
    broken = _env(tmp_path, json.dumps({"auths": {REG: {"auth": PASSWORD}}})[:-3])  # cut short
    with pytest.raises(RegistryCredentialsUnavailable) as err:
        resolve_credentials(REG, environ=broken)
    assert err.value.code == "CK310" and "not valid JSON" in err.value.message
    assert PASSWORD not in str(err.value)

    missing = _env(tmp_path, {"credHelpers": {REG: "nosuchhelper"}})
    with pytest.raises(RegistryCredentialsUnavailable, match="docker-credential-nosuchhelper"):
        resolve_credentials(REG, environ=missing)

    path = _helper(tmp_path, "leaky", f"echo 'fatal: {PASSWORD}'; exit 3\n")
    leaky = _env(tmp_path, {"credHelpers": {REG: "leaky"}}, PATH=path)
    with pytest.raises(RegistryCredentialsUnavailable) as helper_err:
        resolve_credentials(REG, environ=leaky)
    assert "exited 3" in helper_err.value.message and PASSWORD not in str(helper_err.value)


def test_a_password_never_shows_in_a_repr_a_dump_or_a_description() -> None:
    creds = RegistryCredentials(registry=REG, username="alice", password=SecretStr(PASSWORD), source="test")
    shown = repr(creds) + str(creds) + creds.model_dump_json() + str(creds.model_dump()) + creds.describe()
    assert PASSWORD not in shown
    assert base64.b64decode(creds.basic_header().split()[1]).decode() == f"alice:{PASSWORD}"


def test_time_limits_and_retries_come_from_config_and_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    default = Settings.load({"CONTAINERKIT_HOME": str(home)})
    assert (default.timeouts.pull, default.timeouts.push, default.timeouts.tag) == (600, 900, 120)
    assert default.retry.attempts == 4
    (home / "config.toml").write_text("[timeouts]\npush = 60\n[retries]\nattempts = 2\nbackoff_s = 0.5\n")
    s = Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_TIMEOUT": "30"})
    assert (s.timeouts.pull, s.timeouts.push, s.timeouts.tag) == (30, 60, 120)
    assert (s.retry.attempts, s.retry.backoff_s) == (2, 0.5)
    with pytest.raises(InvalidOption, match="push"):
        Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PUSH_TIMEOUT": "-1"})
    with pytest.raises(InvalidOption, match="attempts"):
        Settings.load({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_RETRIES": "0"})
