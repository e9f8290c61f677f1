"""Lean production images (issue 13), as generated: what reaches the final stage and what stays in
the build stage. The builds themselves are checked in tests/integration/test_lean_images_build.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from containerkit.tools.analyze.models import ModuleAnalysis
from containerkit.tools.dockerfile import generate_dockerfile, load_catalog


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
    # pip, wheel and (unless something imports it) setuptools leave the venv in the build stage,
    # after the install and with the source there to read its imports
    assert build.index("pip install --no-cache-dir -r requirements.txt") < build.index("COPY . .")
    assert build.index("COPY . .") < build.index("pip uninstall --yes --quiet setuptools wheel pip")
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
