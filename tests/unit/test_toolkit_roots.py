"""Every path an agent client passes must resolve, links followed, inside the allowed roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from containerkit.errors import PathOutsideRoots
from containerkit.toolkit import RootGuard


def test_paths_inside_a_root_resolve_and_relative_ones_start_at_the_first_root(tmp_path: Path) -> None:
    (tmp_path / "a" / "app").mkdir(parents=True)
    guard = RootGuard([tmp_path / "a", tmp_path / "b"])
    assert guard.check(tmp_path / "a" / "app") == (tmp_path / "a" / "app").resolve()
    assert guard.check("app") == (tmp_path / "a" / "app").resolve()
    assert guard.check(tmp_path / "a") == (tmp_path / "a").resolve()
    assert guard.check(tmp_path / "a" / "not-yet" / "k8s") == (tmp_path / "a" / "not-yet" / "k8s").resolve()


@pytest.mark.parametrize("bad", ["/etc", "../outside", "app/../../outside", "link-out", "link-out/passwd", "/"])
def test_paths_outside_the_roots_are_refused_links_included(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "root"
    (root / "app").mkdir(parents=True)
    (root / "link-out").symlink_to("/etc")
    with pytest.raises(PathOutsideRoots) as info:
        RootGuard([root]).check(bad)
    assert info.value.code == "CK120" and str(root.resolve()) in info.value.hint


def test_a_sibling_folder_sharing_the_prefix_is_not_inside(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo-evil").mkdir()
    with pytest.raises(PathOutsideRoots):
        RootGuard([tmp_path / "repo"]).check(tmp_path / "repo-evil")


def test_no_roots_refuses_everything_and_says_how_to_allow(tmp_path: Path) -> None:
    with pytest.raises(PathOutsideRoots) as info:
        RootGuard([]).check(tmp_path)
    assert "--root" in info.value.hint
