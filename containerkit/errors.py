"""Every error a user can meet: a stable code, a one-line message and a hint saying what to do.

Faces map them: the CLI to exit codes, MCP to tool errors, the graph to recorded session errors.
Codes are grouped by stage: CK1xx input and analysis, CK2xx build and engine, CK3xx registry,
CK4xx deploy, CK5xx sessions, CK9xx workflow.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ApplyRejected",
    "BaseImageUnavailable",
    "BuildFailed",
    "ClusterUnreachable",
    "ContainerKitError",
    "DockerUnavailable",
    "DockerfileExists",
    "ImageNotInRegistry",
    "InputParseError",
    "InputUnreadable",
    "InternalError",
    "InvalidDockerfile",
    "InvalidImageReference",
    "InvalidOption",
    "ManifestInvalid",
    "ManifestParseError",
    "NeedsConfiguration",
    "NoDeployableModule",
    "NotADirectory",
    "OperationTimedOut",
    "OutputRefused",
    "OutputUnwritable",
    "PathNotFound",
    "PathOutsideRoots",
    "PullFailed",
    "PushFailed",
    "RecoveryExhausted",
    "RecoveryNotPossible",
    "RegistryAuthFailed",
    "RegistryBusy",
    "RegistryCredentialsUnavailable",
    "RegistryForbidden",
    "RegistryTLSFailed",
    "RegistryUnreachable",
    "RolloutFailed",
    "ScanGateFailed",
    "SessionNotFound",
    "SessionNotResumable",
    "SessionStoreUnusable",
    "VerifyFailed",
]


class ContainerKitError(Exception):
    """Base of all containerkit errors; ``code`` is stable across releases."""

    code: ClassVar[str] = "CK000"
    exit_code: ClassVar[int] = 1
    default_hint: ClassVar[str] = "Run again with --debug for details."

    def __init__(self, message: str, *, hint: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint
        self.context: dict[str, object] = context

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form for reports, MCP tool errors and the session record."""
        return {
            "code": self.code,
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
        }


# -- CK1xx: input and analysis -------------------------------------------------------------


class PathNotFound(ContainerKitError):
    code = "CK101"
    exit_code = 2
    default_hint = "Check the path; pass the folder that holds your application's source."


class NotADirectory(ContainerKitError):
    code = "CK102"
    exit_code = 2
    default_hint = "Pass the folder that holds the application, not a single file."


class NoDeployableModule(ContainerKitError):
    code = "CK103"
    exit_code = 2
    default_hint = (
        "containerkit looks for requirements.txt, pyproject.toml, package.json (and more) or an "
        "existing Dockerfile; add one, or point at the folder that has it."
    )


class ManifestParseError(ContainerKitError):
    code = "CK104"
    exit_code = 2
    default_hint = "Fix the syntax error in the named file (line and column are given)."


class InvalidImageReference(ContainerKitError):
    code = "CK105"
    exit_code = 2
    default_hint = (
        "Use lower-case NAME[:TAG] such as 'shop/api:1.2.0'; a tag is letters, digits, '_', '.'"
        " and '-', up to 128 characters."
    )


class InvalidOption(ContainerKitError):
    code = "CK106"
    exit_code = 2
    default_hint = "See `containerkit --help` for the accepted values."


class DockerfileExists(ContainerKitError):
    code = "CK107"
    exit_code = 2
    default_hint = "Your Dockerfile is kept; pass --force to replace it with a generated one."


class InvalidDockerfile(ContainerKitError):
    code = "CK108"
    exit_code = 2
    default_hint = "Give a text Dockerfile with at least one FROM instruction."


# -- CK11x: files the user names (reading and writing) -----------------------------------------


class InputUnreadable(ContainerKitError):
    """A file given as input is not one containerkit reads: a FIFO, a device, a folder, too large."""

    code = "CK110"
    exit_code = 2
    default_hint = "Pass a regular file (not a folder, pipe or device) of a sensible size."


class InputParseError(ContainerKitError):
    """A JSON or TOML input that cannot be parsed: bad syntax, nesting too deep, a number too long."""

    code = "CK111"
    exit_code = 2
    default_hint = "Fix the named file; containerkit reads plain JSON/TOML of a sensible size and depth."


class OutputRefused(ContainerKitError):
    """containerkit will not write there: a folder, a pipe or device, a link out of the folder, an input."""

    code = "CK112"
    exit_code = 2
    default_hint = "Name a regular file (new or one containerkit wrote) inside the folder you mean."


class OutputUnwritable(ContainerKitError):
    """The write itself failed: a missing folder, a full or read-only disk, no permission."""

    code = "CK113"
    exit_code = 2
    default_hint = "Check that the folder exists, is writable and its disk has free space; or write elsewhere."


class PathOutsideRoots(ContainerKitError):
    """A path an agent client passed resolves (links followed) outside the folders it may touch."""

    code = "CK120"
    exit_code = 2
    default_hint = (
        "Pass a path inside the allowed roots: the folders your MCP client declares as roots, "
        "or those the server was started with (`containerkit mcp --root DIR`)."
    )


# -- CK2xx: engine and build -----------------------------------------------------------------


class DockerUnavailable(ContainerKitError):
    code = "CK201"
    default_hint = (
        "Start a Docker engine (or set DOCKER_HOST); on a bare Debian machine run `scripts/test-infra.sh up`."
    )


class BuildFailed(ContainerKitError):
    code = "CK202"
    default_hint = "Read the failing step and log tail; fix the Dockerfile or let containerkit regenerate it."


