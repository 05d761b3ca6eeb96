"""A. Many `registry` processes on one cache directory at once.

* Stress (slow): 8 processes running ``fetch --lockfile``, ``validate``, ``query`` and
  ``versions`` on one shared cache, plus a ``cache clean`` racing them, for several rounds. Every
  process exits 0 with nothing on stderr but, maybe, the line saying it waited for the
  package-cache lock (a reader whose file was cleaned away answers from memory or refetches),
  and every `.cache` file left behind parses and is byte-identical to the one a
  clean sequential run produces (the index version comes from the server's ETag, stable).
* Coalescing: concurrent requests for the same missing index file cost about one download,
  because the client takes the package-cache lock before fetching MISSING entries and re-reads
  them once it holds it (registry/index/loader.py, `_fetch_coalesced`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import IndexServer
from tests.reliability.cachecheck import (
    RIPGREP_LOCK,
    HeldLock,
    assert_parses,
    assert_quiet_success,
    cache_files,
    finish,
    poll_until,
    reference_cache,
    registry_argv,
    run_all,
    run_one,
    start,
    temp_files,
)
from tests.reliability.support import FIXTURE_INDEX

LOCK = str(RIPGREP_LOCK)
FETCH = ("fetch", "--lockfile", LOCK)
VALIDATE = ("validate", LOCK)
QUERIES = (
    ("query", "serde@^1.0"),
    ("query", "regex==1.2.0"),
    ("query", "memchr"),
    ("versions", "walkdir"),
)
#: The 8 concurrent workers of one round (``cache clean`` comes on top).
WORKERS = (FETCH, VALIDATE, *QUERIES, FETCH, VALIDATE)
ROUNDS = 5
SERDE = "se/rd/serde"


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    """The bundled index (read-only) over HTTP; each test clears the request log it reads."""
    with IndexServer(FIXTURE_INDEX) as srv:
        yield srv


@pytest.fixture(scope="module")
def reference(
    server: IndexServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, bytes], dict[tuple[str, ...], str]]:
    """`.cache` files and stdout of each worker command, from one clean sequential run."""
    work = tmp_path_factory.mktemp("reference")
    files = reference_cache(server.url, [FETCH, *QUERIES], work)
    stdout = {}
    for args in {*QUERIES, VALIDATE}:
        result = run_one(registry_argv(server.url, work / "reference-cache", *args), work / "home")
        assert result.code == 0 and not result.stderr, result.describe()
        stdout[args] = result.stdout
    return files, stdout


def check_cache(cache: Path, reference: dict[str, bytes], *, complete: bool) -> None:
    files = cache_files(cache)
    assert_parses(files)
    foreign = sorted(set(files) - set(reference))
    assert not foreign, f"files the sequential run does not make: {foreign[:5]}"
    differ = sorted(path for path, data in files.items() if data != reference[path])
    assert not differ, f"{len(differ)} files differ from the sequential run: {differ[:5]}"
    if complete:
        missing = sorted(set(reference) - set(files))
        assert not missing, f"missing after a full sequential run: {missing[:5]}"
    leftovers = temp_files(cache)
    assert not leftovers, f"temp files left by processes that exited normally: {leftovers[:5]}"


@pytest.mark.slow
def test_processes_and_clean_share_one_cache(
    server: IndexServer,
    reference: tuple[dict[str, bytes], dict[tuple[str, ...], str]],
    tmp_path: Path,
) -> None:
    ref_files, ref_stdout = reference
    cache = tmp_path / "shared-cache"
    home = tmp_path / "home"
    for round_no in range(ROUNDS):
        commands = [registry_argv(server.url, cache, *args) for args in WORKERS]
        # `cache clean` starts at a different point of the burst each round.
        clean_at = (2 * round_no + 1) % (len(commands) + 1)
        commands.insert(clean_at, registry_argv(server.url, cache, "cache", "clean"))
        results = run_all(commands, home)
        assert_quiet_success(results)
        for result in results:
            args = tuple(result.argv[7:])
            if args in ref_stdout:
                assert result.stdout == ref_stdout[args], result.describe()
            elif args == FETCH:
                assert result.stdout.startswith(f"{len(ref_files)} crates: "), result.stdout
                assert "0 not found, 0 failed" in result.stdout, result.stdout
            else:
                assert args == ("cache", "clean") and result.stdout.startswith("removed ")
        check_cache(cache, ref_files, complete=False)
    # Afterwards, a plain sequential run leaves exactly the reference cache.
    for args in (FETCH, *QUERIES):
        result = run_one(registry_argv(server.url, cache, *args), home)
        assert_quiet_success([result])
    check_cache(cache, ref_files, complete=True)


@pytest.mark.parametrize(
    ("args", "expected_gets"),
    [(("query", "serde@^1.0"), 1), (FETCH, None)],
    ids=["query-serde", "fetch-lockfile"],
)
def test_concurrent_misses_cost_one_download(
    server: IndexServer,
    reference: tuple[dict[str, bytes], dict[tuple[str, ...], str]],
    tmp_path: Path,
    args: tuple[str, ...],
    expected_gets: int | None,
) -> None:
    """8 processes start together on an empty cache while a cargo-like holder has the lock.

    Each has looked at the cache (missing) and is waiting for the lock (its descriptor on
    ``.package-cache`` open: /proc/PID/fd) before the lock is released, so without coalescing
    every one of them downloads the file: 8 GETs. With it, the first to get the lock downloads
    and writes (config.json goes in that batch), the others re-read and find it: 1 GET (≤ 2
    allowed), and config.json too (the others need no request at all).
    """
    ref_files, _ = reference
    cache = tmp_path / "cache"
    home = tmp_path / "home"
    server.clear_requests()
    held = HeldLock(cache)
    try:
        procs = [start(registry_argv(server.url, cache, *args), home) for _ in range(8)]
        all_started = poll_until(lambda: all(waits_on(proc.pid, held.path) for proc in procs))
    finally:
        held.release()
    results = [finish(proc) for proc in procs]
    assert all_started, [waits_on(proc.pid, held.path) for proc in procs]
    assert_quiet_success(results)
    if args != FETCH:
        assert len({r.stdout for r in results}) == 1, [r.stdout for r in results]
    per_file = Counter(r.rel for r in server.requests if r.rel != "config.json")
    assert per_file, "no index file was requested"
    worst = max(per_file.values())
    assert worst <= 2, f"GETs per index file: {per_file.most_common(3)}"
    assert 1 <= len(server.requests_for("config.json")) <= 2
    if expected_gets is not None:
        assert per_file[SERDE] == expected_gets, per_file
    else:
        assert sum(per_file.values()) <= len(ref_files) + 2, per_file
    check_cache(cache, ref_files, complete=args == FETCH)


def waits_on(pid: int, path: str) -> bool:
    """Has process ``pid`` a descriptor open on ``path`` (the lock file it polls)?"""
    fds = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fds)
    except OSError:
        return False
    for fd in names:
        try:
            if os.readlink(f"{fds}/{fd}") == path:
                return True
        except OSError:
            continue
    return False


def test_free_for_all_misses_are_coalesced(
    server: IndexServer,
    reference: tuple[dict[str, bytes], dict[tuple[str, ...], str]],
    tmp_path: Path,
) -> None:
    """Same, with no outside lock: 8 processes simply started at once on an empty cache.

    A process that starts after the file was written finds it cached and revalidates it, as
    cargo would (a conditional GET answered 304, no download); only unconditional GETs are
    downloads of the missing file.
    """
    ref_files, _ = reference
    cache = tmp_path / "cache"
    server.clear_requests()
    results = run_all(
        [registry_argv(server.url, cache, "query", "serde@^1.0") for _ in range(8)],
        tmp_path / "home",
    )
    assert_quiet_success(results)
    gets = server.requests_for(SERDE)
    downloads = [r for r in gets if r.header("If-None-Match") is None]
    assert 1 <= len(downloads) <= 2, f"{len(downloads)} downloads of {SERDE} by 8 queries"
    assert len(gets) <= 8
    check_cache(cache, ref_files, complete=False)
