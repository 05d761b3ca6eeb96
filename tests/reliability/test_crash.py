"""C. ``kill -9`` of a running ``registry fetch --lockfile`` at random moments (crash injection).

100 rounds on one cache directory. Between rounds the server's copies of a few index files
alternate between two versions, so every round has something to replace. Each round starts
``fetch --lockfile`` (ripgrep, 65 index files) and SIGKILLs it after a seeded random delay in
[0, d], d the time the quickest whole run took here (cold, and warm as the rounds are; at most
0.3 s; start-up, download, write: every phase gets hit); every fourth round aims at the write
phase instead (a random 0-40 ms after the server saw the last index request). Afterwards
every `.cache` file present is absent, the OLD complete version or the NEW complete one (parsed
and compared byte for byte with the two known-good versions); config.json and CACHEDIR.TAG are
absent or complete.

Temp files (cache/atomic.py: ``.<name>.tmp-<pid>-<hex>``) left by a killed writer: a normal run
does NOT sweep them (it cannot tell a dead writer's temp from a live one's without the lock, and
cargo does not sweep either); ``cache clean`` removes every temp inside the index directories
(it deletes them whole, under the lock) and temps elsewhere under ``registry/`` once they are
older than an hour (`cache.store._STALE_TEMP_AGE`; fingerprints are written without the lock).
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.format import parse
from cache.store import CACHEDIR_TAG
from tests.httpserver import IndexServer
from tests.reliability.cachecheck import (
    HANG_LIMIT,
    RIPGREP_LOCK,
    assert_quiet_success,
    cache_files,
    poll_until,
    reference_cache,
    registry_argv,
    run_one,
    start,
    temp_files,
)
from tests.reliability.support import FIXTURE_INDEX

ROUNDS = 100
MAX_DELAY = 0.3
AIMED_DELAY = 0.04
SEED = 20_241_122
FETCH = ("fetch", "--lockfile", str(RIPGREP_LOCK))
#: Index files that change between rounds (all in the ripgrep lockfile).
CHANGING = ("se/rd/serde", "re/ge/regex", "me/mc/memchr", "3/l/log", "li/bc/libc", "wi/na/winapi")


def variant(original: bytes) -> bytes:
    """The same index file with its last version removed: different bytes, different ETag."""
    body = original.rstrip(b"\n")
    return body[: body.rfind(b"\n") + 1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[IndexServer, dict[str, tuple[bytes, bytes]]]]:
    """A writable copy of the bundled index, served; {rel: (version A, version B)}."""
    root = tmp_path / "index"
    shutil.copytree(FIXTURE_INDEX, root)
    versions = {}
    for rel in CHANGING:
        original = (root / rel).read_bytes()
        changed = variant(original)
        assert changed and changed != original and changed.count(b"\n") >= 1
        versions[rel] = (original, changed)
    with IndexServer(root) as server:
        yield server, versions


def requested_at_least(server: IndexServer, count: int) -> bool:
    return len(server.requests) >= count


def set_state(server: IndexServer, versions: dict[str, tuple[bytes, bytes]], state: int) -> None:
    for rel, pair in versions.items():
        tmp = server.root / (rel + ".swap")
        tmp.write_bytes(pair[state])
        os.replace(tmp, server.root / rel)  # the server never serves a half-written file


def check_after_crash(cache: Path, good: dict[str, set[bytes]], config: bytes) -> None:
    """Every file present is one of its complete known versions."""
    files = cache_files(cache)
    for path, data in files.items():
        assert path in good, f"unexpected cache file {path}"
        assert data in good[path], f"{path} is neither the old nor the new complete version"
        parse(data)
    for index_dir in (cache / "registry" / "index").glob("*"):
        stored = index_dir / "config.json"
        if stored.exists():
            assert stored.read_bytes() == config, "config.json torn"
    tag = cache / "registry" / "CACHEDIR.TAG"
    if tag.exists():
        assert tag.read_bytes() == CACHEDIR_TAG, "CACHEDIR.TAG torn"


@pytest.mark.slow
def test_kill_9_at_random_moments(
    served: tuple[IndexServer, dict[str, tuple[bytes, bytes]]], tmp_path: Path
) -> None:
    server, versions = served
    config = (server.root / "config.json").read_bytes()
    # The two known-good caches, each from a clean sequential run.
    refs = []
    durations = []
    home = tmp_path / "home"
    for state in (0, 1):
        set_state(server, versions, state)
        started = time.monotonic()
        refs.append(reference_cache(server.url, [FETCH], tmp_path / f"ref-{state}"))
        durations.append(time.monotonic() - started)
    # The rounds run on a warm cache (revalidation, some files replaced), faster than a cold
    # run: time one such run too (ref-1's cache, the server back to state 0).
    set_state(server, versions, 0)
    started = time.monotonic()
    warm = run_one(registry_argv(server.url, tmp_path / "ref-1" / "reference-cache", *FETCH), home)
    durations.append(time.monotonic() - started)
    assert warm.code == 0 and not warm.stderr, warm.describe()
    # Kill within how long a whole run takes on this machine (start-up, download, write), so
    # that most kills land however fast the machine and the tool are.
    max_delay = min(MAX_DELAY, *durations)
    assert refs[0].keys() == refs[1].keys()
    changed = {path for path in refs[0] if refs[0][path] != refs[1][path]}
    assert len(changed) == len(CHANGING), changed
    good = {path: {refs[0][path], refs[1][path]} for path in refs[0]}

    rng = random.Random(SEED)
    cache = tmp_path / "cache"
    killed = finished = mixed = 0
    for round_no in range(ROUNDS):
        state = round_no % 2
        set_state(server, versions, state)
        seen = len(server.requests)
        proc = start(registry_argv(server.url, cache, *FETCH), home)
        if round_no % 4 == 3:
            # Aim at the write phase: kill soon after the last index file was requested.
            target = seen + len(refs[0])
            poll_until(functools.partial(requested_at_least, server, target), deadline=60)
            time.sleep(rng.uniform(0.0, AIMED_DELAY))  # crash injection point, not a wait
        else:
            time.sleep(rng.uniform(0.0, max_delay))  # crash injection point, not a wait
        proc.send_signal(signal.SIGKILL)
        try:
            proc.communicate(timeout=HANG_LIMIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert proc.returncode == 0, f"round {round_no}: exit {proc.returncode}"
            finished += 1
        check_after_crash(cache, good, config)
        files = cache_files(cache)
        # killed in the middle of its batch of writes: some changed files new, some old
        mixed += len({files[p] == refs[state][p] for p in changed if p in files}) == 2
    print(
        f"\n{ROUNDS} rounds: {killed} killed, {finished} finished before the kill; {mixed} "
        f"killed mid-batch (old and new files side by side); {len(temp_files(cache))} temp "
        "files left behind"
    )
    assert killed >= ROUNDS // 2, "the kills mostly missed: the delays are too long"

    # Stale temps of a dead writer, planted so that the rest does not depend on luck.
    (index_dir,) = (cache / "registry" / "index").iterdir()
    planted = [
        index_dir / ".cache" / "se" / "rd" / ".serde.tmp-4194304-0123456789abcdef",
        index_dir / ".cache" / "3" / "l" / ".log.tmp-4194305-fedcba9876543210",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x03\x02\x00\x00\x00etag: half-writ")
    old = time.time() - 7200
    registry_level = cache / "registry" / ".CACHEDIR.TAG.tmp-4194306-00112233aabbccdd"
    registry_level.write_bytes(CACHEDIR_TAG[:10])
    os.utime(registry_level, (old, old))

    # The next normal run completes the cache and leaves other processes' temps alone.
    final_state = ROUNDS % 2
    set_state(server, versions, final_state)
    result = run_one(registry_argv(server.url, cache, *FETCH), home)
    assert_quiet_success([result])
    assert cache_files(cache) == refs[final_state]
    assert set(planted) | {registry_level} <= set(temp_files(cache))

    # `cache clean` removes every one of them.
    result = run_one(registry_argv(server.url, cache, "cache", "clean"), home)
    assert_quiet_success([result])
    assert temp_files(cache) == []
    assert cache_files(cache) == {}
    result = run_one(registry_argv(server.url, cache, *FETCH), home)
    assert_quiet_success([result])
    assert cache_files(cache) == refs[final_state]