class BaseImageUnavailable(ContainerKitError):
    code = "CK203"
    default_hint = (
        "Make the base image available (docker pull / load it), or choose another with "
        "--base-image or the [base_images] table of ~/.containerkit/config.toml."
    )


class ScanGateFailed(ContainerKitError):
    code = "CK205"
    default_hint = "Read the scan report; fix the findings or lower --fail-on."


class VerifyFailed(ContainerKitError):
    """The image was built but did not start and answer (or exit 0, for a job)."""

    code = "CK206"
    default_hint = "Read the container's log tail in the session (`containerkit sessions show ID`)."


# -- CK3xx: registry ---------------------------------------------------------------------------


class RegistryUnreachable(ContainerKitError):
    code = "CK301"
    default_hint = "Check --registry HOST:PORT and that the registry is running and reachable."


class PushFailed(ContainerKitError):
    code = "CK302"
    default_hint = "Check the registry's log and your permissions to push to that repository."


class PullFailed(ContainerKitError):
    code = "CK303"
    default_hint = "Check that the reference exists in the registry (name, tag or digest)."


class RegistryAuthFailed(ContainerKitError):
    """401: no credentials, or the registry refused them."""

    code = "CK304"
    default_hint = (
        "Log in with `docker login HOST`, set CONTAINERKIT_REGISTRY_USER/_PASSWORD, or pass --password-stdin."
    )


class RegistryForbidden(ContainerKitError):
    """403: the credentials are accepted but may not do this (push to that repository, pull it)."""

    code = "CK305"
    default_hint = "Ask the registry's owner for access to the repository, or push to one your account may write."


class ImageNotInRegistry(ContainerKitError):
    """404: the repository, tag or digest does not exist in the registry."""

    code = "CK306"
    default_hint = "Check the name, the tag or digest, and the registry (`curl HOST/v2/NAME/tags/list`)."


class RegistryTLSFailed(ContainerKitError):
    """The TLS handshake failed: a certificate nobody here trusts, a wrong host name, TLS against plain HTTP."""

    code = "CK307"
    default_hint = (
        "Pass the registry's CA certificate with --registry-ca FILE (and give the engine the same file as "
        "/etc/docker/certs.d/HOST:PORT/ca.crt)."
    )


class RegistryBusy(ContainerKitError):
    """5xx or 429: the registry is there but cannot serve now (a transient fault, retried with backoff)."""

    code = "CK308"
    default_hint = (
        "The registry is overloaded or failing; wait and `containerkit resume ID` (or run the command again)."
    )


class OperationTimedOut(ContainerKitError):
    """A pull, push or tag did not finish within its time limit."""

    code = "CK309"
    default_hint = (
        "Raise the limit (--timeout, or [timeouts] pull/push/tag in config.toml), or check the engine and the registry."
    )


class RegistryCredentialsUnavailable(ContainerKitError):
    """Credentials were asked for but cannot be read: a broken config.json, a credential helper that fails."""

    code = "CK310"
    exit_code = 2
    default_hint = (
        "Fix ~/.docker/config.json (or $DOCKER_CONFIG/config.json) or its credential helper; "
        "or pass CONTAINERKIT_REGISTRY_USER/_PASSWORD."
    )


# -- CK4xx: deploy -----------------------------------------------------------------------------


class ManifestInvalid(ContainerKitError):
    code = "CK401"
    default_hint = "The generated manifest failed validation against the Kubernetes API models."


class ClusterUnreachable(ContainerKitError):
    code = "CK402"
    default_hint = (
        "Point KUBECONFIG (or --context) at a cluster you can reach; for a local test cluster run "
        "`scripts/test-infra.sh up --k8s` and use the KUBECONFIG it prints."
    )


class ApplyRejected(ContainerKitError):
    """The API server refused an object (validation, admission, quota, RBAC)."""

    code = "CK403"
    default_hint = "Read the API server's reason in the message; fix the manifest or the namespace's policy."


class RolloutFailed(ContainerKitError):
    """The objects were applied but the new pods never became Ready."""

    code = "CK404"
    default_hint = "See the pod statuses, events and container log in the evidence (`containerkit sessions show ID`)."


# -- CK5xx: sessions ---------------------------------------------------------------------------


class SessionNotFound(ContainerKitError):
    code = "CK501"
    exit_code = 2
    default_hint = "List known sessions with `containerkit sessions list`."


class SessionNotResumable(ContainerKitError):
    code = "CK502"
    exit_code = 2
    default_hint = "The session succeeded; start a new one with `containerkit run`."


class SessionStoreUnusable(ContainerKitError):
    """The session store (``sessions.sqlite``) or ``CONTAINERKIT_HOME`` cannot be used."""

    code = "CK503"
    default_hint = (
        "Run `containerkit sessions doctor` (it moves a corrupt store aside and starts a fresh one), "
        "or point CONTAINERKIT_HOME at another folder."
    )


# -- CK9xx: workflow ---------------------------------------------------------------------------


class RecoveryExhausted(ContainerKitError):
    code = "CK901"
    default_hint = "Every recovery attempt is recorded in the session; fix the cause named there and run again."


class RecoveryNotPossible(ContainerKitError):
    """A failure of a category no program change fixes: the user's to act on (the hint says how)."""

    code = "CK902"


class NeedsConfiguration(ContainerKitError):
    """The app needs values at start that nobody can guess (a database URL): the run ends needs_config."""

    code = "CK903"
    default_hint = "Pass the named variables with --env KEY=VALUE or --env-file FILE and resume the session."


class InternalError(ContainerKitError):
    code = "CK999"
    default_hint = "This is a bug in containerkit; run again with --debug and report the traceback."
