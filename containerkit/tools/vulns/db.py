"""The local advisory database: OSV records in SQLite, indexed by (ecosystem, package name).

Imports are all-or-nothing: one invalid record rolls the whole import back and names its file.
``update`` downloads OSV's per-ecosystem zip exports when the machine is online.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, Field

from containerkit.errors import InputUnreadable, InvalidOption
from containerkit.tools.sbom import pypi_normalize
from containerkit.tools.vulns._versions import base_ecosystem
from containerkit.tools.vulns.errors import UnknownEcosystem, VulnDbError, VulnDbUpdateFailed
from containerkit.tools.vulns.osv import OsvAffected, OsvRecord, iter_osv_records

__all__ = ["ECOSYSTEMS", "OSV_EXPORT_URL", "DbInfo", "ImportResult", "VulnDB", "check_url", "normalize_name"]

OSV_EXPORT_URL = "https://osv-vulnerabilities.storage.googleapis.com"
ECOSYSTEMS = ("PyPI", "npm", "Go", "Maven", "crates.io", "RubyGems", "Packagist", "Debian", "Alpine")
_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (
    id TEXT PRIMARY KEY, modified TEXT NOT NULL, withdrawn TEXT, source TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS affected (
    advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, base TEXT NOT NULL, name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS affected_pkg ON affected (base, name);
CREATE INDEX IF NOT EXISTS affected_adv ON affected (advisory_id);
"""


_OUR_TABLES = frozenset({"meta", "advisories", "affected"})
_NOT_OURS_HINT = (
    "Name the advisory database containerkit created (`containerkit db info` shows it), or a new file; "
    "containerkit never writes into a file it did not create."
)


def normalize_name(ecosystem: str, name: str) -> str:
    """The key names are compared on: PEP 503 for PyPI, lower case for Packagist, else as given."""
    base = base_ecosystem(ecosystem)
    if base == "PyPI":
        return pypi_normalize(name)
    if base == "Packagist":
        return name.lower()
    return name


class ImportResult(BaseModel):
    records: int = 0
    sources: int = 0
    skipped_withdrawn: int = 0
    duration_s: float = 0.0


class DbInfo(BaseModel):
    path: str
    advisories: int
    ecosystems: dict[str, int] = Field(default_factory=dict)
    last_import: str = ""
    last_update: str = ""


