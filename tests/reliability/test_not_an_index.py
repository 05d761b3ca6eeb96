"""A server that answers an index path with something that is not an index file (issue 12).

A captive portal's HTML page, binary junk or an empty body, with status 200: not one line of it
is an index entry cargo could read. That is "could not check" (exit 3, ``unknown`` naming the
reason), never "the crate has no such version" (exit 1), and nothing is cached: neither the
page nor the loss of a good entry cached before. A file with one good line among junk is an
index file (cargo keeps that line): cached, and its other versions are missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.api import Registry
from registry.errors import NotAnIndexFileError, NotFoundError, UnusableCrateError
from tests.checkutil import cksum, line
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import cache_files, registry_argv, run_one

GOOD = json.dumps(line("odd", "1.0.0"), separators=(",", ":")).encode()

BODIES = {
    "html": b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n"
    b"<body>Please log in.</body></html>\n",
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "blank-lines": b"\n\r\n \n",
    "json-but-no-entry": b'{"message": "not found"}\n[1, 2]\n',
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "index"
    (root / "3" / "o").mkdir(parents=True)
    (root / "config.json").write_text('{"dl":"https://crates.invalid/api/v1/crates"}')
    (root / "3" / "o" / "odd").write_bytes(GOOD + b"\n")
    with IndexServer(root) as srv:
        yield srv


def lockfile(tmp_path: Path) -> Path:
    path = tmp_path / "Cargo.lock"
    path.write_text(
        "version = 3\n\n[[package]]\n"
        'name = "odd"\nversion = "1.0.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
        f'checksum = "{cksum("odd", "1.0.0")}"\n'
    )
    return path


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_api_says_could_not_check_and_caches_nothing(
    server: IndexServer, tmp_path: Path, body: bytes
) -> None:
    server.write("3/o/odd", body)
    cache = tmp_path / "cache"
    with Registry("sparse+" + server.url, cache) as reg, pytest.raises(NotAnIndexFileError) as err:
        reg.get("odd", "1.0.0")
    assert err.value.exit_code == 3
    assert "is not an index file" in str(err.value)
    assert "3/o/odd" in str(err.value)
    assert cache_files(cache) == {}
    assert not list(cache.rglob("fresh/**/odd"))


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_validate_is_unknown_and_names_the_reason(
    server: IndexServer, tmp_path: Path, body: bytes
) -> None:
    server.write("3/o/odd", body)
    argv = registry_argv(
        server.url, tmp_path / "cache", "validate", str(lockfile(tmp_path)), "--format", "json"
    )
    result = run_one(argv, tmp_path / "home")
    assert result.code == 3, result.describe()
    (package,) = json.loads(result.stdout)["packages"]
    assert package["status"] == "unknown"
    (problem,) = package["problems"]
    assert problem["code"] == "unknown" and "is not an index file" in problem["message"]
    assert cache_files(tmp_path / "cache") == {}


def test_a_good_cached_entry_is_kept(server: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with Registry("sparse+" + server.url, cache) as reg:
        assert reg.get("odd", "1.0.0").vers == "1.0.0"
    before = cache_files(cache)
    server.write("3/o/odd", BODIES["html"])
    with (
        Registry("sparse+" + server.url, cache, refresh=True) as reg,
        pytest.raises(NotAnIndexFileError),
    ):
        reg.get("odd", "1.0.0")
    assert cache_files(cache) == before


def test_one_good_line_among_junk_is_an_index_file(server: IndexServer, tmp_path: Path) -> None:
    server.write("3/o/odd", BODIES["html"] + GOOD + b"\n" + b"\xff\xfe junk\n")
    with Registry("sparse+" + server.url, tmp_path / "cache") as reg:
        assert reg.get("odd", "1.0.0").vers == "1.0.0"
        with pytest.raises(NotFoundError):
            reg.get("odd", "2.0.0")
    assert len(cache_files(tmp_path / "cache")) == 1


def test_a_local_index_file_that_is_not_one(tmp_path: Path) -> None:
    root = tmp_path / "local"
    (root / "3" / "o").mkdir(parents=True)
    (root / "3" / "o" / "odd").write_bytes(BODIES["html"])
    with Registry(str(root), tmp_path / "cache") as reg, pytest.raises(NotAnIndexFileError):
        reg.get("odd", "1.0.0")
    assert cache_files(tmp_path / "cache") == {}


# --- a file cargo crashes on ---------------------------------------------------------------------

CRASH = json.dumps(
    line(
        "odd",
        "1.0.1",
        deps=[
            {
                "name": "",
                "req": "^1",
                "features": [],
                "optional": False,
                "default_features": True,
                "target": None,
                "kind": "normal",
            }
        ],
    ),
    separators=(",", ":"),
).encode()


def test_a_line_cargo_crashes_on_makes_every_version_unusable(
    server: IndexServer, tmp_path: Path
) -> None:
    """cargo 1.95 panics on a dependency with an empty name while it parses the file, before
    it caches anything: no version of the crate is usable (tests/test_cargo_probe.py checks
    this with cargo), and nothing is cached."""
    server.write("3/o/odd", GOOD + b"\n" + CRASH + b"\n")
    argv = registry_argv(
        server.url, tmp_path / "cache", "validate", str(lockfile(tmp_path)), "--format", "json"
    )
    result = run_one(argv, tmp_path / "home")
    assert result.code == 1, result.describe()
    (package,) = json.loads(result.stdout)["packages"]
    (problem,) = package["problems"]
    assert problem["code"] == "invalid-entry"
    assert "cargo 1.95 crashes reading the index file of odd" in problem["message"]
    assert "1.0.1" in problem["message"]
    assert cache_files(tmp_path / "cache") == {}
    with (
        Registry("sparse+" + server.url, tmp_path / "cache") as reg,
        pytest.raises(UnusableCrateError),
    ):
        reg.get("odd", "1.0.0")
