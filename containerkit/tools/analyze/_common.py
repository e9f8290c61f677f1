"""What every ecosystem detector shares: the module folder view, the result, and evidence helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from containerkit.errors import ManifestParseError
from containerkit.tools.analyze._walk import RepoIndex, join
from containerkit.tools.analyze.models import Evidence, ModuleAnalysis
from containerkit.tools.fsio import parse_json_text, parse_toml_text
from containerkit.tools.manifest_shapes import conform

__all__ = ["Found", "ModuleDir", "major_minor", "port_command"]

SOURCE_LIMIT = 256 * 1024
"""Bytes read from a source file when looking for ports and routes: app setup sits at the top."""

_PORT_PATTERNS = [
    re.compile(r"""(?:PORT|port)["']?\s*(?:\)|\])?\s*(?:,|\|\||\?\?|\bor\b|=|:|\bdefault\b\s*)\s*["']?(\d{2,5})\b"""),
    re.compile(r"""\.listen\(\s*["']?(\d{2,5})\b"""),
    re.compile(r"""--port[= ](\d{2,5})\b"""),
    re.compile(r"""(?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\])["']?\s*[,:]\s*(\d{2,5})\b"""),
    re.compile(r"""["']:(\d{4,5})["']"""),
    re.compile(r"""Getenv\(\s*"PORT"\s*\)[^\n]{0,80}\n?[^\n]{0,80}?["']:?(\d{4,5})["']"""),
]
_SERVICE_PORTS = frozenset({1433, 1521, 2181, 3306, 5432, 5672, 6379, 9042, 9092, 9200, 11211, 27017})
"""Ports of databases and brokers an app connects to (its config names them), never the one it serves."""
_HEALTH = re.compile(r"""["'](/(?:healthz?|health/?live|livez|readyz?|ready|ping|status|up))["']""")
_EXPOSE = re.compile(r"^\s*EXPOSE\s+(\d{2,5})", re.M | re.I)
_HEALTHCHECK_PATH = re.compile(r"^\s*HEALTHCHECK\b.*?https?://[^/\s]+(/[\w/.-]*)", re.M | re.I)


def major_minor(spec: str) -> str | None:
    """'>=3.11,<4' -> '3.11'; '^18.2' -> '18.2'; the first MAJOR.MINOR a constraint names."""
    m = re.search(r"(\d+\.\d+)", spec)
    return m.group(1) if m else None


def port_command(cmd: str, default: int) -> str:
    """Replace a Procfile's $PORT with a shell default so the command works with and without it."""
    return re.sub(r"\$\{?PORT\}?(?!:-)", f"${{PORT:-{default}}}", cmd)


@dataclass
class Found:
    """A detector's result plus the links the monorepo pass needs to order builds."""

    module: ModuleAnalysis
    ids: set[str] = field(default_factory=set)
    """Names other modules use to depend on this one (package, crate, Go module, artifact)."""
    refs: set[str] = field(default_factory=set)
    """Dependency names of this module that may be other modules of the repo."""
    ref_paths: set[str] = field(default_factory=set)
    """Folders (relative to this module) it depends on by path."""
    members: list[str] | None = None
    """Member globs when this folder is a workspace root (npm workspaces, Cargo, go.work, Maven ...)."""
    aggregator: bool = False
    """A workspace root with nothing of its own to run (virtual Cargo manifest, Maven pom packaging)."""
    rank: int = 0
    """Tie-break between ecosystems found in one folder: higher wins (Rails with package.json is Ruby)."""
    lone: bool = False
    """Found from source files alone (no manifest): yields to real modules found below it."""


