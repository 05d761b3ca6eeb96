"""Index lines cargo keeps although they are not valid UTF-8 JSON throughout (a stray byte in
``cksum``, a lone surrogate escape, ``1e400``): the cache keeps them too
(registry/index/index_file.py, byte-identical to cargo: tests/test_cargo_compat.py), and every
command classifies them as cargo does (query/entry.py): a stray byte or a lone surrogate in
``cksum`` makes the entry "invalid" (cargo's ``IndexSummary::Invalid``: queries skip it, an exact
query shows its status, validate reports ``invalid-entry``), while ``1e400`` in a field cargo
does not know is skipped: that version is usable. Never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.format import iter_keys
from query.entry import CANDIDATE, INVALID
from registry.api import Registry
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import registry_argv, run_one

GOOD = {"name": "odd", "vers": "1.0.0", "deps": [], "cksum": "a" * 64, "features": {}}
ODD = {
    "1.0.1": b'{"name":"odd","vers":"1.0.1","deps":[],"cksum":"\xff\xfe","features":{}}',
    "1.0.2": b'{"name":"odd","vers":"1.0.2","deps":[],"cksum":"\\ud800","features":{}}',
    "1.0.3": b'{"name":"odd","vers":"1.0.3","deps":[],"cksum":"00","features":{},"x":1e400}',
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "index"
    (root / "3" / "o").mkdir(parents=True)
    (root / "config.json").write_text('{"dl":"https://crates.invalid/api/v1/crates"}')
    lines = [json.dumps(GOOD, separators=(",", ":")).encode(), *ODD.values()]
    (root / "3" / "o" / "odd").write_bytes(b"\n".join(lines) + b"\n")
    with IndexServer(root) as srv:
        yield srv


#: cargo's status of each odd line (tests/fixtures/cargo_index_lines.json has these cases).
STATUS = {"1.0.1": INVALID, "1.0.2": INVALID, "1.0.3": CANDIDATE}


def test_api_keeps_and_classifies_them(server: IndexServer, tmp_path: Path) -> None:
    with Registry("sparse+" + server.url, tmp_path / "cache") as reg:
        rows = reg.versions("odd")
        assert [(r.text, r.status) for r in rows] == [("1.0.0", CANDIDATE), *STATUS.items()]
        data = reg.load(["odd"])["odd"]
        assert isinstance(data, bytes)
        assert iter_keys(data) == ["1.0.0", *ODD]
        # queries skip the invalid ones like any version that is not a candidate ...
        assert reg.query("odd").vers == "1.0.3"
        assert reg.query("odd", "<1.0.3").vers == "1.0.0"
        entries = reg.query_all("odd")
        assert [(e.vers, e.status) for e in entries] == [("1.0.0", CANDIDATE), *STATUS.items()]
        assert [e.raw for e in entries[1:]] == list(ODD.values())
        # ... and asking for one exactly gives its entry and status
        for version, status in STATUS.items():
            entry = reg.get("odd", version)
            assert entry.status == status
            assert (entry.problem is None) == (status == CANDIDATE)


@pytest.mark.parametrize(
    "args",
    [
        ("query", "odd"),
        ("versions", "odd"),
        ("query", "odd@*", "--all"),
        ("validate", "LOCK"),
    ],
    ids=["query", "versions", "query-all", "validate-good"],
)
def test_cli_answers_despite_them(
    server: IndexServer, tmp_path: Path, args: tuple[str, ...]
) -> None:
    if args[0] == "validate":
        args = ("validate", str(lockfile(tmp_path, "1.0.0")))
    result = run_one(registry_argv(server.url, tmp_path / "cache", *args), tmp_path / "home")
    assert result.code == 0, result.describe()
    assert not result.stderr


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("version", list(ODD))
def test_cli_exact_query_shows_the_status(
    server: IndexServer, tmp_path: Path, version: str, offline: bool
) -> None:
    cache, home = tmp_path / "cache", tmp_path / "home"
    if offline:
        assert run_one(registry_argv(server.url, cache, "fetch", "odd"), home).code == 0
    argv = registry_argv(server.url, cache, "query", f"odd=={version}")
    if offline:
        argv.insert(3, "--offline")
    result = run_one(argv, home)
    assert result.code == 0, result.describe()
    lines = result.stdout.splitlines()
    assert lines[0] == f"odd {version}"
    assert (lines[1].startswith("status: invalid")) == (STATUS[version] == INVALID), lines


@pytest.mark.parametrize("version", list(ODD))
def test_validate_reports_the_invalid_ones(
    server: IndexServer, tmp_path: Path, version: str
) -> None:
    lock = lockfile(tmp_path, version)
    argv = registry_argv(server.url, tmp_path / "cache", "validate", str(lock))
    result = run_one(argv, tmp_path / "home")
    if STATUS[version] == INVALID:
        assert result.code == 1, result.describe()
        assert "index entry is invalid" in result.stdout
        # the annotation points at the package's [[package]] line (line 3 of the lockfile)
        github = run_one([*argv, "--format", "github"], tmp_path / "home")
        assert github.code == 1
        assert "::error file=" in github.stdout and ",line=3" in github.stdout, github.stdout
    else:  # usable, but the lock's checksum is not the index's "00"
        assert result.code == 1, result.describe()
        assert "checksum" in result.stdout


def lockfile(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "Cargo.lock"
    path.write_text(
        "version = 3\n\n[[package]]\n"
        f'name = "odd"\nversion = "{version}"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        f'checksum = "{"a" * 64}"\n'
    )
    return path
