"""Index lines cargo keeps although they are not valid UTF-8 JSON throughout (a stray byte in
``cksum``, a lone surrogate escape, ``1e400``): the cache keeps them too
(registry/index/index_file.py, byte-identical to cargo: tests/test_cargo_compat.py), and every
command handles them: the version
exists but its entry is "invalid" (cargo's ``IndexSummary::Invalid``): queries skip it, an exact
query of it is one error line (exit 3), never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.format import iter_keys
from query.entry import CANDIDATE, INVALID
from registry.api import Registry
from registry.errors import CacheEntryError
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


def test_api_keeps_them_as_invalid_versions(server: IndexServer, tmp_path: Path) -> None:
    with Registry("sparse+" + server.url, tmp_path / "cache") as reg:
        assert [str(v.version) for v in reg.versions("odd")] == ["1.0.0", *ODD]
        data = reg.load(["odd"])["odd"]
        assert isinstance(data, bytes)
        assert iter_keys(data) == ["1.0.0", *ODD]
        # queries skip them like any version that is not a candidate ...
        assert reg.query("odd").vers == "1.0.0"
        entries = reg.query_all("odd")
        assert [(e.vers, e.status) for e in entries] == [
            ("1.0.0", CANDIDATE),
            *((version, INVALID) for version in ODD),
        ]
        assert [e.raw for e in entries[1:]] == list(ODD.values())
        # ... and asking for one exactly is an error naming it (exit 3), as for cargo.
        for version in ODD:
            with pytest.raises(CacheEntryError, match=f"odd {version} is an invalid index line"):
                reg.get("odd", version)
        assert reg.get("odd", "1.0.0").status == CANDIDATE


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
def test_cli_exact_query_of_one_is_one_error(
    server: IndexServer, tmp_path: Path, version: str, offline: bool
) -> None:
    cache, home = tmp_path / "cache", tmp_path / "home"
    if offline:
        assert run_one(registry_argv(server.url, cache, "fetch", "odd"), home).code == 0
    argv = registry_argv(server.url, cache, "query", f"odd=={version}")
    if offline:
        argv.insert(3, "--offline")
    result = run_one(argv, home)
    assert result.code == 3, result.describe()
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cache entry for odd"), result.stderr
    assert "invalid index line" in lines[0] or offline, lines[0]


def lockfile(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "Cargo.lock"
    path.write_text(
        "version = 3\n\n[[package]]\n"
        f'name = "odd"\nversion = "{version}"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        f'checksum = "{"a" * 64}"\n'
    )
    return path
