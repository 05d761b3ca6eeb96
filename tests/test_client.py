"""The `Registry` API against the real threaded test server (tests/httpserver.py) on 127.0.0.1.

Every test counts the requests the server logged; none sleeps or measures time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import registry
import registry.api as client_module
from cache.dirhash import source_dir_name
from cache.format import iter_keys, parse, read_header, serialize
from cache.integrity import XATTR
from cache.store import CACHEDIR_TAG
from query.names import index_path
from registry.api import Registry
from registry.errors import (
    AuthError,
    CacheEntryError,
    NotFoundError,
    OfflineError,
    OtherPackageError,
    RegistryConfigError,
    RegistryError,
)
from tests.checkutil import cksum, line
from tests.httpserver import Fault, IndexServer

TOKEN = "tok-3f9a7c1e5b"

MakeIndexDir = Callable[..., Path]


FOO = [
    line("foo", "0.9.0"),
    line(
        "foo",
        "1.0.0",
        deps=[
            {
                "name": "bar",
                "req": "^1",
                "features": [],
                "optional": False,
                "default_features": True,
                "target": None,
                "kind": "normal",
            }
        ],
    ),
    line("foo", "1.1.0", features={"std": [], "default": ["std"]}),
    line("foo", "1.2.0"),
    line("foo", "1.2.5"),
    line("foo", "1.3.0", yanked=True),
    line("foo", "1.4.0", v=3),
    line("foo", "2.0.0-alpha.1"),
]
BAR = [line("bar", "1.0.0"), line("bar", "1.0.1")]
BM = [line("bm", "110.0.0"), line("bm", "110.0.0+1.1.0f", cksum="f" * 64)]


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")


@pytest.fixture
def index(make_index_dir: MakeIndexDir) -> Path:
    return make_index_dir({"foo": FOO, "bar": BAR, "bm": BM})


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def open_registry(cache: Path) -> Iterator[Callable[..., Registry]]:
    made: list[Registry] = []

    def make(url: str | Path, **kwargs: Any) -> Registry:
        kwargs.setdefault("cache_dir", cache)
        reg = Registry(str(url), **kwargs)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.close()


def index_dir(cache: Path, server: IndexServer) -> Path:
    return cache / "registry" / "index" / source_dir_name("sparse+" + server.url)


def cache_file(cache: Path, server: IndexServer, name: str) -> Path:
    return index_dir(cache, server) / ".cache" / index_path(name)


def inm(server: IndexServer, rel: str) -> list[str | None]:
    """The If-None-Match header of each request for rel, in order."""
    return [r.header("If-None-Match") for r in server.requests_for(rel)]


class Counter:
    """Wraps a callable and counts its calls (and remembers the first argument of each)."""

    def __init__(self, wrapped: Callable[..., Any], into: Counter | None = None) -> None:
        self.wrapped = wrapped
        self.args: list[Any] = [] if into is None else into.args  # ``into`` counts these too

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.args.append(args[0] if args else None)
        return self.wrapped(*args, **kwargs)

    @property
    def calls(self) -> int:
        return len(self.args)


@pytest.fixture
def count_entries(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts index lines classified by the registry (query.entry.entry_from_line)."""
    counter = Counter(client_module.entry_from_line)
    monkeypatch.setattr(client_module, "entry_from_line", counter)
    return counter


