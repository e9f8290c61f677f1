"""User settings: where sessions live, which base images to use, whether the engine may pull.

Read once from ``$CONTAINERKIT_HOME/config.toml`` (default ``~/.containerkit``) and the
environment; passed explicitly to whatever needs them, so tests inject their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from containerkit.errors import InvalidOption
from containerkit.tools.retry import RetryPolicy, Timeouts

if TYPE_CHECKING:
    from containerkit.tools.engine import PullPolicy

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    home: Path
    base_images: dict[str, Any] = field(default_factory=dict)
    pull_policy: PullPolicy = "missing"
    docker_host: str | None = None
    registry: str | None = None
    config_file: Path | None = None
    vuln_db_override: Path | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Seconds a pull, push or tag may take (``[timeouts]``, ``CONTAINERKIT_{PULL,PUSH,TAG}_TIMEOUT``)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Retries of transient registry faults (``[retries]``, ``CONTAINERKIT_RETRIES`` = attempts in all)."""
    llm_model: str | None = None
    """``provider:model`` of an optional chat model (``[llm] model`` or ``CONTAINERKIT_LLM_MODEL``),
    built with LangChain's ``init_chat_model`` when the ``langchain`` package is installed."""

    @property
    def vuln_db(self) -> Path:
        """The local advisory database (``containerkit db import``); ``CONTAINERKIT_VULNDB`` overrides."""
        return self.vuln_db_override or self.home / "vulndb.sqlite"

    @property
    def cache_dir(self) -> Path:
        """Per-layer scan results (layers are content-addressed, so entries never go stale)."""
        return self.home / "cache"

    @property
    def sessions_db(self) -> Path:
        return self.home / "sessions.sqlite"

    def session_dir(self, session_id: str) -> Path:
        return self.home / "sessions" / session_id

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("CONTAINERKIT_HOME") or Path.home() / ".containerkit").expanduser()
        cfg_path = Path(env.get("CONTAINERKIT_CONFIG") or home / "config.toml").expanduser()
        try:
            home_is_file = home.exists() and not home.is_dir()
            cfg_is_file = cfg_path.is_file()
        except (OSError, ValueError) as exc:  # a path too long, a NUL byte
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidOption(
                f"cannot use CONTAINERKIT_HOME / CONTAINERKIT_CONFIG: {reason}",
                hint="Point CONTAINERKIT_HOME (and CONTAINERKIT_CONFIG) at a folder and a file with usable paths.",
            ) from None
        if home_is_file:
            raise InvalidOption(
                f"CONTAINERKIT_HOME {home} is a file, not a folder",
                hint="Point CONTAINERKIT_HOME at a folder (it is created when missing), or move the file away.",
            )
        raw: dict[str, Any] = {}
        if cfg_is_file:
            raw = _read_config(cfg_path)
        policy = env.get("CONTAINERKIT_PULL_POLICY") or raw.get("pull_policy") or "missing"
        if policy not in ("missing", "never"):
            raise InvalidOption(
                f"pull_policy must be 'missing' or 'never', not {policy!r}",
                hint="Set CONTAINERKIT_PULL_POLICY or pull_policy in config.toml to missing|never.",
            )
        return cls(
            home=home,
            base_images=dict(raw.get("base_images") or {}),
            pull_policy=cast("PullPolicy", policy),
            docker_host=env.get("DOCKER_HOST") or raw.get("docker_host"),
            registry=env.get("CONTAINERKIT_REGISTRY") or raw.get("registry"),
            config_file=cfg_path if cfg_is_file else None,
            vuln_db_override=Path(env["CONTAINERKIT_VULNDB"]).expanduser() if env.get("CONTAINERKIT_VULNDB") else None,
            timeouts=_timeouts(raw.get("timeouts") or {}, env),
            retry=_retry(raw.get("retries") or {}, env),
            llm_model=env.get("CONTAINERKIT_LLM_MODEL") or (raw.get("llm") or {}).get("model") or None,
        )

    def chat_model(self) -> Any | None:
        """The configured chat model, or None (no model configured). A model that cannot be built is an error."""
        if not self.llm_model:
            return None
        try:
            from langchain.chat_models import init_chat_model  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise InvalidOption(
                f"an LLM is configured ({self.llm_model}) but the langchain package is not installed",
                hint="pip install langchain and the provider's package (e.g. langchain-openai), or remove [llm].",
            ) from None
        try:
            return init_chat_model(self.llm_model)
        except Exception as exc:  # noqa: BLE001 - any provider error is the user's configuration
            raise InvalidOption(
                f"cannot build the chat model {self.llm_model!r}: {exc}",
                hint="Use provider:model (e.g. openai:gpt-4o-mini) with the provider's package and key installed.",
            ) from None


_CONFIG_TYPES: dict[str, type] = {
    "pull_policy": str,
    "registry": str,
    "docker_host": str,
    "base_images": dict,
    "llm": dict,
    "timeouts": dict,
    "retries": dict,
}


def _model_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"


def _timeouts(table: dict[str, Any], env: Mapping[str, str]) -> Timeouts:
    values: dict[str, Any] = dict(table)
    for op in ("pull", "push", "tag"):
        if env.get(f"CONTAINERKIT_{op.upper()}_TIMEOUT"):
            values[op] = env[f"CONTAINERKIT_{op.upper()}_TIMEOUT"]
    try:
        return Timeouts.model_validate(values)
    except ValidationError as exc:
        raise InvalidOption(
            f"bad time limit: {_model_problem(exc)}",
            hint="Give [timeouts] pull/push/tag (or CONTAINERKIT_PULL_TIMEOUT...) as seconds, e.g. push = 900.",
        ) from None


def _retry(table: dict[str, Any], env: Mapping[str, str]) -> RetryPolicy:
    values: dict[str, Any] = dict(table)
    if env.get("CONTAINERKIT_RETRIES"):
        values["attempts"] = env["CONTAINERKIT_RETRIES"]
    try:
        return RetryPolicy.model_validate(values)
    except ValidationError as exc:
        raise InvalidOption(
            f"bad retry setting: {_model_problem(exc)}",
            hint="[retries] takes attempts (1-20), backoff_s, max_delay_s and max_retry_after_s; "
            "CONTAINERKIT_RETRIES the attempts.",
        ) from None


def _read_config(path: Path) -> dict[str, Any]:
    """config.toml, bounded and typed: a wrong type is an InvalidOption naming the key."""
    from containerkit.errors import ContainerKitError
    from containerkit.tools.fsio import read_toml_file

    try:
        raw = read_toml_file(path, max_bytes=1024 * 1024, error=InvalidOption)
    except InvalidOption:
        raise
    except ContainerKitError as exc:
        raise InvalidOption(f"cannot read {path}: {exc.message}", hint=exc.hint) from None
    for key, kind in _CONFIG_TYPES.items():
        if key in raw and not isinstance(raw[key], kind):
            raise InvalidOption(
                f"{path}: {key} must be a {'table' if kind is dict else 'string'}, not {type(raw[key]).__name__}",
                hint=f"Fix {key} in {path} (see the Configuration section of the README).",
            )
    return raw
