"""The OSV schema (the parts matching needs) and reading OSV files, folders and zip exports."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from containerkit.errors import PathNotFound
from containerkit.tools.fsio import parse_json_text
from containerkit.tools.vulns.errors import OsvRecordInvalid

__all__ = [
    "OsvAffected",
    "OsvEvent",
    "OsvPackage",
    "OsvRange",
    "OsvRecord",
    "OsvSeverity",
    "iter_osv_records",
    "parse_osv",
]

_MAX_RECORD_BYTES = 64 * 1024 * 1024


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class OsvEvent(_Lenient):
    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class OsvRange(_Lenient):
    type: str
    events: list[OsvEvent] = Field(default_factory=list)


class OsvPackage(_Lenient):
    ecosystem: str
    name: str
    purl: str | None = None


class OsvSeverity(_Lenient):
    type: str
    score: str


class OsvAffected(_Lenient):
    package: OsvPackage | None = None
    ranges: list[OsvRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    severity: list[OsvSeverity] = Field(default_factory=list)
    ecosystem_specific: dict[str, Any] | None = None
    database_specific: dict[str, Any] | None = None


class OsvRecord(_Lenient):
    id: str
    modified: str
    published: str | None = None
    withdrawn: str | None = None
    aliases: list[str] = Field(default_factory=list)
    upstream: list[str] = Field(default_factory=list)
    summary: str = ""
    details: str = ""
    severity: list[OsvSeverity] = Field(default_factory=list)
    affected: list[OsvAffected] = Field(default_factory=list)
    database_specific: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _id_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("id must not be empty")
        return v

    @field_validator("aliases", "upstream", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return [] if v is None else v


def parse_osv(data: bytes, *, source: str) -> list[OsvRecord]:
    """Records in one JSON document: a record, a list of records, or an API answer ``{"vulns": [...]}``."""
    doc = parse_json_text(data, source=source, error=OsvRecordInvalid)  # syntax, depth, huge numbers: typed
    items: Any = doc
    if isinstance(doc, dict) and "vulns" in doc and "id" not in doc:
        items = doc["vulns"]
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise OsvRecordInvalid(f"{source} holds neither an OSV record nor a list of them", source=source)
    out: list[OsvRecord] = []
    for i, item in enumerate(items):
        try:
            out.append(OsvRecord.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            label = source if len(items) == 1 else f"{source} (record {i})"
            raise OsvRecordInvalid(f"{label} is not an OSV record: {where}: {first['msg']}", source=source) from None
    return out


def iter_osv_records(path: Path) -> Iterator[tuple[str, OsvRecord]]:
    """(source label, record) from a JSON file, a zip export (member by member) or a folder of both."""
    if not path.exists():
        raise PathNotFound(
            f"{path} does not exist", hint="Pass an OSV JSON file, an OSV zip export or a folder of them."
        )
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".zip"))
        for f in files:
            yield from iter_osv_records(f)
        return
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.is_dir() or not info.filename.lower().endswith(".json"):
                        continue
                    label = f"{path}!{info.filename}"
                    if info.file_size > _MAX_RECORD_BYTES:
                        raise OsvRecordInvalid(f"{label} is {info.file_size} bytes, too large for one OSV record")
                    for rec in parse_osv(zf.read(info), source=label):
                        yield label, rec
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise OsvRecordInvalid(f"{path} is not a readable zip export: {exc}", source=str(path)) from None
        return
    if path.stat().st_size > _MAX_RECORD_BYTES:
        raise OsvRecordInvalid(f"{path} is {path.stat().st_size} bytes, too large for an OSV JSON file")
    for rec in parse_osv(path.read_bytes(), source=str(path)):
        yield str(path), rec