@dataclass
class ModuleDir:
    """One candidate folder as a detector sees it: file tests and bounded reads relative to it."""

    index: RepoIndex
    rel: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def name(self) -> str:
        return (self.index.root.name if self.rel == "." else self.rel.rsplit("/", 1)[-1]) or "app"

    def has(self, name: str) -> bool:
        if "/" in name:
            folder, _, base = name.rpartition("/")
            return self.index.has(join(self.rel, folder), base)
        return self.index.has(self.rel, name)

    def names(self, sub: str = ".") -> list[str]:
        return self.index.names(self.rel if sub == "." else join(self.rel, sub))

    def children(self, sub: str = ".") -> list[str]:
        """Sub-folder names of ``sub`` (relative to the module)."""
        folder = self.rel if sub == "." else join(self.rel, sub)
        return [c.rsplit("/", 1)[-1] for c in self.index.children(folder)]

    def is_dir(self, sub: str) -> bool:
        return self.index.is_dir(join(self.rel, sub))

    def first(self, *names: str) -> str | None:
        return next((n for n in names if self.has(n)), None)

    def read(self, name: str, limit: int = SOURCE_LIMIT) -> str:
        return self.index.read(join(self.rel, name), limit) if self.has(name) else ""

    def repo_path(self, name: str) -> str:
        return join(self.rel, name)

    def say(self, file: str, says: str) -> None:
        self.evidence.append(Evidence(file=file, says=says))

    def sources(self, sub: str, exts: tuple[str, ...], limit: int = 40) -> list[str]:
        """Up to ``limit`` source files below ``sub`` (module-relative), shallow folders first."""
        out: list[str] = []
        start = self.rel if sub == "." else join(self.rel, sub)
        if not self.index.is_dir(start):
            return out
        queue = [start]
        while queue and len(out) < limit:
            folder = queue.pop(0)
            for n in self.index.names(folder):
                if n.endswith(exts):
                    full = join(folder, n)
                    out.append(full if self.rel == "." else full[len(self.rel) + 1 :])
            queue.extend(self.index.children(folder))
        return out[:limit]

    # -- manifests -------------------------------------------------------------------------

    def json(self, name: str) -> Any:
        text = self.read(name, 8 * 1024 * 1024).removeprefix("\ufeff")  # editors on Windows write a BOM
        return conform(name, parse_json_text(text, source=self.repo_path(name), error=ManifestParseError), self.say)

    def json_object(self, name: str) -> dict[str, Any]:
        data = self.json(name)
        if not isinstance(data, dict):
            rel = self.repo_path(name)
            raise ManifestParseError(
                f"{rel} must hold a JSON object at line 1, column 1",
                hint=f"Make {rel} a JSON object ({{...}}).",
                file=rel,
                line=1,
                column=1,
            )
        return data

    def toml(self, name: str) -> dict[str, Any]:
        text = self.read(name, 8 * 1024 * 1024)
        return conform(name, parse_toml_text(text, source=self.repo_path(name), error=ManifestParseError), self.say)

    # -- evidence shared by all ecosystems ----------------------------------------------------

    def procfile_web(self) -> str | None:
        """The `web:` process of a Procfile (Heroku, Dokku, foreman): the author's start command."""
        for line in self.read("Procfile", 64 * 1024).splitlines():
            if line.startswith("web:"):
                cmd = line[4:].strip()
                self.say("Procfile", f"web: {cmd}")
                return cmd
        return None

    def dockerfile_hints(self) -> tuple[int | None, str | None]:
        """EXPOSE port and HEALTHCHECK path of an existing Dockerfile: how the author runs it."""
        text = self.read("Dockerfile", 64 * 1024)
        if not text:
            return None, None
        m = _EXPOSE.search(text)
        h = _HEALTHCHECK_PATH.search(text)
        if m:
            self.say("Dockerfile", f"EXPOSE {m.group(1)}")
        return (int(m.group(1)) if m else None), (h.group(1) if h else None)

    def find_port(self, files: list[str]) -> int | None:
        for f in files:
            text = self.read(f)
            for pat in _PORT_PATTERNS:
                for m in pat.finditer(text):
                    port = int(m.group(1))
                    if 80 <= port <= 65535 and port not in _SERVICE_PORTS:
                        self.say(f, f"listens on {port}")
                        return port
        return None

    def find_health(self, files: list[str]) -> str | None:
        for f in files:
            m = _HEALTH.search(self.read(f))
            if m:
                self.say(f, f"serves {m.group(1)}")
                return m.group(1)
        return None

    def version_file(self, names: tuple[str, ...], pattern: str = r"(\d+(?:\.\d+)?)") -> str | None:
        for vf in names:
            m = re.search(pattern, self.read(vf, 256))
            if m:
                self.say(vf, f"version {m.group(1)}")
                return m.group(1)
        return None

    def finish(
        self,
        m: ModuleAnalysis,
        *,
        sources: list[str],
        default_port: int | None,
        base_confidence: float = 0.5,
    ) -> ModuleAnalysis:
        """Fill what every ecosystem fills the same way: port, health path, Dockerfile, confidence."""
        if m.is_library:
            self.say(m.dependency_files[0] if m.dependency_files else ".", "nothing to start: a library")
        exposed, health = self.dockerfile_hints()
        if self.has("Dockerfile"):
            m.existing_dockerfile = self.repo_path("Dockerfile")
        if m.port is None and not m.is_library:
            m.port = self.find_port(sources) or exposed or default_port
        m.health_path = m.health_path or self.find_health(sources) or health
        score = base_confidence
        score += 0.15 if m.framework else 0.0
        score += 0.2 if (m.start_command or m.is_library) else 0.0
        score += 0.1 if m.lockfile else 0.0
        score += 0.05 if m.language_version else 0.0
        m.confidence = round(min(score, 1.0), 2)
        m.evidence = self.evidence
        return m
