"""Python modules that install sibling folders of the repository are built from the folder holding
them, with the repository's layout kept under /app so the manifests' relative paths resolve."""

from __future__ import annotations

from pathlib import Path

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import build_context, generate_dockerfile, load_catalog
from containerkit.tools.secrets._context import dockerignore_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"


def _module(repo: Path, path: str) -> ModuleAnalysis:
    return next(m for m in analyze_repo(repo).modules if m.path == path)


def _py(path: str, depends_on: list[str], **kw: object) -> ModuleAnalysis:
    return ModuleAnalysis(
        path=path,
        name="svc",
        language="python",
        package_manager=str(kw.pop("package_manager", "pip")),
        dependency_files=["requirements.txt"],
        depends_on=depends_on,
        start_command="python app.py",
        **kw,  # type: ignore[arg-type]
    )


def _order(text: str, *parts: str) -> None:
    at = [text.index(p) for p in parts]
    assert at == sorted(at), f"expected in this order: {parts}\n{text}"


def test_context_is_the_common_ancestor_of_the_module_and_its_sibling_path_dependencies() -> None:
    assert build_context(_py("services/users", ["libs/pycommon"])) == "."
    assert build_context(_py("apps/api", ["apps/shared"])) == "apps"
    assert build_context(_py("a/b/svc", ["a/b/lib", "a/c/util"])) == "a"


def test_context_stays_the_module_folder_without_dependencies_outside_it() -> None:
    assert build_context(_py("services/users", [])) == "services/users"
    assert build_context(_py("svc", ["svc/vendored"])) == "svc"
    assert build_context(_py(".", ["libs/x"])) == "."
    # conda renders from its own folder; a node module's siblings are the workspace's business
    assert build_context(_py("svc", ["lib"], package_manager="conda")) == "svc"
    node = ModuleAnalysis(path="web", name="web", language="node", depends_on=["lib"])
    assert build_context(node) == "web"


def test_service_with_an_editable_sibling_library_copies_it_before_the_install_and_keeps_the_layout() -> None:
    repo = FIXTURES / "mono-services-layout"
    gen = generate_dockerfile(_module(repo, "services/users"), load_catalog(), repo_root=repo)
    text = gen.content
    assert gen.context == "."
    build, final = text.split("\n\nFROM ")
    _order(
        build,
        "WORKDIR /app/services/users",
        "COPY libs/pycommon /app/libs/pycommon/",
        "COPY services/users/requirements.txt ./",
        "RUN pip install --no-cache-dir -r requirements.txt",
        # pip leaves the venv before the source comes (an edit does not rerun it); the source comes
        # after the install (not in its layer), for the step that reads its imports to trim setuptools
        "pip uninstall",
        "COPY services/users ./",
        "--prune /tmp/ck-setuptools-files",
    )
    assert "COPY . ." not in text
    _order(
        final,
        "WORKDIR /app/services/users",
        "COPY --from=build /opt/venv /opt/venv",
        "COPY --from=build /app/libs/pycommon /app/libs/pycommon",
        "COPY services/users ./",
        "USER 10001:10001",
        "CMD ",
    )
    assert gen.user_uid == 10001 and gen.warnings == []


def test_poetry_path_dependency_installs_from_the_module_folder_with_its_lockfile(tmp_path: Path) -> None:
    svc = tmp_path / "services" / "api"
    lib = tmp_path / "libs" / "core"
    svc.mkdir(parents=True)
    lib.mkdir(parents=True)
    (lib / "pyproject.toml").write_text("[tool.poetry]\nname = 'core'\nversion = '0.1.0'\n")
    (svc / "pyproject.toml").write_text(
        "[tool.poetry]\nname = 'api'\nversion = '0.1.0'\n\n[tool.poetry.dependencies]\npython = '^3.11'\n"
        "flask = '^3'\ncore = { path = '../../libs/core', develop = true }\n"
    )
    (svc / "poetry.lock").write_text("# lock\n")
    (svc / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\napp.run()\n")
    m = _module(tmp_path, "services/api")
    assert m.depends_on == ["libs/core"]
    gen = generate_dockerfile(m, load_catalog(), repo_root=tmp_path)
    assert gen.context == "."
    _order(
        gen.content,
        "COPY libs/core /app/libs/core/",
        "COPY services/api/pyproject.toml services/api/poetry.lock ./",
        "poetry install --no-root",
        "COPY services/api ./",
    )


def test_dockerignore_keeps_secrets_out_of_every_folder_but_never_drops_a_dependency(tmp_path: Path) -> None:
    m = _py("services/users", ["k8s/common", "libs/pycommon"])
    gen = generate_dockerfile(m, load_catalog())
    assert gen.context == "."
    (tmp_path / ".dockerignore").write_text(gen.dockerignore)
    spec = dockerignore_spec(tmp_path)
    assert spec is not None
    for left_out in ("services/users/.env", "libs/pycommon/.env", "libs/pycommon/id_rsa", ".git/config"):
        assert spec.match_file(left_out), left_out
    for sent in ("services/users/app.py", "libs/pycommon/pycommon/__init__.py", "k8s/common/setup.py"):
        assert not spec.match_file(sent), sent
    assert "**/.env" in gen.dockerignore.splitlines()