class VulnDB:
    """SQLite store of OSV advisories at ``path`` (created on first write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def check_ours(self) -> None:
        """Refuse a file containerkit did not create: not SQLite, or a SQLite database with other tables.

        Nothing is written into such a file (``scan --db`` naming an unrelated database).
        """
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise VulnDbError(f"cannot use the vulnerability database {self.path}: {exc}") from None
        if not stat.S_ISREG(st.st_mode):
            raise VulnDbError(
                f"{self.path} is not a regular file",
                hint="Name the advisory database containerkit created (`containerkit db info` shows it).",
            )
        if st.st_size == 0:
            return
        try:
            with self.path.open("rb") as fh:
                magic = fh.read(16)
        except OSError as exc:
            raise VulnDbError(f"cannot read the vulnerability database {self.path}: {exc.strerror}") from None
        if magic != b"SQLite format 3\x00":
            raise VulnDbError(f"{self.path} is not a SQLite database", hint=_NOT_OURS_HINT)
        try:
            conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, timeout=5)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise VulnDbError(f"cannot use the vulnerability database {self.path}: {exc}") from None
        if tables and not (tables <= _OUR_TABLES and "advisories" in tables):
            raise VulnDbError(
                f"{self.path} is a SQLite database containerkit did not create"
                f" (tables: {', '.join(sorted(tables - _OUR_TABLES) or sorted(tables))}); nothing was written to it",
                hint=_NOT_OURS_HINT,
            )

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        self.check_ours()
        if not write and not self.path.exists():
            raise VulnDbError(
                f"no vulnerability database at {self.path}",
                hint="Import advisories first: `containerkit db import PATH` (OSV JSON files or a zip export).",
            )
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.executescript(_SCHEMA)
                yield conn
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise VulnDbError(f"cannot use the vulnerability database {self.path}: {exc}") from None
        except OSError as exc:
            raise VulnDbError(f"cannot use the vulnerability database {self.path}: {exc.strerror}") from None

    # -- writing -----------------------------------------------------------------------------

    def import_path(self, path: Path) -> ImportResult:
        """Import OSV JSON files, zip exports or folders of them; all or nothing."""
        started = time.perf_counter()
        _check_import_source(Path(path))
        result = ImportResult()
        sources: set[str] = set()
        with self._connect(write=True) as conn:
            try:
                conn.execute("BEGIN")
                for source, rec in iter_osv_records(Path(path)):
                    sources.add(source.split("!", 1)[0])
                    self._store(conn, rec, source)
                    result.records += 1
                    result.skipped_withdrawn += rec.withdrawn is not None
                self._set_meta(conn, "last_import", _now())
                self._set_meta(conn, "schema", _SCHEMA_VERSION)
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
        result.sources = len(sources)
        result.duration_s = round(time.perf_counter() - started, 3)
        return result

    @staticmethod
    def _store(conn: sqlite3.Connection, rec: OsvRecord, source: str) -> None:
        conn.execute("DELETE FROM affected WHERE advisory_id = ?", (rec.id,))
        conn.execute(
            "INSERT OR REPLACE INTO advisories (id, modified, withdrawn, source, record) VALUES (?, ?, ?, ?, ?)",
            (rec.id, rec.modified, rec.withdrawn, source, rec.model_dump_json(exclude_defaults=True)),
        )
        seen: set[tuple[str, str]] = set()
        for aff in rec.affected:
            if aff.package is None:
                continue
            key = (aff.package.ecosystem, normalize_name(aff.package.ecosystem, aff.package.name))
            if key in seen:
                continue
            seen.add(key)
            conn.execute(
                "INSERT INTO affected (advisory_id, ecosystem, base, name) VALUES (?, ?, ?, ?)",
                (rec.id, key[0], base_ecosystem(key[0]), key[1]),
            )

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def update(
        self, ecosystems: Iterable[str] = ECOSYSTEMS, *, base_url: str = OSV_EXPORT_URL, timeout: float = 30.0
    ) -> ImportResult:
        """Download ``{base_url}/{ecosystem}/all.zip`` for each ecosystem and import it."""
        check_url(base_url)
        wanted = list(ecosystems)
        for eco in wanted:
            if base_ecosystem(eco) not in ECOSYSTEMS:
                raise UnknownEcosystem(f"unknown OSV ecosystem {eco!r}")
        total = ImportResult()
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ck-osv-") as tmp:
            for eco in wanted:
                url = f"{base_url.rstrip('/')}/{urllib.parse.quote(eco)}/all.zip"
                target = Path(tmp) / f"{base_ecosystem(eco)}.zip"
                try:
                    with urllib.request.urlopen(url, timeout=timeout) as resp, open(target, "wb") as out:
                        while chunk := resp.read(1 << 20):
                            out.write(chunk)
                except (urllib.error.URLError, OSError, TimeoutError, ValueError, http.client.HTTPException) as exc:
                    reason = getattr(exc, "reason", None) or exc
                    raise VulnDbUpdateFailed(f"cannot download the OSV export {url}: {reason}") from None
                got = self.import_path(target)
                total.records += got.records
                total.sources += got.sources
                total.skipped_withdrawn += got.skipped_withdrawn
        with self._connect(write=True) as conn:
            self._set_meta(conn, "last_update", _now())
            conn.commit()
        total.duration_s = round(time.perf_counter() - started, 3)
        return total

    # -- reading -----------------------------------------------------------------------------

    def info(self) -> DbInfo:
        with self._connect() as conn:
            count = conn.execute("SELECT COUNT(*) FROM advisories").fetchone()[0]
            ecos = dict(
                conn.execute(
                    "SELECT ecosystem, COUNT(DISTINCT advisory_id) FROM affected GROUP BY ecosystem ORDER BY ecosystem"
                ).fetchall()
            )
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        return DbInfo(
            path=str(self.path),
            advisories=int(count),
            ecosystems={str(k): int(v) for k, v in ecos.items()},
            last_import=meta.get("last_import", ""),
            last_update=meta.get("last_update", ""),
        )

    def advisories_for(self, ecosystem: str, name: str) -> list[tuple[OsvRecord, list[OsvAffected]]]:
        """Live advisories naming the package, each with its ``affected`` entries for it.

        An advisory for "Debian:12" applies to ecosystem "Debian:12" only; one for plain "Debian" to all.
        """
        base = base_ecosystem(ecosystem)
        key = normalize_name(ecosystem, name)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT a.record FROM affected f JOIN advisories a ON a.id = f.advisory_id "
                "WHERE f.base = ? AND f.name = ? AND a.withdrawn IS NULL AND (f.ecosystem = ? OR f.ecosystem = ?)",
                (base, key, ecosystem, base),
            ).fetchall()
        out: list[tuple[OsvRecord, list[OsvAffected]]] = []
        for (raw,) in rows:
            rec = OsvRecord.model_validate(json.loads(raw))
            affs = [
                a
                for a in rec.affected
                if a.package is not None
                and a.package.ecosystem in (ecosystem, base)
                and normalize_name(ecosystem, a.package.name) == key
            ]
            if affs:
                out.append((rec, affs))
        return out


def check_url(url: str) -> str:
    """An http(s) URL with a host; anything else (a path, ``file:``, ``ftp:``, garbage) is an InvalidOption."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        raise InvalidOption(f"invalid OSV URL {url!r}: {exc}", hint=_URL_HINT) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidOption(f"invalid OSV URL {url!r}: not an http(s) URL with a host", hint=_URL_HINT)
    return url


_URL_HINT = (
    "Set CONTAINERKIT_OSV_URL to an http(s) URL such as https://osv-vulnerabilities.storage.googleapis.com, "
    "or import a downloaded export with `containerkit db import all.zip`."
)


def _check_import_source(path: Path) -> None:
    """A FIFO, a device or a socket is refused before anything opens it (opening a FIFO blocks)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return  # iter_osv_records names it
    except (OSError, ValueError) as exc:
        raise InputUnreadable(f"cannot read {path}: {exc}") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise InputUnreadable(
            f"{path} is not a regular file or a folder",
            hint="Pass an OSV JSON file, an OSV zip export or a folder of them (not a pipe or device).",
        )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
