"""Real registries on 127.0.0.1 for tests: Debian's docker-registry with htpasswd auth, TLS from a test CA.

Each one has its own port and storage, and can be killed and started again (the fault tests do).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port


def bcrypt_hash(password: str) -> str:
    """An htpasswd bcrypt hash: libcrypt's through Python's crypt module, else the htpasswd binary."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        pytest.skip("no bcrypt: neither Python's crypt module nor htpasswd (apache2-utils)")
    out = subprocess.run([htpasswd, "-nbB", "u", password], capture_output=True, text=True, check=True).stdout
    return out.strip().split(":", 1)[1]


@dataclass
class CertAuthority:
    folder: Path
    ca_cert: Path = field(init=False)
    server_cert: Path = field(init=False)
    server_key: Path = field(init=False)

    def __post_init__(self) -> None:
        """A CA and a server certificate for 127.0.0.1 and localhost, made with cryptography."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "containerkit test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_cert = self.folder / "ca.crt"
        self.server_cert = self.folder / "server.crt"
        self.server_key = self.folder / "server.key"
        self.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
        self.server_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )


@dataclass
class Registry:
    """One docker-registry process on 127.0.0.1:PORT; ``kill()`` and ``start()`` for fault tests."""

    folder: Path
    users: dict[str, str] = field(default_factory=dict)
    ca: CertAuthority | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "registry.log"

    def _config(self) -> Path:
        lines = [
            "version: 0.1",
            "log: {level: info}",
            f"storage: {{filesystem: {{rootdirectory: {self.folder / 'data'}}}, delete: {{enabled: true}}}}",
            "http:",
            f"  addr: {self.address}",
        ]
        if self.ca is not None:
            lines += [f"  tls: {{certificate: {self.ca.server_cert}, key: {self.ca.server_key}}}"]
        if self.users:
            htpasswd = self.folder / "htpasswd"
            htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in self.users.items()))
            lines += ["auth:", f"  htpasswd: {{realm: ck-test, path: {htpasswd}}}"]
        cfg = self.folder / "config.yml"
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    def start(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return  # running: a second one could not bind the port, and the first would be lost
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            pytest.skip("no registry binary (Debian's docker-registry) to start a test registry")
        self.folder.mkdir(parents=True, exist_ok=True)
        cfg = self._config()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([binary, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        scheme = "https" if self.ca else "http"
        ctx = ssl.create_default_context(cafile=str(self.ca.ca_cert)) if self.ca else None
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{scheme}://{self.address}/v2/", timeout=1, context=ctx).close()
                return
            except urllib.error.HTTPError as exc:  # 401: up, and asking for credentials
                if exc.code == 401:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the test registry did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the registry dies mid-request, as a crash or an OOM kill would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.kill()


def untag(docker_client: Any, registry: Registry) -> None:
    """Remove the names a test gave images for ``registry`` (and the run's local name of the same image)."""
    prefix = f"{registry.address}/"
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(prefix):
                for name in (tag, tag[len(prefix) :]):
                    with contextlib.suppress(Exception):
                        docker_client.images.remove(name, noprune=False)
