"""B. Corrupted `.cache` files, made from real ones.

Real cache files are produced by fetching serde, regex, libc, winapi (the bundled index) and an
openssl-src file with build-metadata duplicates (`110.0.0` and `110.0.0+1.1.0f`) from a served
index. Each is then corrupted in every way we can think of (truncation at every kind of
boundary, seeded bit flips, foreign version byte, wrong schema, garbage, empty, a directory in
its place, unreadable), and each corrupted file is queried for exact versions:

* online (the index is served): the right answer, the same bytes as from a clean cache, AND the
  file repaired: byte-identical to the clean one after the run;
* offline: the right answer, or ``cache entry for X is unreadable ...; run without --offline``
  (CacheEntryError, exit 3); never another answer, never "not found", never a traceback.

Most cases run in-process through the API; a sample of them runs through the CLI subprocess.
The totals are printed (run with ``-s`` to see them) and asserted to be over 1,000.
"""

from __future__ import annotations

import builtins
import errno
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import cache.store as store_module
from cache.format import parse
from query.names import index_path
from registry.api import Registry
from registry.errors import CacheEntryError, RegistryError
from tests.httpserver import IndexServer
from tests.reliability.support import (
    FIXTURE_INDEX,
    assert_one_error_line,
    cache_file_of,
    run_cli,
)

CRATES = ("serde", "regex", "libc", "winapi", "openssl-src")
SEED = 20240611
BITFLIPS_PER_FILE = 120
ENTRIES_CUT_PER_FILE = 25
CLI_OFFLINE_SAMPLE = 30
CLI_ONLINE_SAMPLE = 10

OPENSSL_SRC = [
    {"name": "openssl-src", "vers": "110.0.0", "deps": [], "cksum": "a" * 64, "features": {}},
    {
        "name": "openssl-src",
        "vers": "110.0.0+1.1.0f",
        "deps": [],
        "cksum": "b" * 64,
        "features": {},
    },
    {"name": "openssl-src", "vers": "110.0.1", "deps": [], "cksum": "c" * 64, "features": {}},
    {
        "name": "openssl-src",
        "vers": "110.0.1+1.1.0g",
        "deps": [],
        "cksum": "d" * 64,
        "features": {},
        "yanked": True,
    },
    {
        "name": "openssl-src",
        "vers": "111.0.0+1.1.1",
        "deps": [],
        "cksum": "e" * 64,
        "features": {},
    },
]


# --- the corpus --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clean:
    name: str
    data: bytes
    blobs: dict[str, bytes]  # version key -> raw line (last duplicate wins, as in cargo)
    layout: list[tuple[int, int, int]]  # (key start, key NUL, blob NUL) per entry
    header_end: int  # offset of the header's NUL


@dataclass(frozen=True)
class Case:
    crate: str
    kind: str
    data: bytes | None  # None: a special case (directory, unreadable)
    wanted: tuple[str, ...]  # exact versions to query, the most affected one first

    @property
    def ident(self) -> str:
        return f"{self.crate}:{self.kind}"


def _layout(data: bytes) -> tuple[int, list[tuple[int, int, int]]]:
    header_end = data.index(0, 5)
    pos = header_end + 1
    entries = []
    while pos < len(data):
        key_end = data.index(0, pos)
        blob_end = data.index(0, key_end + 1)
        entries.append((pos, key_end, blob_end))
        pos = blob_end + 1
    return header_end, entries


def _entry_at(clean: Clean, offset: int) -> int | None:
    for i, (start, _key_end, blob_end) in enumerate(clean.layout):
        if start <= offset <= blob_end:
            return i
    return None


def _version(clean: Clean, i: int) -> str:
    start, key_end, _ = clean.layout[i]
    return clean.data[start:key_end].decode()


