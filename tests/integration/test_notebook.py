"""examples/quickstart.ipynb runs headless, top to bottom, on the real engine (nbclient)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


@pytest.mark.integration
@pytest.mark.slow
def test_quickstart_notebook_runs_headless(
    docker_client: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("CONTAINERKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONTAINERKIT_PULL_POLICY", "never")
    nb = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()
    outputs = {
        i: "".join(o.get("text", "") + str(o.get("data", {})) for o in c.get("outputs", []))
        for i, c in enumerate(nb.cells)
    }
    text = "\n".join(outputs.values())
    assert "| python-http | python | flask | 8080 |" in text or "| . | python | flask | 8080 |" in text
    assert "FROM " in text and "built sha256:" in text
    assert "step 1/" in text  # progress streamed while building
    assert "'critical':" in text  # the scan's counts
