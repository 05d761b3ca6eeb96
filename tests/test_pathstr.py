"""cache/pathstr.py: the strings and answers of pathlib, without pathlib."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache.pathstr import exists, is_dir, is_file, is_symlink, joined, parent, spelled

SPELLINGS = [
    "",
    ".",
    "./",
    "a",
    "a/",
    "a//b",
    "a/./b/.",
    "./a",
    "a/../b",
    "/",
    "//",
    "///",
    "//a/b",
    "///a",
    "/a/",
    "..",
    "../x/",
    " a /b ",
    "a\0b",
]

pieces = st.lists(st.sampled_from(["/", "//", ".", "..", "a", "b c", "\u00e9"]), max_size=8)


@pytest.mark.parametrize("text", SPELLINGS)
def test_spelled(text: str) -> None:
    assert spelled(text) == str(Path(text))
    assert spelled(Path(text)) == str(Path(text))
    assert parent(text) == str(Path(text).parent)


@given(pieces, pieces)
def test_spelled_and_joined_agree_with_pathlib(base: list[str], name: list[str]) -> None:
    base_text, name_text = "".join(base), "".join(name)
    assert spelled(base_text) == str(Path(base_text))
    assert joined(base_text, name_text) == str(Path(base_text, name_text))
    assert joined(base_text, name_text, "c") == str(Path(base_text, name_text, "c"))
    assert parent(base_text) == str(Path(base_text).parent)
    assert parent(joined(base_text, name_text)) == str(Path(base_text, name_text).parent)


def test_predicates_agree_with_pathlib(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_bytes(b"")
    (tmp_path / "to-dir").symlink_to("dir")
    (tmp_path / "to-file").symlink_to("file")
    (tmp_path / "dangling").symlink_to("missing")
    (tmp_path / "loop").symlink_to("loop")
    names = ["dir", "file", "to-dir", "to-file", "dangling", "loop", "missing", "file/under"]
    for name in [*names, "nul\0byte"]:
        path = tmp_path / name
        for given_path in (path, str(path)):
            assert exists(given_path) == path.exists(), name
            assert is_dir(given_path) == path.is_dir(), name
            assert is_file(given_path) == path.is_file(), name
            assert is_symlink(given_path) == path.is_symlink(), name


def test_predicates_raise_what_pathlib_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """pathlib swallows "missing" errors only: EACCES and the like propagate."""
    import errno

    def denied(*_args: object, **_kwargs: object) -> os.stat_result:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "stat", denied)
    monkeypatch.setattr(os, "lstat", denied)
    for predicate in (exists, is_dir, is_file, is_symlink):
        with pytest.raises(PermissionError):
            predicate("/anything")
