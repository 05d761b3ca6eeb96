"""registry/config/source_replacement.py: which cargo config files apply, as strings spelled
like pathlib's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry.config.cargo_config import cargo_home
from registry.config.source_replacement import SourceMap


def reference(start: Path) -> tuple[list[str], list[str]]:
    """The lookup written with pathlib: in each directory ``config`` before ``config.toml``, as
    cargo's get_file_path (src/cargo/util/context/mod.rs:1604) prefers the file without an
    extension."""
    home = os.environ.get("CARGO_HOME")
    home_dir = Path(home) if home else Path(os.path.expanduser("~")) / ".cargo"
    found: list[Path] = []
    absent: list[Path] = []
    here = start.resolve()
    for directory in (*(d / ".cargo" for d in (here, *here.parents)), home_dir):
        for name in ("config", "config.toml"):
            candidate = directory / name
            if candidate.is_file():
                if candidate.resolve() not in {f.resolve() for f in found}:
                    found.append(candidate)
                break
            absent.append(candidate)
    return [str(p) for p in found], [str(p) for p in absent]


@pytest.mark.parametrize("home", ["home/", "./home//.", "HOME-ABS", None])
def test_config_files_match_the_pathlib_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str | None
) -> None:
    project = tmp_path / "ws" / "crates" / "a"
    project.mkdir(parents=True)
    (tmp_path / "ws" / ".cargo").mkdir()
    (tmp_path / "ws" / ".cargo" / "config").write_text("[source]\n")
    (project / ".cargo").mkdir()
    (project / ".cargo" / "config.toml").write_text("[source]\n")
    (tmp_path / "home").mkdir()
    # $CARGO_HOME's config is the workspace's, through a symlink: listed once.
    (tmp_path / "home" / "config.toml").symlink_to(tmp_path / "ws" / ".cargo" / "config")
    monkeypatch.chdir(tmp_path)
    if home is None:
        monkeypatch.delenv("CARGO_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
    else:
        monkeypatch.setenv("CARGO_HOME", str(tmp_path / "home") if home == "HOME-ABS" else home)

    for start in (project, str(project), Path("ws/crates/a"), "ws/crates/a/"):
        sources = SourceMap.discover(start)
        assert (sources.files, sources.absent) == reference(Path(start))
    assert cargo_home() == str(
        Path(os.environ["CARGO_HOME"]) if home is not None else tmp_path / "home" / ".cargo"
    )


def test_config_patches_merge_field_by_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[patch] in cargo configuration: nearer files win per field, and a relative `path` starts
    at the directory holding the `.cargo` of the file that sets it (for $CARGO_HOME/config.toml,
    $CARGO_HOME's parent), as cargo merges and resolves them."""
    from registry.config.cargo_config import CargoConfig
    from registry.workspace import config_patches

    project = tmp_path / "ws" / "app"
    (project / ".cargo").mkdir(parents=True)
    (project / ".cargo" / "config.toml").write_text(
        '[patch.crates-io]\nlog = { version = "0.4.9" }\nserde = "1.0.1"\n'
    )
    (tmp_path / "ws" / ".cargo").mkdir()
    (tmp_path / "ws" / ".cargo" / "config").write_text(
        '[patch.crates-io]\nlog = { path = "vendor/log", version = "0.1" }\n'
    )
    (tmp_path / "ws" / ".cargo" / "config.toml").write_text(  # ignored: `config` is read
        '[patch.crates-io]\nrand = { path = "nowhere" }\n'
    )
    home = tmp_path / "home" / ".cargo"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[patch.crates-io]\nlibc = { path = "libc" }\n')
    monkeypatch.setenv("CARGO_HOME", str(home))
    patches = config_patches(CargoConfig.discover(project))
    by_name = {p.name: p for p in patches}
    assert sorted(by_name) == ["libc", "log", "serde"]
    log = by_name["log"]
    assert log.fields == {"version": "0.4.9", "path": "vendor/log"}
    assert log.roots == {"version": str(project), "path": str(tmp_path / "ws")}
    assert by_name["serde"].fields == {"version": "1.0.1"}
    assert by_name["libc"].roots == {"path": str(tmp_path / "home")}
