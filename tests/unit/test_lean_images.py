"""Lean production images (issue 13), as generated: what reaches the final stage and what stays in
the build stage. The builds themselves are checked in tests/integration/test_lean_images_build.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog
from containerkit.tools.dockerfile._node import libc_filter
from containerkit.tools.dockerfile.naive import build_stage_packages, naive_dockerfile
from containerkit.tools.image_size import image_size


def _py(**kw: object) -> ModuleAnalysis:
    base: dict[str, object] = {
        "path": ".",
        "name": "svc",
        "language": "python",
        "package_manager": "pip",
        "dependency_files": ["requirements.txt"],
        "start_command": "gunicorn app:app",
        "port": 8000,
    }
    return ModuleAnalysis.model_validate({**base, **kw})


def _stages(text: str) -> tuple[str, str]:
    build, final = text.split("\n\nFROM ", 1)
    return build, final


def _setuptools_check(text: str) -> str:
    """The Python program the build stage writes with printf, as the shell would write it."""
    m = re.search(r"printf '%s\\n' \\\n(.*?) \\\n    > (\S+)", text, re.S)
    assert m, text
    return "\n".join(re.findall(r"^    '(.*)'(?: \\)?$", m.group(1), re.M)) + "\n"


def test_python_runtime_venv_loses_the_packaging_tools_and_the_app_is_compiled() -> None:
    text = generate_dockerfile(_py(), load_catalog()).content
    build, final = _stages(text)
    # pip and wheel leave the venv in the build stage after the install and before the source (an edit
    # does not rerun pip's uninstall); setuptools goes after the source is there to read its imports
    install = build.index("pip install --no-cache-dir -r requirements.txt")
    assert install < build.index("pip uninstall --yes --quiet wheel pip") < build.index("COPY . .")
    assert build.index("--record /tmp/ck-setuptools-files") < build.index("COPY . .")
    assert build.index("COPY . .") < build.index("--prune /tmp/ck-setuptools-files /opt/venv/lib .")
    assert "uninstall --yes --quiet setuptools" not in build
    assert "rm -f /opt/venv/bin/activate*" in build
    # the final stage copies the trimmed venv and compiles the app's bytecode while building
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert final.index("COPY . .") < final.index("python -m compileall") < final.index("USER 10001")
    # no toolchain here: no ELF scan, no run-time package step
    assert "ldd" not in text and "ck-runtime-packages" not in text


def test_declared_setuptools_is_kept() -> None:
    text = generate_dockerfile(_py(dependencies=["flask", "setuptools"]), load_catalog()).content
    build, _ = _stages(text)
    assert "pip uninstall --yes --quiet wheel pip" in build and "uninstall --yes --quiet setuptools" not in build
    assert "--prune" not in build and "--record" not in build


def test_native_build_scans_elf_needed_and_installs_only_missing_runtime_packages() -> None:
    m = _py(build_packages=["gcc", "libpq-dev"], system_packages=["libpq5"], dependencies=["psycopg2"])
    text = generate_dockerfile(m, load_catalog()).content
    build, final = _stages(text)
    assert "gcc libpq-dev" in build and "ldd" in build and "> /tmp/ck-runtime-packages" in build
    # the toolchain and headers stay in the build stage
    assert "gcc" not in final and "libpq-dev" not in final
    assert "COPY --from=build /tmp/ck-runtime-packages /tmp/ck-runtime-packages" in final
    assert 'dpkg -s "$p"' in final and "libpq5" in final
    assert "/var/cache/apt/*.bin" in final  # apt's caches never stay in a layer


@pytest.mark.parametrize(
    ("source", "needed"),
    [
        ("import pkg_resources\n", True),
        ("def plugins():\n    from setuptools import find_packages\n", True),
        ("try:\n    import pkg_resources\nexcept ImportError:\n    pkg_resources = None\n", False),
        ("# pkg_resources is gone\nimport importlib.metadata\n", False),
        ("from . import setuptools\n", False),
        ("print 'python 2 setuptools'\n", False),
    ],
)
def test_setuptools_is_kept_only_when_an_unguarded_import_needs_it(tmp_path: Path, source: str, needed: bool) -> None:
    script = tmp_path / "check.py"
    script.write_text(_setuptools_check(generate_dockerfile(_py(), load_catalog()).content))
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "mod.py").write_text(source)
    # the packaging tools' own files never count
    (app / "setuptools").mkdir()
    (app / "setuptools" / "__init__.py").write_text("import pkg_resources\n")
    rc = subprocess.run([sys.executable, str(script), str(app)], check=False).returncode
    assert rc == (0 if needed else 1)


@pytest.mark.parametrize("needed", [True, False])
def test_setuptools_files_are_recorded_then_pruned_unless_the_source_needs_them(tmp_path: Path, needed: bool) -> None:
    """The two build-stage steps on a real venv (the interpreter's bundled setuptools, no network)."""
    script = tmp_path / "check.py"
    script.write_text(_setuptools_check(generate_dockerfile(_py(), load_catalog()).content))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    if subprocess.run([py, "-c", "import setuptools"], check=False).returncode != 0:
        pytest.skip("this interpreter's venv has no setuptools (Python 3.12+)")
    listed = tmp_path / "list"
    subprocess.run([py, str(script), "--record", str(listed)], check=True)
    assert any(line.endswith("/setuptools") for line in listed.read_text().splitlines())
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("import pkg_resources\n" if needed else "import json\n")
    subprocess.run([py, str(script), "--prune", str(listed), str(venv / "lib"), str(app)], check=True)
    for module in ("setuptools", "pkg_resources", "_distutils_hack"):
        rc = subprocess.run([py, "-c", f"import {module}"], capture_output=True, check=False).returncode
        assert (rc == 0) == needed, module
    assert subprocess.run([py, "-c", "import json"], check=False).returncode == 0  # the venv still runs


def _next(tmp_path: Path, config: str | None = None, start: str = "next start") -> tuple[ModuleAnalysis, Path]:
    (tmp_path / "package.json").write_text(
        json.dumps({"scripts": {"build": "next build", "start": start}, "dependencies": {"next": "14.2.18"}})
    )
    if config is not None:
        (tmp_path / "next.config.mjs").write_text(config)
    m = ModuleAnalysis(
        path=".",
        name="web",
        language="node",
        framework="next",
        package_manager="npm",
        lockfile="package-lock.json",
        dependency_files=["package.json", "package-lock.json"],
        build_command="npm run build",
        start_command="npm start",
        pins={"next": "14.2.18"},
    )
    return m, tmp_path


def test_next_app_is_built_as_the_standalone_server_without_touching_its_config(tmp_path: Path) -> None:
    m, repo = _next(tmp_path, "export default { reactStrictMode: true }\n")
    text = generate_dockerfile(m, load_catalog(), repo_root=repo).content
    build, final = _stages(text)
    assert "RUN NEXT_PRIVATE_STANDALONE=true npm run build" in build and "test -f .next/standalone/server.js" in build
    assert "cp -r .next/static .next/standalone/.next/static" in build
    assert "COPY --from=build /app/.next/standalone ./" in final and "node_modules" not in final
    assert "HOSTNAME=0.0.0.0" in final and final.rstrip().endswith('CMD ["node", "server.js"]')
    assert (repo / "next.config.mjs").read_text() == "export default { reactStrictMode: true }\n"


@pytest.mark.parametrize(
    ("config", "start"),
    [
        ("export default { output: process.env.OUT }\n", "next start"),  # the config decides: left alone
        (None, "node server.js"),  # a custom server
    ],
)
def test_next_app_keeps_next_start_with_pruned_modules_when_standalone_does_not_fit(
    tmp_path: Path, config: str | None, start: str
) -> None:
    m, repo = _next(tmp_path, config, start)
    text = generate_dockerfile(m, load_catalog(), repo_root=repo).content
    assert "NEXT_PRIVATE_STANDALONE" not in text and "npm prune --omit=dev" in text
    # what only a build uses stays in the build stage: the webpack cache and the SWC compiler
    build, _ = _stages(text)
    assert build.index("npm prune --omit=dev") < build.index("rm -rf .next/cache node_modules/@next/swc-*")


def test_only_a_next_app_loses_the_next_build_leftovers() -> None:
    from containerkit.tools.dockerfile._node import next_build_leftovers

    m = ModuleAnalysis(path=".", name="web", language="node", framework="next", build_command="next build")
    assert "node_modules/@next/swc-*" in next_build_leftovers(m)
    assert next_build_leftovers(m.model_copy(update={"framework": "express"})) == ""
    assert next_build_leftovers(m.model_copy(update={"dev_dependencies_at_runtime": True})) == ""  # next dev


def test_naive_dockerfile_is_one_stage_with_the_build_toolchain() -> None:
    m = _py(build_packages=["gcc", "libpq-dev"], dependencies=["psycopg2"])
    gen = generate_dockerfile(m, load_catalog()).content
    naive = naive_dockerfile(m, "python:3.11-slim", build_stage_packages(gen))
    assert naive.count("FROM ") == 1 and "gcc libpq-dev" in naive and "COPY . ." in naive
    assert "pip install --no-cache-dir -r requirements.txt" in naive and "USER" not in naive


@pytest.mark.parametrize(
    ("framework", "start", "deps"),
    [
        ("cra", "react-scripts start", ["react", "react-scripts"]),
        ("vite", "vite", ["vite"]),
        ("vite", "npx vite dev --host", ["vite"]),
        ("angular", "ng serve", ["@angular/core"]),
    ],
)
def test_a_dev_server_is_never_the_production_command_of_a_static_front_end(
    framework: str, start: str, deps: list[str]
) -> None:
    m = ModuleAnalysis(
        path=".",
        name="ui",
        language="node",
        framework=framework,
        package_manager="npm",
        dependency_files=["package.json"],
        build_command="npm run build",
        start_command=start,
        dependencies=deps,
        dev_dependencies_at_runtime=True,
        static_dir="dist",
    )
    gen = generate_dockerfile(m, load_catalog())
    assert "httpd" in gen.content or "nginx" in gen.content
    assert start not in gen.content.split("\n\nFROM ")[-1]
    assert any("dev server" in w for w in gen.warnings)


def test_next_dev_becomes_next_start_of_the_production_build(tmp_path: Path) -> None:
    m, _ = _next(tmp_path)
    m = m.model_copy(update={"start_command": "next dev", "dev_dependencies_at_runtime": True})
    gen = generate_dockerfile(m, load_catalog())
    assert "next dev" not in gen.content and gen.content.rstrip().endswith('CMD ["node", "server.js"]')


class _Images:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def get(self, ref: str) -> object:
        return type("Image", (), {"id": f"sha256:{ref}", "attrs": {"Size": self.sizes[ref]}})()


class _Api:
    def __init__(self, histories: dict[str, list[dict[str, object]]]) -> None:
        self.histories = histories

    def history(self, image_id: str) -> list[dict[str, object]]:
        return self.histories[image_id.removeprefix("sha256:")]


def test_size_report_lists_layers_bottom_first_with_their_step_and_the_base_share() -> None:
    base = [{"Size": 0, "CreatedBy": '/bin/sh -c #(nop)  CMD ["python3"]'}, {"Size": 100, "CreatedBy": ""}]
    app = [
        {"Size": 0, "CreatedBy": '/bin/sh -c #(nop)  CMD ["gunicorn" "app:app"]'},
        {"Size": 7, "CreatedBy": "/bin/sh -c #(nop) COPY dir:abc in /opt/venv "},
        {"Size": 5, "CreatedBy": "RUN /bin/sh -c chown 10001 /data # buildkit"},
        {"Size": 3, "CreatedBy": "/bin/sh -c groupadd --system app"},
        *base,
    ]
    client = type("Client", (), {})()
    client.images = _Images({"app": 115, "base": 100})
    client.api = _Api({"app": app, "base": base})
    size = image_size(client, "app", base_image="base")
    assert size.size_bytes == 115 and size.base_size_bytes == 100
    assert [(x.size_bytes, x.created_by, x.base) for x in size.layers] == [
        (100, "", True),
        (3, "RUN groupadd --system app", False),
        (5, "RUN chown 10001 /data", False),
        (7, "COPY dir:abc in /opt/venv", False),
    ]
    size.naive_size_bytes = 230
    assert size.summary()["ratio_to_naive"] == 0.5


def test_a_library_missing_at_start_on_busybox_moves_the_node_app_to_debian_with_that_package() -> None:
    from containerkit.tools.diagnose import FailureEvidence, classify
    from containerkit.tools.dockerfile import BuildFailureInfo, fix_dockerfile

    m = ModuleAnalysis(
        path=".",
        name="api",
        language="node",
        package_manager="npm",
        lockfile="package-lock.json",
        dependency_files=["package.json", "package-lock.json"],
        start_command="node server.js",
    )
    catalog = load_catalog()
    before = generate_dockerfile(m, catalog).content
    assert "FROM busybox:" in before
    log = "node: error while loading shared libraries: libpq.so.5: cannot open shared object file"
    diag = classify(FailureEvidence(stage="verify", log_tail=log))
    res = fix_dockerfile(before, BuildFailureInfo(log_tail=log), m, catalog, diagnosis=diag)
    final = res.content.split("\n\nFROM ")[-1]
    assert res.changed and final.startswith("debian:") and "apt-get install -y --no-install-recommends libpq5" in final


def test_a_commented_out_output_line_in_next_config_does_not_block_the_standalone_server(tmp_path: Path) -> None:
    """create-next-app style configs carry `// output: "export"` as a hint: only a real setting counts."""
    config = '/** @type {import("next").NextConfig} */\nconst c = {\n  // output: "export",\n  reactStrictMode: true,\n};\nexport default c;\n'
    m, repo = _next(tmp_path, config)
    assert (
        "RUN NEXT_PRIVATE_STANDALONE=true npm run build"
        in generate_dockerfile(m, load_catalog(), repo_root=repo).content
    )


def _node(**kw: object) -> ModuleAnalysis:
    base: dict[str, object] = {
        "path": ".",
        "name": "api",
        "language": "node",
        "package_manager": "npm",
        "lockfile": "package-lock.json",
        "dependency_files": ["package.json", "package-lock.json"],
        "start_command": "node server.js",
    }
    return ModuleAnalysis.model_validate({**base, **kw})


def _stage(text: str, name: str) -> str:
    """The stage named ``name`` (``FROM image AS name``) up to the next one."""
    found = [s for s in text.split("\n\nFROM ") if s.split("\n", 1)[0].endswith(f" AS {name}")]
    assert len(found) == 1, text
    return found[0]


def test_node_on_busybox_gets_node_stripped_in_a_stage_of_its_own_and_copied_once() -> None:
    gen = generate_dockerfile(_node(), load_catalog())
    text = gen.content
    strip = _stage(text, "node")
    assert strip.startswith("node:22-slim AS node\n")
    # binutils only in that stage, lists cleaned; a failed apt or strip keeps the unstripped node
    assert "apt-get install -y --no-install-recommends binutils" in strip
    assert "strip --strip-unneeded -o /tmp/node /usr/local/bin/node" in strip
    assert re.search(r"\{ apt-get update .*&& mv /tmp/node /usr/local/bin/node; \} \\\n \|\| echo ", strip, re.S)
    assert strip.rstrip().endswith("rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin")
    final = text.split("\n\nFROM ")[-1]
    assert final.startswith("busybox:") and "binutils" not in final
    # node comes once, from the stripping stage; the libraries from the stage that installed the app
    assert final.count("/usr/local/bin/node") == 2  # COPY --from=node SRC DEST
    assert "COPY --from=node /usr/local/bin/node /usr/local/bin/node" in final
    assert "COPY --from=deps /runtime/ /" in final and "cp /usr/local/bin/node" not in text
    assert "stripped" in gen.base_reason
    # the naive image compared with gets the first stage's packages: never binutils
    assert build_stage_packages(text) == []


def test_node_on_debian_for_a_system_package_also_gets_the_stripped_node() -> None:
    text = generate_dockerfile(_node(system_packages=["libpq5"]), load_catalog()).content
    final = text.split("\n\nFROM ")[-1]
    assert final.startswith("debian:") and "/runtime" not in text
    assert "COPY --from=node /usr/local/bin/node /usr/local/bin/node" in final and "strip --strip-unneeded" in text


def test_packages_for_the_other_libc_leave_each_node_build(tmp_path: Path) -> None:
    m, repo = _next(tmp_path)
    build, _ = _stages(generate_dockerfile(m, load_catalog(), repo_root=repo).content)
    assert re.search(r"&& node -e '.*' glibc \.next/standalone/node_modules\n", build, re.S)
    ts = _node(build_command="npm run build", start_command="node dist/main.js")
    build, _ = _stages(generate_dockerfile(ts, load_catalog()).content)
    assert re.search(
        r"&& npm prune --omit=dev && npm cache clean --force \\\n && node -e '.*' glibc node_modules", build, re.S
    )
    build, _ = _stages(generate_dockerfile(_node(), load_catalog()).content)
    assert re.search(r"&& mkdir -p node_modules \\\n && node -e '.*' glibc node_modules", build, re.S)
    assert libc_filter("node:22-alpine", "node_modules").endswith("' musl node_modules")


def _package(folder: Path, libc: object = None, raw: str | None = None) -> None:
    folder.mkdir(parents=True)
    data: dict[str, object] = {"name": folder.name} | ({} if libc is None else {"libc": libc})
    (folder / "package.json").write_text(raw if raw is not None else json.dumps(data))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on this machine")
@pytest.mark.parametrize(("libc", "other"), [("glibc", "musl"), ("musl", "glibc")])
def test_libc_filter_removes_only_packages_whose_libc_list_excludes_the_runtime(
    tmp_path: Path, libc: str, other: str
) -> None:
    nm = tmp_path / "node_modules"
    _package(nm / "plain")
    _package(nm / "@img" / f"sharp-{other}", [other])  # scoped
    _package(nm / "@img" / f"sharp-{libc}", [libc])
    _package(nm / "both", ["glibc", "musl"])
    _package(nm / "negated", [f"!{libc}"])  # npm's negation: left to npm
    _package(nm / "empty", [])
    _package(nm / "broken", raw="{not json")
    _package(nm / "plain" / "node_modules" / f"nested-{other}", [other])  # nested node_modules
    _package(nm / ".pnpm" / "x@1.0.0" / "node_modules" / f"stored-{other}", [other])  # pnpm's store
    (nm / "link").symlink_to(nm / "@img" / f"sharp-{libc}")  # links are not followed
    command = libc_filter(f"node:22-{'alpine' if libc == 'musl' else 'slim'}", "node_modules", "missing/node_modules")
    # the Dockerfile's line continuations are Docker's: it joins the lines before the shell runs them
    res = subprocess.run(["sh", "-c", command.replace("\\\n", "")], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    left = sorted(str(p.parent.relative_to(nm)) for p in nm.rglob("package.json"))
    assert left == sorted(["plain", f"@img/sharp-{libc}", "both", "negated", "empty", "broken"])
    assert (nm / "link").is_symlink() and res.stdout.count("removed") == 3
