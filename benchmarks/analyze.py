"""Benchmark: analyze a generated 100,000-file monorepo against a bare os.walk of the same tree.

Prints the walk that enters everything, the walk that skips ignored folders (the baseline the
analysis is held to: within 1.5x and under 2 s), the analysis, and the ratios. Best of N runs,
all in this process, so the page cache is equally warm for every contender.

    python benchmarks/analyze.py [--files 100000] [--modules 30] [--runs 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from containerkit.tools.analyze import analyze_repo
from containerkit.tools.analyze._walk import SKIP_DIRS

_KINDS = ("node", "python", "go", "rust", "java")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _module(root: Path, i: int, kind: str, files: int) -> int:
    """One module of ``kind`` with ``files`` source files in nested folders; returns files written."""
    mod = root / ("packages" if kind == "node" else "services") / f"{kind}-{i:02d}"
    if kind == "node":
        _write(mod / "package.json", json.dumps({"name": f"m{i}", "scripts": {"start": "node index.js"}}))
        _write(mod / "index.js", "require('http').createServer().listen(process.env.PORT || 3000)\n")
        ext = ".js"
    elif kind == "python":
        _write(mod / "requirements.txt", "flask==3.0.3\n")
        _write(mod / "app.py", "from flask import Flask\napp = Flask(__name__)\n")
        ext = ".py"
    elif kind == "go":
        _write(mod / "go.mod", f"module example.com/m{i}\n\ngo 1.22\n")
        _write(mod / "main.go", 'package main\n\nfunc main() { http.ListenAndServe(":8080", nil) }\n')
        ext = ".go"
    elif kind == "rust":
        _write(mod / "Cargo.toml", f'[package]\nname = "m{i}"\nversion = "0.1.0"\n')
        _write(mod / "src" / "main.rs", "fn main() {}\n")
        ext = ".rs"
    else:
        _write(mod / "pom.xml", f"<project><artifactId>m{i}</artifactId><version>1</version></project>")
        ext = ".java"
    written = 2
    per_dir = 25
    for n in range(files - written):
        d = mod / "src" / f"pkg{n // (per_dir * 8)}" / f"sub{(n // per_dir) % 8}"
        if n % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{n}{ext}").write_text("// generated\n")
    return files


def generate(root: Path, total: int, modules: int) -> int:
    """A monorepo: npm workspaces root, ``modules`` mixed modules, a big node_modules and .git."""
    _write(root / "package.json", json.dumps({"name": "bench", "private": True, "workspaces": ["packages/*"]}))
    _write(root / ".gitignore", "*.log\ncoverage/\n")
    count = 2
    budget_vendor = int(total * 0.45)  # node_modules
    budget_git = int(total * 0.15)
    per_module = (total - budget_vendor - budget_git) // modules
    for i in range(modules):
        count += _module(root, i, _KINDS[i % len(_KINDS)], per_module)
    for n in range(budget_vendor):
        d = root / "node_modules" / f"dep{n // 200}" / ("lib" if n % 2 else "dist")
        if n % 200 < 2:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{n}.js").write_text("module.exports = 1\n")
    count += budget_vendor
    for n in range(budget_git):
        d = root / ".git" / "objects" / f"{n % 256:02x}"
        if n < 256:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"{n:038x}").write_bytes(b"x")
    return count + budget_git


def walk_all(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def walk_skipping(root: Path) -> int:
    n = 0
    for _, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        n += len(files)
    return n


def best_interleaved(fns: list[Callable[[], object]], runs: int) -> list[tuple[float, object]]:
    """Best time of each contender, run in turn so a busy neighbour slows them alike."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return [(min(t), o) for t, o in zip(times, outs, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--modules", type=int, default=30)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="ck-bench-"))
    try:
        if not (root / "package.json").exists():
            t0 = time.perf_counter()
            made = generate(root, args.files, args.modules)
            print(f"generated {made} files in {time.perf_counter() - t0:.1f}s at {root}")
        (t_all, n_all), (t_skip, n_skip), (t_an, result) = best_interleaved(
            [lambda: walk_all(root), lambda: walk_skipping(root), lambda: analyze_repo(root)], args.runs
        )
        mods = result.modules  # type: ignore[attr-defined]
        print(f"os.walk, everything        {t_all * 1000:8.1f} ms  {n_all} files")
        print(f"os.walk, skipping ignored  {t_skip * 1000:8.1f} ms  {n_skip} files")
        print(f"analyze_repo               {t_an * 1000:8.1f} ms  {len(mods)} modules")
        print(f"ratio analysis / skipping walk: {t_an / t_skip:.2f}x (target <= 1.5x, and < 2 s)")
        print(f"ratio analysis / full walk:     {t_an / t_all:.2f}x")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