@pytest.fixture
def count_loads(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts index lines parsed by orjson (the cache builder of large downloads)."""
    counter = Counter(orjson.loads)
    monkeypatch.setattr(orjson, "loads", counter)
    return counter


# --- cold fetch, cache layout, revalidation ------------------------------------------------------


def test_cold_fetch_writes_cargo_layout(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    reg = open_registry(index_server.url)
    entry = reg.get("foo", "1.0.0")
    assert (entry.name, entry.vers, entry.cksum) == ("foo", "1.0.0", cksum("foo", "1.0.0"))

    directory = index_dir(cache, index_server)
    assert directory.name.startswith("127.0.0.1-")
    assert len(directory.name.split("-", 1)[1]) == 16
    assert Path(reg.store.dir_path) == directory
    assert (directory / "config.json").read_bytes() == (index / "config.json").read_bytes()
    assert (cache / "registry" / "CACHEDIR.TAG").read_bytes() == CACHEDIR_TAG

    data = (directory / ".cache" / "3" / "f" / "foo").read_bytes()
    version, _ = read_header(data)
    assert version == "etag: " + index_server.etag_for("3/f/foo")
    assert version.startswith('etag: "')
    summaries = parse(data)
    raw_lines = (index / "3/f/foo").read_bytes().split(b"\n")[:-1]
    assert summaries.entries == [(d["vers"], r) for d, r in zip(FOO, raw_lines, strict=True)]
    # config.json first, then the file; each once.
    assert [r.rel for r in index_server.requests] == ["config.json", "3/f/foo"]


def test_second_instance_revalidates_with_etag(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    before = cache_file(cache, index_server, "foo").read_bytes()
    reg = open_registry(index_server.url)
    assert reg.get("foo", "1.1.0").vers == "1.1.0"
    assert inm(index_server, "3/f/foo") == [None, index_server.etag_for("3/f/foo")]
    assert reg.unchanged == 1 and reg.downloaded == 0
    # config.json is cached: not requested again.
    assert len(index_server.requests_for("config.json")) == 1
    assert cache_file(cache, index_server, "foo").read_bytes() == before


@pytest.mark.parametrize("index_server", [{"etag": False}], indirect=True)
def test_last_modified_revalidation(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    data = cache_file(cache, index_server, "foo").read_bytes()
    assert read_header(data)[0] == "last-modified: " + index_server.last_modified_for("3/f/foo")
    open_registry(index_server.url).get("foo", "1.0.0")
    [first, second] = index_server.requests_for("3/f/foo")
    assert first.header("If-Modified-Since") is None
    assert second.header("If-Modified-Since") == index_server.last_modified_for("3/f/foo")
    assert second.header("If-None-Match") is None


def test_request_headers_on_the_wire(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    for request in index_server.requests:
        assert request.header("User-Agent") == f"registry/{registry.__version__}"
        assert request.header("cargo-protocol") == "version=1"
        assert request.header("accept") == "text/plain"
        assert request.header("Authorization") is None


def test_one_request_per_file_per_instance(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    reg = open_registry(index_server.url)
    reg.get("foo", "1.0.0")
    reg.get("foo", "1.1.0")
    reg.query("foo")
    reg.query("foo", "^1.0")
    reg.query_all("foo", "*")
    reg.versions("foo")
    reg.fetch(["foo", "Foo", "bar"])
    with pytest.raises(NotFoundError):
        reg.get("foo", "9.9.9")  # already revalidated in this run: no second request
    reg.get("bar", "1.0.1")
    assert len(index_server.requests_for("3/f/foo")) == 1
    assert len(index_server.requests_for("3/b/bar")) == 1
    assert len(index_server.requests_for("config.json")) == 1


def test_lowercased_path(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    # The file is found by the lowercased name, but its lines are `foo`'s: cargo matches names
    # exactly, so `FOO` has no version there.
    with pytest.raises(OtherPackageError, match="named 'foo'") as caught:
        open_registry(index_server.url).get("FOO", "1.2.0")
    assert caught.value.exit_code == 1
    assert [r.path for r in index_server.requests_for("3/f/foo")] == ["/3/f/foo"]


@pytest.mark.parametrize("index_server", [{"max_age": 60}], indirect=True)
def test_within_max_age_no_request(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    index_server.clear_requests()
    reg = open_registry(index_server.url)
    assert reg.get("foo", "1.2.0").vers == "1.2.0"
    assert reg.query("foo").vers == "1.2.5"
    assert index_server.requests == []
    assert reg.requests_made == 0


@pytest.mark.parametrize("index_server", [{"max_age": 60}], indirect=True)
def test_refresh_forces_a_conditional_request(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    index_server.clear_requests()
    reg = open_registry(index_server.url, refresh=True)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    assert inm(index_server, "3/f/foo") == [index_server.etag_for("3/f/foo")]
    assert reg.unchanged == 1


@pytest.mark.parametrize("index_server", [{"max_age": 60}], indirect=True)
def test_missing_version_in_fresh_cache_revalidates_once(
    index: Path,
    index_server: IndexServer,
    make_index_dir: MakeIndexDir,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    open_registry(index_server.url).get("foo", "1.0.0")
    old_etag = index_server.etag_for("3/f/foo")
    make_index_dir({"foo": [*FOO, line("foo", "1.5.0")]})
    index_server.clear_requests()

    reg = open_registry(index_server.url)
    assert reg.get("foo", "1.5.0").vers == "1.5.0"
    assert inm(index_server, "3/f/foo") == [old_etag]
    assert "1.5.0" in iter_keys(cache_file(cache, index_server, "foo").read_bytes())

    # Truly missing: one revalidation (304) in a fresh instance, then NotFoundError.
    index_server.clear_requests()
    reg = open_registry(index_server.url)
    with pytest.raises(NotFoundError, match=r"9\.9\.9"):
        reg.get("foo", "9.9.9")
    with pytest.raises(NotFoundError):
        reg.get("foo", "9.9.8")
    assert inm(index_server, "3/f/foo") == [index_server.etag_for("3/f/foo")]


def test_not_found_deletes_the_cache_file(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).get("bar", "1.0.0")
    path = cache_file(cache, index_server, "bar")
    assert path.is_file()
    (index / "3/b/bar").unlink()
    reg = open_registry(index_server.url)
    with pytest.raises(NotFoundError, match="bar"):
        reg.get("bar", "1.0.0")
    assert not path.exists()
    assert len(index_server.requests_for("3/b/bar")) == 2


@pytest.mark.parametrize("status", [410, 451])
def test_gone_and_unavailable_are_not_found(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    status: int,
) -> None:
    open_registry(index_server.url).get("bar", "1.0.0")
    index_server.faults["3/b/bar"] = [Fault.status(status)]
    with pytest.raises(NotFoundError):
        open_registry(index_server.url).get("bar", "1.0.0")
    assert not cache_file(cache, index_server, "bar").exists()


def test_missing_crate_is_not_found_and_nothing_is_cached(
    index: Path, index_server: IndexServer, cache: Path, open_registry: Callable[..., Registry]
) -> None:
    reg = open_registry(index_server.url)
    with pytest.raises(NotFoundError, match="nope"):
        reg.query("nope")
    assert not cache_file(cache, index_server, "nope").exists()


def test_server_errors_are_retried(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    index_server.faults["3/f/foo"] = [Fault.status(503), Fault.status(500)]
    assert open_registry(index_server.url).get("foo", "1.0.0").vers == "1.0.0"
    assert len(index_server.requests_for("3/f/foo")) == 3


def test_persistent_server_error_is_unavailable(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    index_server.faults["3/f/foo"] = [Fault.status(500)] * 4
    with pytest.raises(RegistryError) as info:
        open_registry(index_server.url).get("foo", "1.0.0")
    assert info.value.exit_code == 3
    assert "500" in str(info.value) and index_server.url in str(info.value)
    assert len(index_server.requests_for("3/f/foo")) == 4


# --- exact get parses one line; versions parses none ---------------------------------------------


def test_exact_get_parses_only_that_line(
    index: Path,
    index_server: IndexServer,
    open_registry: Callable[..., Registry],
    count_entries: Counter,
    count_loads: Counter,
) -> None:
    open_registry(index_server.url).fetch(["foo"])  # warm
    count_entries.args.clear()
    count_loads.args.clear()
    entry = open_registry(index_server.url).get("foo", "1.1.0")
    assert entry.vers == "1.1.0"
    assert entry.features == {"std": (), "default": ("std",)}
    assert count_entries.calls == 1
    assert count_loads.calls == 0
    assert orjson.loads(count_entries.args[0])["vers"] == "1.1.0"


def test_versions_classifies_each_version_once(
    index: Path,
    index_server: IndexServer,
    open_registry: Callable[..., Registry],
    count_entries: Counter,
    count_loads: Counter,
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    count_entries.args.clear()
    count_loads.args.clear()
    rows = open_registry(index_server.url).versions("foo")
    assert [(str(r.version), r.yanked) for r in rows] == [
        ("0.9.0", False),
        ("1.0.0", False),
        ("1.1.0", False),
        ("1.2.0", False),
        ("1.2.5", False),
        ("1.3.0", True),
        ("1.4.0", False),
        ("2.0.0-alpha.1", False),
    ]
    assert [r.status for r in rows][-3:] == ["yanked", "unsupported", "candidate"]
    # yanked is decided from each parsed line (cargo's IndexSummary::parse), not from its text
    assert count_entries.calls == len(rows)
    assert count_loads.calls == 0


# --- query semantics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        (None, "1.2.5"),  # 1.3.0 yanked, 1.4.0 v3, 2.0.0-alpha.1 pre-release
        ("^1.0", "1.2.5"),
        ("~1.2", "1.2.5"),
        ("~1.1", "1.1.0"),
        ("=1.0.0", "1.0.0"),
        ("1.0", "1.2.5"),
        ("^0.9", "0.9.0"),
        ("<1.2", "1.1.0"),
        (">=2.0.0-alpha", "2.0.0-alpha.1"),
        ("*", "1.2.5"),
    ],
)
def test_query_picks_newest_candidate(
    index: Path,
    index_server: IndexServer,
    open_registry: Callable[..., Registry],
    requirement: str | None,
    expected: str,
) -> None:
    assert open_registry(index_server.url).query("foo", requirement).vers == expected


@pytest.mark.parametrize("requirement", ["^3", "=1.3.0", "=1.4.0", ">=1.3, <1.5", "=9.9.9"])
def test_query_nothing_selectable(
    index: Path,
    index_server: IndexServer,
    open_registry: Callable[..., Registry],
    requirement: str,
) -> None:
    with pytest.raises(NotFoundError, match="foo"):
        open_registry(index_server.url).query("foo", requirement)


def test_query_skips_yanked_and_v3_and_says_why(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    with pytest.raises(NotFoundError) as info:
        open_registry(index_server.url).query("foo", ">=1.3, <1.5")
    assert "1.4.0 (unsupported)" in str(info.value)
    assert "1.3.0 (yanked)" in str(info.value)


def test_query_all_oldest_first_with_yanked(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    entries = open_registry(index_server.url).query_all("foo", "^1.2")
    assert [(e.vers, e.status) for e in entries] == [
        ("1.2.0", "candidate"),
        ("1.2.5", "candidate"),
        ("1.3.0", "yanked"),
        ("1.4.0", "unsupported"),
    ]
    assert all(json.loads(e.raw)["vers"] == e.vers for e in entries)


def test_get_returns_yanked_and_unsupported_entries(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    reg = open_registry(index_server.url)
    yanked = reg.get("foo", "1.3.0")
    assert yanked.yanked and yanked.status == "yanked"
    assert reg.get("foo", "1.4.0").status == "unsupported"
    dep = reg.get("foo", "1.0.0").deps[0]
    assert (dep.name, dep.req, dep.kind) == ("bar", "^1", "normal")


def test_build_metadata_keys_are_both_kept(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    reg = open_registry(index_server.url)
    assert reg.get("bm", "110.0.0").cksum == cksum("bm", "110.0.0")
    assert reg.get("bm", "110.0.0+1.1.0f").cksum == "f" * 64
    assert iter_keys(cache_file(cache, index_server, "bm").read_bytes()) == [
        "110.0.0",
        "110.0.0+1.1.0f",
    ]
    assert [str(v.version) for v in reg.versions("bm")] == ["110.0.0", "110.0.0+1.1.0f"]
    with pytest.raises(NotFoundError):
        reg.get("bm", "110.0.0+other")


def test_bad_lines_are_skipped_and_the_rest_kept(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    good = [json.dumps(line("gl", v), separators=(",", ":")).encode() for v in ("1.0.0", "1.2.0")]
    invalid = json.dumps({"name": "gl", "vers": "1.1.0", "cksum": "00"}).encode()  # no deps
    crlf = json.dumps(line("gl", "1.4.0")).encode() + b"\r"
    body = (
        b"\n".join(
            [
                good[0],
                b"this is not json",
                # Invalid UTF-8 in the name: cargo skips it (in an ignored field it would not).
                b'{"name":"g\xffl","vers":"1.0.5","deps":[],"cksum":"00"}',
                b'{"name":"gl","vers":"1.3","deps":[],"cksum":"00"}',  # invalid semver
                b"",
                b"[1, 2, 3]",
                b'{"name":"gl"}',
                invalid,
                good[1],
                crlf,
            ]
        )
        + b"\n"
    )
    index_server.write("2/gl", body)
    reg = open_registry(index_server.url)
    assert [str(v.version) for v in reg.versions("gl")] == ["1.0.0", "1.1.0", "1.2.0", "1.4.0"]
    summaries = parse(cache_file(cache, index_server, "gl").read_bytes())
    assert summaries.entries == [
        ("1.0.0", good[0]),
        ("1.1.0", invalid),
        ("1.2.0", good[1]),
        ("1.4.0", crlf),  # the \r stays in the blob, like cargo
    ]
    assert reg.get("gl", "1.1.0").status == "invalid"
    assert reg.get("gl", "1.4.0").status == "candidate"
    assert reg.query("gl").vers == "1.4.0"
    assert reg.query("gl", "<1.2").vers == "1.0.0"  # invalid 1.1.0 is not selectable
    with pytest.raises(NotFoundError):
        reg.get("gl", "1.0.5")


# --- offline ------------------------------------------------------------------------------------


def test_offline_missing_is_offline_error(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    reg = open_registry(index_server.url, offline=True)
    with pytest.raises(OfflineError) as info:
        reg.get("foo", "1.0.0")
    assert "run without --offline" in str(info.value)
    assert "foo" in str(info.value)
    assert info.value.exit_code == 3
    assert index_server.requests == []


def test_offline_answers_from_cache_without_requests(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    index_server.clear_requests()
    reg = open_registry(index_server.url, offline=True)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    assert reg.query("foo").vers == "1.2.5"
    with pytest.raises(NotFoundError):
        reg.get("foo", "9.9.9")  # no revalidation offline
    assert index_server.requests == []


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda d: b"",
    "truncated-header": lambda d: d[:3],
    "truncated-half": lambda d: d[: len(d) // 2],
    "truncated-last-nul": lambda d: d[:-1],
    "version-byte": lambda d: b"\x02" + d[1:],
    "index-v-max": lambda d: d[:1] + b"\x03" + d[2:],
    "garbage": lambda d: b"\x00garbage\xff" * 20,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_offline_corrupt_cache_is_cache_entry_error(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    corrupt: Callable[[bytes], bytes],
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    path = cache_file(cache, index_server, "foo")
    path.write_bytes(corrupt(path.read_bytes()))
    reg = open_registry(index_server.url, offline=True)
    for call in (
        lambda: reg.get("foo", "1.0.0"),
        lambda: reg.query("foo"),
        lambda: reg.versions("foo"),
    ):
        with pytest.raises(CacheEntryError) as info:
            call()
        assert "foo" in str(info.value)
        assert info.value.exit_code == 3


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_online_corrupt_cache_is_refetched_unconditionally(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    corrupt: Callable[[bytes], bytes],
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    path = cache_file(cache, index_server, "foo")
    good = path.read_bytes()
    path.write_bytes(corrupt(good))
    index_server.clear_requests()
    reg = open_registry(index_server.url)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    assert inm(index_server, "3/f/foo") == [None]
    assert path.read_bytes() == good


def _foreign_cache(server: IndexServer, key: str, blob: bytes) -> bytes:
    """A well-formed cache file for foo whose key maps to a line of something else."""
    version = "etag: " + server.etag_for("3/f/foo")
    return serialize(version, [("0.9.0", orjson.dumps(FOO[0])), (key, blob)])


def _plant(cache: Path, server: IndexServer, data: bytes, keep_sidecars: bool) -> Path:
    """Replace foo's cache file. Without our sidecars the file reads as cargo-written, so only
    the per-line name/version check stands between it and a wrong answer."""
    path = cache_file(cache, server, "foo")
    path.write_bytes(data)  # in place, as cargo writes: the xattr record stays
    if not keep_sidecars:
        shutil.rmtree(index_dir(cache, server) / ".registry", ignore_errors=True)
        with contextlib.suppress(OSError):
            os.removexattr(path, XATTR)
    return path


SIDECARS = pytest.mark.parametrize("keep_sidecars", [True, False], ids=["ours", "cargo-written"])


FOREIGN = {
    "other-version": orjson.dumps(line("foo", "1.1.0")),
    "not-json": b"{not json",
    "not-an-object": b"[1,2]",
}


@SIDECARS
@pytest.mark.parametrize("blob", list(FOREIGN.values()), ids=list(FOREIGN))
def test_mismatched_blob_online_is_refetched(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    blob: bytes,
    keep_sidecars: bool,
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    good = cache_file(cache, index_server, "foo").read_bytes()
    path = _plant(cache, index_server, _foreign_cache(index_server, "1.0.0", blob), keep_sidecars)
    index_server.clear_requests()
    entry = open_registry(index_server.url).get("foo", "1.0.0")
    assert (entry.name, entry.vers, entry.cksum) == ("foo", "1.0.0", cksum("foo", "1.0.0"))
    assert path.read_bytes() == good
    assert index_server.requests_for("3/f/foo")[-1].header("If-None-Match") is None


@SIDECARS
@pytest.mark.parametrize("blob", list(FOREIGN.values()), ids=list(FOREIGN))
def test_mismatched_blob_online_query_is_refetched(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    blob: bytes,
    keep_sidecars: bool,
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    _plant(cache, index_server, _foreign_cache(index_server, "1.2.5", blob), keep_sidecars)
    entry = open_registry(index_server.url).query("foo", "^1.2")
    assert (entry.name, entry.vers, entry.cksum) == ("foo", "1.2.5", cksum("foo", "1.2.5"))


@SIDECARS
@pytest.mark.parametrize("blob", list(FOREIGN.values()), ids=list(FOREIGN))
def test_mismatched_blob_offline_is_cache_entry_error(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    blob: bytes,
    keep_sidecars: bool,
) -> None:
    open_registry(index_server.url).fetch(["foo"])
    _plant(cache, index_server, _foreign_cache(index_server, "1.0.0", blob), keep_sidecars)
    reg = open_registry(index_server.url, offline=True)
    with pytest.raises(CacheEntryError, match="foo"):
        reg.get("foo", "1.0.0")
    with pytest.raises(CacheEntryError, match="foo"):
        reg.query("foo", "=1.0.0")
    if keep_sidecars:  # our sidecar says the file changed behind our back: all of it is suspect
        with pytest.raises(CacheEntryError, match="foo"):
            reg.get("foo", "0.9.0")
    else:  # a cargo-written file: the intact line still answers
        assert reg.get("foo", "0.9.0").vers == "0.9.0"


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_another_crates_line_is_another_package(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    offline: bool,
) -> None:
    """A cargo-written cache file whose 1.0.0 line names `bar`: cargo matches names exactly, so
    foo has no version 1.0.0 there (not found, exit 1), online or offline; no refetch (online,
    only the usual conditional revalidation)."""
    open_registry(index_server.url).fetch(["foo"])
    data = _foreign_cache(index_server, "1.0.0", orjson.dumps(line("bar", "1.0.0")))
    _plant(cache, index_server, data, keep_sidecars=False)
    index_server.clear_requests()
    reg = open_registry(index_server.url, offline=offline)
    with pytest.raises(OtherPackageError, match="named 'bar'"):
        reg.get("foo", "1.0.0")
    assert reg.get("foo", "0.9.0").vers == "0.9.0"
    requests = index_server.requests_for("3/f/foo")
    assert all(r.header("If-None-Match") for r in requests)
    assert len(requests) == (0 if offline else 1)


# --- authentication ------------------------------------------------------------------------------

AUTH_CONFIG = {"dl": "https://crates.invalid/api/v1/crates", "auth-required": True}


@pytest.fixture
def auth_index(make_index_dir: MakeIndexDir) -> Path:
    return make_index_dir({"foo": FOO, "bar": BAR}, config=AUTH_CONFIG)


@pytest.mark.parametrize("index_server", [{"auth_token": TOKEN}], indirect=True)
def test_auth_without_token(
    auth_index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    with pytest.raises(AuthError) as info:
        open_registry(index_server.url).get("foo", "1.0.0")
    assert "--token" in str(info.value)
    assert info.value.exit_code == 3
    # without a token, the index file goes in config.json's batch; nothing is sent twice
    assert sorted(r.rel or "" for r in index_server.requests) == ["3/f/foo", "config.json"]
    assert all(r.header("Authorization") is None for r in index_server.requests)


@pytest.mark.parametrize("index_server", [{"auth_token": TOKEN}], indirect=True)
def test_auth_with_wrong_token(
    auth_index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    with pytest.raises(AuthError) as info:
        open_registry(index_server.url, token="wrong-token-123").get("foo", "1.0.0")
    assert "rejected" in str(info.value)
    assert "wrong-token-123" not in str(info.value)


@pytest.mark.parametrize("index_server", [{"auth_token": TOKEN}], indirect=True)
def test_auth_with_token(
    auth_index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
) -> None:
    reg = open_registry(index_server.url, token=TOKEN)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    assert reg.query("bar").vers == "1.0.1"
    requests = index_server.requests
    assert [r.rel for r in requests] == ["config.json", "config.json", "3/f/foo", "3/b/bar"]
    assert requests[0].header("Authorization") is None
    assert all(r.header("Authorization") == TOKEN for r in requests[1:])
    # The token is never written to the cache.
    for path in cache.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    # A second run knows auth is required from the cached config.json: no 401 dance.
    index_server.clear_requests()
    open_registry(index_server.url, token=TOKEN).get("foo", "1.1.0")
    assert [(r.rel, r.header("Authorization")) for r in index_server.requests] == [
        ("3/f/foo", TOKEN)
    ]


@pytest.mark.parametrize("index_server", [{"auth_token": TOKEN}], indirect=True)
def test_auth_token_not_sent_to_another_host_on_redirect(
    auth_index: Path,
    index_server: IndexServer,
    tmp_path: Path,
    make_index_dir: MakeIndexDir,
    open_registry: Callable[..., Registry],
) -> None:
    mirror_root = make_index_dir({"bar": BAR}, root=tmp_path / "mirror")
    with IndexServer(mirror_root) as mirror:
        index_server.faults["3/b/bar"] = [Fault.redirect(mirror.url + "3/b/bar")]
        reg = open_registry(index_server.url, token=TOKEN)
        assert reg.get("bar", "1.0.0").vers == "1.0.0"
        [hop] = mirror.requests
        assert hop.rel == "3/b/bar"
        assert hop.header("Authorization") is None
        assert all(TOKEN not in value for _, value in hop.headers)
        assert index_server.requests_for("3/b/bar")[0].header("Authorization") == TOKEN


@pytest.mark.parametrize(
    "index_server", [{"auth_token": TOKEN, "auth_paths": ["3/f/foo"]}], indirect=True
)
def test_auth_required_in_config_without_token(
    auth_index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    with pytest.raises(RegistryConfigError) as info:
        open_registry(index_server.url).get("foo", "1.0.0")
    text = str(info.value)
    assert "auth-required" in text and "--token" in text
    # the file went in config.json's batch, without a token, and only once
    assert [r.header("Authorization") for r in index_server.requests_for("3/f/foo")] == [None]


class Batches:
    """A transport that records which index paths each `perform` call carried."""

    def __init__(self, server: IndexServer) -> None:
        from registry.transport import open_transport

        self.inner = open_transport(10.0, None)
        self.prefix = server.url
        self.batches: list[list[str]] = []

    def perform(self, requests: Any, *args: Any) -> Any:
        self.batches.append(sorted(r.url.removeprefix(self.prefix) for r in requests))
        return self.inner.perform(requests, *args)

    def close(self) -> None:
        self.inner.close()


def test_config_json_goes_in_the_first_batch(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    """Cold, and on --refresh with config.json stored: config.json costs no round trip of its
    own; without --refresh the stored copy is used, not asked for."""
    both, files = ["3/b/bar", "3/f/foo", "config.json"], ["3/b/bar", "3/f/foo"]
    for refresh, expected in ((False, both), (True, both), (False, files)):
        batches = Batches(index_server)
        reg = open_registry(index_server.url, transport=batches, refresh=refresh)
        assert reg.fetch(["foo", "bar"]).errors == {}
        assert batches.batches == [expected], refresh


@pytest.mark.parametrize("index_server", [{"auth_token": TOKEN}], indirect=True)
def test_refresh_sends_the_token_when_the_stored_config_asked_for_it(
    auth_index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    open_registry(index_server.url, token=TOKEN).fetch(["foo", "bar"])
    index_server.clear_requests()
    batches = Batches(index_server)
    reg = open_registry(index_server.url, token=TOKEN, transport=batches, refresh=True)
    report = reg.fetch(["foo", "bar"])
    assert report.unchanged == 2
    assert batches.batches == [["3/b/bar", "3/f/foo", "config.json"]]
    assert {r.header("Authorization") for r in index_server.requests} == {TOKEN}


def test_config_json_that_turns_auth_on_redoes_the_batch_with_the_token(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    """A --refresh finds config.json now says auth-required: what went without the token in
    its batch is asked again with it."""
    open_registry(index_server.url, token=TOKEN).fetch(["foo"])
    index_server.write("config.json", json.dumps(AUTH_CONFIG))
    index_server.auth_token = TOKEN
    index_server.clear_requests()
    batches = Batches(index_server)
    reg = open_registry(index_server.url, token=TOKEN, transport=batches, refresh=True)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    # (config.json itself now answers 401 without the token: cargo's dance asks again)
    assert batches.batches == [["3/f/foo", "config.json"], ["config.json"], ["3/f/foo"]]
    assert [r.header("Authorization") for r in index_server.requests_for("3/f/foo")] == [
        None,
        TOKEN,
    ]


# --- local index directories ---------------------------------------------------------------------


def _answers(reg: Registry) -> list[object]:
    return [
        (reg.get("foo", "1.0.0").raw, reg.get("bm", "110.0.0+1.1.0f").raw),
        reg.query("foo").vers,
        reg.query("foo", "~1.1").vers,
        [(e.vers, e.raw) for e in reg.query_all("foo", "*")],
        reg.versions("foo"),
        reg.versions("bm"),
        type(_error(lambda: reg.get("foo", "9.9.9"))),
        type(_error(lambda: reg.query("nope"))),
    ]


def _error(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except RegistryError as exc:
        return exc
    return None


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_index_answers_like_the_served_one(
    index: Path,
    index_server: IndexServer,
    tmp_path: Path,
    open_registry: Callable[..., Registry],
    form: str,
) -> None:
    served = _answers(open_registry(index_server.url))
    url = str(index) if form == "path" else "file://" + str(index)
    local = open_registry(url, cache_dir=tmp_path / "local-cache")
    assert _answers(local) == served
    assert local.source.kind == "local"
    assert _answers(open_registry(url, cache_dir=tmp_path / "local-cache")) == served
    assert _answers(open_registry(url, cache_dir=tmp_path / "local-cache", offline=True)) == served


def test_local_index_refreshes_when_the_file_changes(
    index: Path,
    make_index_dir: MakeIndexDir,
    tmp_path: Path,
    open_registry: Callable[..., Registry],
) -> None:
    cache_dir = tmp_path / "local-cache"
    assert open_registry(index, cache_dir=cache_dir).query("bar").vers == "1.0.1"
    make_index_dir({"bar": [*BAR, line("bar", "1.1.0")]})
    reg = open_registry(index, cache_dir=cache_dir)
    assert reg.query("bar").vers == "1.1.0"
    assert reg.get("bar", "1.1.0").vers == "1.1.0"
    (index / "3/b/bar").unlink()
    with pytest.raises(NotFoundError):
        open_registry(index, cache_dir=cache_dir).get("bar", "1.0.0")


# --- an unwritable cache -------------------------------------------------------------------------


def test_read_only_cache_still_answers_and_warns_once(
    index: Path,
    index_server: IndexServer,
    cache: Path,
    open_registry: Callable[..., Registry],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    warnings: list[str] = []
    reg = open_registry(index_server.url, warn=warnings.append)
    assert reg.get("foo", "1.0.0").vers == "1.0.0"
    assert reg.query("bar").vers == "1.0.1"
    report = reg.fetch(["foo", "bar", "bm"])
    assert report.errors == {}
    assert len(warnings) == 1, warnings
    assert "failed to write cache" in warnings[0]
    assert os.strerror(errno.EROFS) in warnings[0]
    assert not cache_file(cache, index_server, "foo").exists()


# --- fetch ---------------------------------------------------------------------------------------


def test_fetch_report(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    report = open_registry(index_server.url).fetch(["foo", "bar", "nope"])
    assert (report.downloaded, report.unchanged, report.cached) == (2, 0, 0)
    assert report.not_found == ("nope",)
    assert report.errors == {}
    report = open_registry(index_server.url).fetch(["foo", "bar"])
    assert (report.downloaded, report.unchanged, report.cached) == (0, 2, 0)


def test_cold_fetch_leaves_no_temp_files(
    make_index_dir: Any, index_server: IndexServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold fetch creates the temp files of what it will write while the requests are in
    flight (registry/index/loader.py): whatever does not come back as an index file (404, a
    server error, not an index file, a line cargo crashes on) leaves none behind, in the
    forked half of the batch too."""
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")
    crates = {f"crate{i:02d}": [line(f"crate{i:02d}", "1.0.0")] for i in range(40)}
    make_index_dir(crates)
    index_server.write(index_path("junk"), "<html>not an index</html>\n")
    crash = line("crashy", "1.0.0", deps=[{"name": "", "req": "^1"}])
    index_server.write(index_path("crashy"), json.dumps(crash) + "\n")
    index_server.faults["fa/il/failing"] = [Fault.status(500)] * 4
    names = [*crates, "nope", "junk", "crashy", "failing"]
    with Registry(index_server.url, cache_dir=cache) as reg:
        report = reg.fetch(names)
    assert report.downloaded == 40
    assert report.not_found == ("nope",)
    assert sorted(report.errors) == ["crashy", "failing", "junk"]
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert not [p for p in files if ".tmp-" in p.name]
    written = {p.name for p in files if "/.cache/" in str(p)}
    assert written == set(crates)


_KEEPS_WHAT_IT_WROTE = """
import sys
from pathlib import Path
from query.names import index_path
from registry.api import Registry
from registry.parallel import parallel_allowed
url, cache, names = sys.argv[1], sys.argv[2], sys.argv[3:]
assert parallel_allowed(len(names), 16)  # no threads here: the batch is built in two processes
with Registry(url, cache_dir=cache) as reg:
    assert reg.fetch(names).downloaded == len(names)
    loader = reg._loader
    # the fetch built none of the child's half again here: only what is read is rebuilt
    assert 0 < len(loader._unbuilt) < len(names), len(loader._unbuilt)
    assert len(loader.files_consulted()) == len(names)
    for name in names:
        kept = reg.load([name])[name]
        assert kept == Path(reg.store.cache_path(index_path(name))).read_bytes(), name
    assert not loader._unbuilt
print("same", len(names))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the batch is split by a fork")
def test_a_cold_batch_keeps_in_memory_exactly_what_it_wrote(
    make_index_dir: Any, index_server: IndexServer, cache: Path
) -> None:
    """The half built in the forked child comes back as its lines' spans, rebuilt from the
    bodies only when read (registry/index/loader.py `_build_and_write`, `_bytes`: the fetch
    rebuilds none): the bytes a later question in the same run reads are the bytes both
    processes wrote. (In a process of its own: this one runs the test server's threads, and
    a threaded process never forks.)"""
    crates = {
        f"crate{i:02d}": [line(f"crate{i:02d}", f"{v}.{i}.0") for v in (1, 2)] for i in range(40)
    }
    make_index_dir(crates)
    argv = [sys.executable, "-c", _KEEPS_WHAT_IT_WROTE, index_server.url, str(cache), *crates]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "same 40\n", "")


def test_fetch_bad_name_is_a_usage_error(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    report = open_registry(index_server.url).fetch(["foo", "../x"])
    assert list(report.errors) == ["../x"]
    assert report.errors["../x"].exit_code == 2
    assert all(r.rel in ("config.json", "3/f/foo") for r in index_server.requests)


@pytest.mark.parametrize(
    "index_server", [{"auth_token": TOKEN, "auth_paths": ["3/f/foo"]}], indirect=True
)
def test_401_on_a_file_when_config_does_not_require_auth(
    index: Path, index_server: IndexServer, open_registry: Callable[..., Registry]
) -> None:
    """Like cargo: the token is sent only when config.json says auth-required."""
    with pytest.raises(AuthError) as info:
        open_registry(index_server.url, token=TOKEN).get("foo", "1.0.0")
    assert "auth-required" in str(info.value)
    assert TOKEN not in str(info.value)
    assert all(r.header("Authorization") is None for r in index_server.requests)
    with pytest.raises(AuthError, match="--token"):
        open_registry(index_server.url).get("foo", "1.0.0")


def test_local_index_file_url_forms(
    make_index_dir: MakeIndexDir, tmp_path: Path, open_registry: Callable[..., Registry]
) -> None:
    from urllib.parse import quote

    from registry.errors import UsageError

    root = make_index_dir({"bar": BAR}, root=tmp_path / "my index")
    forms = [str(root), "file://" + quote(str(root)), "file://localhost" + quote(str(root)) + "/"]
    registries = [open_registry(form) for form in forms]
    assert {Path(reg.store.dir_path) for reg in registries} == {Path(registries[0].store.dir_path)}
    assert [reg.query("bar").vers for reg in registries] == ["1.0.1"] * 3
    with pytest.raises(UsageError, match="remote host"):
        open_registry("file://elsewhere" + quote(str(root)))


@pytest.mark.parametrize(
    "config",
    [b"<html>portal</html>", b'{"no-dl": 1}', json.dumps(AUTH_CONFIG).encode()],
    ids=["not-json", "no-dl", "auth-required-without-token"],
)
def test_nothing_is_written_before_config_json_answers_usably(
    make_index_dir: MakeIndexDir,
    index_server: IndexServer,
    tmp_path: Path,
    config: bytes,
) -> None:
    """The downloads that went in config.json's batch wait for its answer: a config.json that
    is not one, or that asks for a token the batch went without, leaves the cache empty."""
    crates: dict[str, Any] = {f"c{i:02}": [line(f"c{i:02}", "1.0.0")] for i in range(40)}
    make_index_dir(crates, config=config)
    cache = tmp_path / "cache"
    with (
        Registry(index_server.url, cache_dir=cache) as reg,
        pytest.raises(RegistryConfigError),
    ):
        reg.fetch(list(crates))
    assert len(index_server.requests) == 41  # config.json and every file, in one batch
    assert [p for p in cache.rglob("*") if p.is_file() and ".cache" in p.parts] == []


@pytest.mark.parametrize(("missing", "imported"), [(99, False), (100, True)])
def test_a_large_cold_batch_imports_the_fast_reader_while_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: int, imported: bool
) -> None:
    """The first slice of in-flight work imports orjson when 100 or more files are missing
    (their lines will be read), before any temp file is reserved; fewer, it is not."""
    from cache.store import IndexStore
    from registry.index import index_file
    from registry.index.loader import _WhileInFlight

    done: list[str] = []
    monkeypatch.setattr(index_file, "import_fast_reader", lambda: done.append("import"))
    store = IndexStore(str(tmp_path), "index")
    monkeypatch.setattr(store, "reserve", lambda rels: done.append("reserve") or {})
    rels = [index_path(f"crate{i}") for i in range(missing)]
    work = _WhileInFlight(store, lambda rel: (None, None, False), rels, {}, {})
    while work():
        pass
    assert done[0] == ("import" if imported else "reserve")
    assert done.count("import") == int(imported)


def test_the_fast_reader_is_taken_whenever_it_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below STDLIB_JSON_BELOW the stdlib reader saves orjson's import; once orjson is
    imported (in flight, say) nothing is saved, and orjson reads faster."""
    from registry.index.index_file import STDLIB_JSON_BELOW, line_reader

    assert line_reader(0).__name__ == "orjson_loads"  # this test module imports orjson
    assert line_reader(STDLIB_JSON_BELOW).__name__ == "orjson_loads"
    monkeypatch.delitem(sys.modules, "orjson")
    assert line_reader(0).__name__ == "stdlib_loads"
