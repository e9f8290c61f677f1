"""What the analysis says about a repository: one entry per deployable module, with evidence."""

from __future__ import annotations

from pydantic import BaseModel, Field

from containerkit.errors import NoDeployableModule

__all__ = ["Evidence", "ModuleAnalysis", "RepoAnalysis"]


class Evidence(BaseModel):
    """One fact and the file that said it, so a reviewer can check every conclusion."""

    file: str
    says: str


class ModuleAnalysis(BaseModel):
    """A deployable unit (or a shared library) found in the repository."""

    path: str = Field(description="Folder relative to the repo root; '.' for the root module.")
    name: str
    language: str | None = None
    language_version: str | None = None
    package_manager: str | None = None
    framework: str | None = None
    port: int | None = None
    start_command: str | None = Field(default=None, description="Shell-style command line.")
    build_command: str | None = None
    health_path: str | None = None
    entrypoint: str | None = Field(default=None, description="Main source file, relative to the module.")
    dependency_files: list[str] = Field(
        default_factory=list, description="Manifests and lockfiles, relative to the module, copied before the source."
    )
    lockfile: str | None = None
    package_manager_version: str | None = Field(
        default=None,
        description="Version of the package manager the lockfile or `packageManager` asks for ('8', '3.6.1'); "
        "installed in the image with `npm install -g`.",
    )
    version_constraints: list[str] = Field(
        default_factory=list,
        description="Every runtime version constraint found (requires-python, .python-version, engines.node, "
        ".nvmrc, ...), as written; the base image is the newest available version satisfying all.",
    )
    pins: dict[str, str] = Field(
        default_factory=dict,
        description="Exact versions of direct dependencies pinned in the manifest (name -> version): decides "
        "whether a native package has a prebuilt wheel/binary for the target runtime.",
    )
    dev_dependencies_at_runtime: bool = Field(
        default=False,
        description="The start command runs a tool from devDependencies (ts-node, a dev server with no built "
        "output to serve instead): the image keeps the dev dependencies.",
    )
    system_packages: list[str] = Field(
        default_factory=list, description="Debian packages the app needs at run time (e.g. libpq5, ffmpeg)."
    )
    build_packages: list[str] = Field(
        default_factory=list, description="Debian packages needed only to build (e.g. gcc, libpq-dev)."
    )
    dependencies: list[str] = Field(default_factory=list, description="Names of direct runtime dependencies.")
    existing_dockerfile: str | None = Field(default=None, description="Path relative to the repo root.")
    install_project: bool = Field(
        default=False,
        description="The module is a package whose own install provides what starts it (a src/ layout, a "
        "[project.scripts] command): the image installs it after its dependencies.",
    )
    source_before_install: bool = Field(
        default=False,
        description="The dependency install needs the module's source (its requirements name the project "
        "itself, e.g. `-e .`), so the source is copied before it.",
    )
    requirements_file: str | None = Field(
        default=None,
        description="The pip requirements file to install (e.g. requirements/production.txt), relative to the "
        "module; the files it includes (-r, -c) are in dependency_files.",
    )
    static_dir: str | None = Field(
        default=None, description="Folder (relative to the module, after the build) to serve as static files."
    )
    workspace_root: str | None = Field(
        default=None, description="Workspace root the module belongs to; build from there when it has depends_on."
    )
    is_library: bool = False
    depends_on: list[str] = Field(default_factory=list, description="Paths of modules built before this one.")
    confidence: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)

    def public_dict(self) -> dict[str, object]:
        """The stable JSON shape of `containerkit analyze --json` (fields are added, never renamed)."""
        return self.model_dump(mode="json")


class RepoAnalysis(BaseModel):
    root: str
    modules: list[ModuleAnalysis]
    is_monorepo: bool = False
    files_scanned: int = 0
    build_order: list[str] = Field(default_factory=list, description="Module paths, dependencies first.")
    duration_s: float = 0.0

    def deployable(self) -> list[ModuleAnalysis]:
        return [m for m in self.modules if not m.is_library]

    def primary(self) -> ModuleAnalysis:
        """The module `run` containerizes: the root one if deployable, else the first deployable.

        Raises ``NoDeployableModule`` (never ``IndexError``) when every module is a library.
        """
        mods = self.deployable()
        for m in mods:
            if m.path == ".":
                return m
        if not mods:
            libs = ", ".join(f"{m.path} ({m.language})" for m in self.modules) or "none"
            raise NoDeployableModule(
                f"nothing to run in {self.root}: every module found is a library ({libs})",
                hint="Give the app a start command (a `start` script, `main`, a Procfile `web:` line, an entry file "
                "such as server.js or main.py), or write a Dockerfile; `containerkit analyze` shows what was read.",
                path=self.root,
            )
        return mods[0]