def make_cases(clean: Clean, rng: random.Random) -> list[Case]:
    data = clean.data
    n = len(clean.layout)
    versions = [_version(clean, i) for i in range(n)]

    def other_than(v: str) -> str:
        choices = [x for x in clean.blobs if x != v]
        return rng.choice(choices) if choices else v

    def case(kind: str, corrupt: bytes | None, first: str) -> Case:
        return Case(clean.name, kind, corrupt, (first, other_than(first)))

    cases: list[Case] = []
    last = versions[-1]
    # Truncation inside the header, and right after its NUL (a valid file with no entry).
    for cut in sorted({0, 1, 3, 4, 5, 6, (5 + clean.header_end) // 2, clean.header_end}):
        cases.append(case(f"trunc-header@{cut}", data[:cut], rng.choice(versions)))
    cases.append(case("trunc-after-header-nul", data[: clean.header_end + 1], versions[0]))
    # Truncation at every kind of boundary of a spread of entries (first and last included).
    picks = sorted({0, n - 1, *rng.sample(range(n), min(n, ENTRIES_CUT_PER_FILE))})
    for i in picks:
        start, key_end, blob_end = clean.layout[i]
        v = versions[i]
        cases.append(case(f"trunc-in-key#{i}", data[: start + max(1, (key_end - start) // 2)], v))
        cases.append(case(f"trunc-after-key-nul#{i}", data[: key_end + 1], v))
        cases.append(case(f"trunc-in-blob#{i}", data[: key_end + 1 + (blob_end - key_end) // 2], v))
        cases.append(case(f"trunc-before-blob-nul#{i}", data[:blob_end], v))
        if i + 1 < n:
            # A structurally valid file that lacks every later version.
            cases.append(case(f"trunc-after-blob-nul#{i}", data[: blob_end + 1], versions[i + 1]))
            cases.append(case(f"trunc-after-blob-nul-ask-last#{i}", data[: blob_end + 1], last))
    cases.append(case("missing-final-nul", data[:-1], last))
    # Seeded bit flips anywhere in the file.
    for k in range(BITFLIPS_PER_FILE):
        offset = rng.randrange(len(data))
        bit = rng.randrange(8)
        flipped = bytearray(data)
        flipped[offset] ^= 1 << bit
        hit = _entry_at(clean, offset)
        v = versions[hit] if hit is not None else rng.choice(versions)
        cases.append(case(f"bitflip#{k}@{offset}.{bit}", bytes(flipped), v))
    # A cksum that is still valid hex, still valid JSON: only the bytes can tell.
    for k in range(10):
        i = rng.randrange(n)
        start, key_end, blob_end = clean.layout[i]
        blob = data[key_end + 1 : blob_end]
        at = blob.find(b'"cksum":"')
        if at < 0:
            continue
        pos = key_end + 1 + at + len(b'"cksum":"') + rng.randrange(64)
        swapped = bytearray(data)
        swapped[pos] = ord("1") if swapped[pos] != ord("1") else ord("2")
        cases.append(case(f"cksum-digit#{k}", bytes(swapped), versions[i]))
    # Foreign cache version byte, wrong schema u32.
    for byte in (0, 1, 2, 4, 0xFF):
        cases.append(case(f"cache-version={byte}", bytes([byte]) + data[1:], rng.choice(versions)))
    for schema in (0, 1, 3, 0xFFFF, 0xFFFFFFFF):
        wrong = data[:1] + schema.to_bytes(4, "little") + data[5:]
        cases.append(case(f"schema={schema}", wrong, rng.choice(versions)))
    # Garbage, empty, NULs; a valid header followed by garbage.
    for size in (1, 7, 64, 4096, len(data)):
        cases.append(case(f"garbage{size}", rng.randbytes(size), rng.choice(versions)))
    cases.append(case("all-nul", b"\0" * len(data), rng.choice(versions)))
    cases.append(case("empty", b"", rng.choice(versions)))
    header = data[: clean.header_end + 1]
    for size in (2, 100, 5000):
        body = rng.randbytes(size).replace(b"\0", b"\1")
        cases.append(case(f"header+garbage{size}", header + body + b"\0" + body + b"\0", last))
    # The entries of another crate under this crate's name (a misplaced file).
    cases.append(case("entries-swapped", header + data[clean.header_end + 1 :][::-1], last))
    cases.append(case("directory", None, rng.choice(versions)))
    cases.append(case("unreadable", None, rng.choice(versions)))
    return cases


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corruption-index")
    shutil.copy(FIXTURE_INDEX / "config.json", root / "config.json")
    for name in CRATES[:-1]:
        rel = index_path(name)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE_INDEX / rel, root / rel)
    import json

    rel = index_path("openssl-src")
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(
        "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in OPENSSL_SRC)
    )
    return root


@pytest.fixture(scope="module")
def server(index_root: Path) -> Iterator[IndexServer]:
    with IndexServer(index_root) as srv:
        yield srv


@pytest.fixture(scope="module")
def fresh_server(index_root: Path) -> Iterator[IndexServer]:
    """The same index with ``Cache-Control: max-age``: a fresh entry is used without asking."""
    with IndexServer(index_root, max_age=3600) as srv:
        yield srv


@pytest.fixture(scope="module")
def clean(server: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clean]:
    cache = tmp_path_factory.mktemp("clean-cache")
    out = {}
    with Registry(server.url, cache_dir=cache) as reg:
        report = reg.fetch(CRATES)
        assert report.downloaded == len(CRATES) and not report.errors
    for name in CRATES:
        data = cache_file_of(cache, server.url, name).read_bytes()
        header_end, layout = _layout(data)
        out[name] = Clean(name, data, dict(parse(data).entries), layout, header_end)
    return out


@pytest.fixture(scope="module")
def cases(clean: dict[str, Clean]) -> list[Case]:
    rng = random.Random(SEED)
    found = [c for name in CRATES for c in make_cases(clean[name], rng)]
    return found


# --- running one case ----------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    queries: int = 0
    answered: int = 0
    unreadable_errors: int = 0
    repaired: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, case: Case, message: str) -> None:
        self.failures.append(f"{case.ident}: {message}")


def _plant(path: Path, case: Case) -> None:
    """Damage the cache file as bit rot, truncation or a stray write would: in place, so the
    file keeps its inode and with it the integrity record (its xattr)."""
    if path.is_dir():
        path.rmdir()
    elif path.exists() and case.kind in ("directory", "unreadable"):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.kind == "directory":
        path.mkdir()
    elif case.kind == "unreadable":
        path.write_bytes(b"")  # replaced by the monkeypatched open below; content irrelevant
    else:
        assert case.data is not None
        path.write_bytes(case.data)


def _unreadable(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Reading ``path`` fails with EACCES (as chmod 000 would for a non-root user)."""
    real_open = builtins.open
    target = os.path.abspath(path)

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike) and os.path.abspath(file) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(store_module, "open", fake_open, raising=False)


def _check_answer(tally: Tally, case: Case, clean: Clean, vers: str, entry: Any) -> bool:
    if entry.name != clean.name or entry.vers != vers:
        tally.fail(case, f"asked {clean.name} {vers}, got {entry.name} {entry.vers}")
        return False
    if entry.raw != clean.blobs[vers]:
        tally.fail(case, f"{vers}: wrong line {entry.raw[:80]!r}")
        return False
    return True


def run_online(
    case: Case,
    clean: Clean,
    url: str,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    tally: Tally,
    refresh: bool = False,
) -> None:
    path = cache_file_of(cache, url, case.crate)
    _plant(path, case)
    tally.cases += 1
    with monkeypatch.context() as patch:
        if case.kind == "unreadable":
            _unreadable(patch, path)
        with Registry(url, cache_dir=cache, refresh=refresh) as reg:
            for vers in case.wanted:
                tally.queries += 1
                try:
                    entry = reg.get(case.crate, vers)
                except RegistryError as exc:
                    tally.fail(case, f"{vers}: {type(exc).__name__}: {exc}")
                    continue
                if _check_answer(tally, case, clean, vers, entry):
                    tally.answered += 1
    if not path.is_file() or path.read_bytes() != clean.data:
        tally.fail(case, "the cache file was not repaired")
    else:
        tally.repaired += 1


def run_offline(
    case: Case,
    clean: Clean,
    url: str,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    tally: Tally,
) -> None:
    path = cache_file_of(cache, url, case.crate)
    _plant(path, case)
    tally.cases += 1
    with monkeypatch.context() as patch:
        if case.kind == "unreadable":
            _unreadable(patch, path)
        with Registry(url, cache_dir=cache, offline=True) as reg:
            for vers in case.wanted:
                tally.queries += 1
                try:
                    entry = reg.get(case.crate, vers)
                except CacheEntryError as exc:
                    text = str(exc)
                    if (
                        f"cache entry for {case.crate} " not in text
                        or "unreadable" not in text
                        or "without --offline" not in text
                        or "\n" in text
                    ):
                        tally.fail(case, f"{vers}: unclear error {text!r}")
                    else:
                        tally.unreadable_errors += 1
                    continue
                except RegistryError as exc:
                    tally.fail(case, f"{vers}: {type(exc).__name__} (exit {exc.exit_code}): {exc}")
                    continue
                if _check_answer(tally, case, clean, vers, entry):
                    tally.answered += 1
    # Offline never writes: the corrupted file is left as it was.
    if case.data is not None and path.read_bytes() != case.data:
        tally.fail(case, "offline run changed the cache file")


def _report(title: str, tally: Tally) -> str:
    return (
        f"{title}: {tally.cases} corrupted files, {tally.queries} exact queries, "
        f"{tally.answered} right answers, {tally.unreadable_errors} 'unreadable' errors, "
        f"{tally.repaired} repaired, {len(tally.failures)} failures"
    )


def _assert_clean_run(title: str, tally: Tally, minimum: int) -> None:
    print("\n" + _report(title, tally))
    shown = "\n".join(tally.failures[:40])
    assert not tally.failures, f"{_report(title, tally)}\n{shown}"
    assert tally.cases >= minimum


# --- the tests -----------------------------------------------------------------------------------


def test_corpus_covers_every_kind(cases: list[Case]) -> None:
    kinds = {c.kind.split("#")[0].split("@")[0].split("=")[0].rstrip("0123456789") for c in cases}
    for expected in (
        "trunc-header",
        "trunc-after-header-nul",
        "trunc-in-key",
        "trunc-after-key-nul",
        "trunc-in-blob",
        "trunc-before-blob-nul",
        "trunc-after-blob-nul",
        "missing-final-nul",
        "bitflip",
        "cksum-digit",
        "cache-version",
        "schema",
        "garbage",
        "empty",
        "directory",
        "unreadable",
    ):
        assert expected in kinds, expected
    assert len(cases) >= 1000
    print(f"\ncorruption corpus: {len(cases)} corrupted files from {len(CRATES)} real cache files")


#: The default run takes every third case online (the offline run takes all); the slow run all.
ONLINE_SHARE = [
    pytest.param(3, id="every-third"),
    pytest.param(1, id="all", marks=pytest.mark.slow),
]


#: Revalidating takes its share of the cases; --refresh, where an entry's conditional request
#: goes out with the version read from its header alone and the entry is read whole and
#: checked while the request is in flight (registry/index/loader.py), a third of that: a
#: corruption behind an intact header must still be noticed, and the server's 304 for it not
#: trusted (the entry is fetched again, unconditionally).
ONLINE_MODES = [
    pytest.param(False, 0, 1, id="revalidating"),
    pytest.param(True, 2, 3, id="refresh"),
]


@pytest.mark.parametrize(("refresh", "offset", "thinning"), ONLINE_MODES)
@pytest.mark.parametrize("step", ONLINE_SHARE)
def test_online_repairs_every_corruption(
    step: int,
    refresh: bool,
    offset: int,
    thinning: int,
    cases: list[Case],
    clean: dict[str, Clean],
    server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache"
    with Registry(server.url, cache_dir=cache) as reg:
        reg.fetch(CRATES)
    tally = Tally()
    for case in cases[offset :: step * thinning]:
        run_online(case, clean[case.crate], server.url, cache, monkeypatch, tally, refresh)
    title = "online (--refresh)" if refresh else "online (revalidating)"
    _assert_clean_run(title, tally, 1000 // step // thinning)


@pytest.mark.parametrize("step", ONLINE_SHARE)
def test_online_repairs_every_corruption_of_a_fresh_entry(
    step: int,
    cases: list[Case],
    clean: dict[str, Clean],
    fresh_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With max-age, a fresh entry is used without any request: corruption must be noticed
    from the bytes alone."""
    cache = tmp_path / "cache"
    with Registry(fresh_server.url, cache_dir=cache) as reg:
        reg.fetch(CRATES)
    tally = Tally()
    for case in cases[1 :: step * 3]:
        run_online(case, clean[case.crate], fresh_server.url, cache, monkeypatch, tally)
    _assert_clean_run("online (fresh by max-age)", tally, 300 // step)


def test_offline_answers_right_or_says_unreadable(
    cases: list[Case],
    clean: dict[str, Clean],
    server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache"
    with Registry(server.url, cache_dir=cache) as reg:
        reg.fetch(CRATES)
    tally = Tally()
    for case in cases:
        run_offline(case, clean[case.crate], server.url, cache, monkeypatch, tally)
    _assert_clean_run("offline", tally, 1000)
    assert tally.unreadable_errors > 0 and tally.answered > 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_real_chmod_000(server: IndexServer, clean: dict[str, Clean], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with Registry(server.url, cache_dir=cache) as reg:
        reg.fetch(["serde"])
    path = cache_file_of(cache, server.url, "serde")
    path.chmod(0)
    try:
        with (
            Registry(server.url, cache_dir=cache, offline=True) as reg,
            pytest.raises(CacheEntryError, match="unreadable"),
        ):
            reg.get("serde", next(iter(clean["serde"].blobs)))
        with Registry(server.url, cache_dir=cache) as reg:
            vers = next(iter(clean["serde"].blobs))
            assert reg.get("serde", vers).raw == clean["serde"].blobs[vers]
    finally:
        path.chmod(0o644)


def _cli_sample(cases: list[Case], size: int, seed: int) -> list[Case]:
    usable = [c for c in cases if c.kind != "unreadable"]
    return random.Random(seed).sample(usable, size)


def test_cli_offline_sample(
    cases: list[Case], clean: dict[str, Clean], server: IndexServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with Registry(server.url, cache_dir=cache) as reg:
        reg.fetch(CRATES)
    sample = _cli_sample(cases, CLI_OFFLINE_SAMPLE, SEED + 1)
    # Make sure the sample has cases that must end in the error, and in an answer.
    sample += [c for c in cases if c.kind in ("empty", "cache-version=1")][:2]
    failures = []
    codes: dict[int, int] = {}
    for case in sample:
        path = cache_file_of(cache, server.url, case.crate)
        _plant(path, case)
        vers = case.wanted[0]
        result = run_cli(
            [
                "--index-url",
                server.url,
                "--cache-dir",
                str(cache),
                "--offline",
                "query",
                f"{case.crate}=={vers}",
                "--json",
            ],
            home=tmp_path / "home",
        )
        codes[result.code] = codes.get(result.code, 0) + 1
        try:
            if result.code == 0:
                assert result.stdout_bytes == clean[case.crate].blobs[vers] + b"\n"
                assert "Traceback" not in result.stderr
            else:
                assert_one_error_line(
                    result, f"cache entry for {case.crate}", "unreadable", "--offline", code=3
                )
                assert result.stdout == ""
        except AssertionError as exc:
            failures.append(f"{case.ident} {vers}: exit {result.code}: {exc}")
    print(f"\nCLI offline sample: {len(sample)} cases, exit codes {codes}")
    assert not failures, "\n".join(failures)
    assert codes.get(3, 0) >= 2


def test_cli_online_sample(
    cases: list[Case], clean: dict[str, Clean], server: IndexServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with Registry(server.url, cache_dir=cache) as reg:
        reg.fetch(CRATES)
    failures = []
    for case in _cli_sample(cases, CLI_ONLINE_SAMPLE, SEED + 2):
        path = cache_file_of(cache, server.url, case.crate)
        _plant(path, case)
        vers = case.wanted[0]
        result = run_cli(
            [
                "--index-url",
                server.url,
                "--cache-dir",
                str(cache),
                "query",
                f"{case.crate}=={vers}",
                "--json",
            ],
            home=tmp_path / "home",
        )
        if (
            result.code != 0
            or result.stdout_bytes != clean[case.crate].blobs[vers] + b"\n"
            or not path.is_file()
            or path.read_bytes() != clean[case.crate].data
        ):
            failures.append(f"{case.ident} {vers}: exit {result.code} {result.stderr!r}")
    assert not failures, "\n".join(failures)
