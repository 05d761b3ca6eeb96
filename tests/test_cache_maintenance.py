"""cache/maintenance.py and cache/lastuse.py: ``cache stats | clean | prune``, and what an
entry's last use is.

Readers and a writer run in other processes while prune removes entries, and assert that every
read is a whole entry (its integrity record verifies) or a miss, never a torn or failed one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import cache.maintenance
import cache.store
from cache import fingerprint, lastuse
from cache.atomic import temp_name_for
from cache.integrity import VERIFIED, check
from cache.lock import LOCK_FILE_NAME, package_cache_lock
from cache.maintenance import CARGO_OWNED, STALE_TEMP_AGE, clean, prune, stats
from cache.store import CACHEDIR_TAG, IndexStore
from query.record import replace
from registry.cli import run
from registry.options import RunOptions
from tests.reliability.support import REPO

DIR = "index.crates.io-1949cf8c6b5b557f"
DAY = 86400
NOW = time.time()


def entry(name: str, version: str = "1.0.0") -> bytes:
    """A valid `.cache` file (cache/format.py) holding one version."""
    return b'\x03\x02\x00\x00\x00etag: "%s"\x00%s\x00{"name":"%s"}\x00' % (
        name.encode(),
        version.encode(),
        name.encode(),
    )


def age(path: str | Path, days: float) -> None:
    """Make ``path`` last used (and written) ``days`` ago."""
    when = NOW - days * DAY
    os.utime(path, (when, when))


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "home", DIR)


def listing(root: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, n), root)
        for d, dirs, files in os.walk(root)
        for n in (*dirs, *files)
    )


# --- last use ----------------------------------------------------------------------------------


def test_last_use_is_the_later_of_access_and_modification(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    os.utime(path, (NOW - 5 * DAY, NOW - 9 * DAY))
    assert lastuse.last_use(path.stat()) == pytest.approx(NOW - 5 * DAY)
    os.utime(path, (NOW - 9 * DAY, NOW - 5 * DAY))
    assert lastuse.last_use(path.stat()) == pytest.approx(NOW - 5 * DAY)


def test_touch_sets_the_access_time_and_keeps_the_modification_time(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    age(path, 30)
    before = path.stat()
    lastuse.touch(str(path), before)
    after = path.stat()
    assert after.st_mtime_ns == before.st_mtime_ns
    assert after.st_atime > NOW - 60
    lastuse.touch(str(tmp_path / "missing"), before)  # ignored


Touched = list[tuple[object, int]]


@pytest.fixture
def touched(monkeypatch: pytest.MonkeyPatch) -> Touched:
    """Every `cache.lastuse.touch` call, (target, mtime_ns): the kernel also refreshes access
    times on reads (relatime), so the effect alone would not show that registry did it."""
    calls: Touched = []
    real = lastuse.touch

    def recording(target: object, st: os.stat_result) -> None:
        calls.append((target, st.st_mtime_ns))
        real(target, st)  # type: ignore[arg-type]

    monkeypatch.setattr(lastuse, "touch", recording)
    monkeypatch.setattr(cache.store, "touch", recording)
    return calls


def test_reading_an_entry_refreshes_a_stale_access_time(
    store: IndexStore, touched: Touched
) -> None:
    assert store.write_many({"se/rd/serde": entry("serde")}, record_sums=True) == []
    path = store.cache_path("se/rd/serde")
    reader = IndexStore(store.root_path, DIR)
    assert reader.read_with_record("se/rd/serde") is not None
    assert touched == []  # used today already
    age(path, 30)
    mtime = os.stat(path).st_mtime_ns
    reader = IndexStore(store.root_path, DIR)
    assert reader.read_with_record("se/rd/serde") is not None
    assert len(touched) == 1 and touched[0][1] == mtime
    assert os.stat(path).st_atime > NOW - 60
    assert os.stat(path).st_mtime_ns == mtime  # fingerprints compare it: never changed


def test_fingerprint_replay_refreshes_stale_access_times(tmp_path: Path) -> None:
    cache_file = tmp_path / "entry"
    cache_file.write_bytes(b"cached")
    age(cache_file, 30)
    options = {"o": "x"}
    assert (
        fingerprint.store(
            str(tmp_path),
            "key",
            version="1",
            options=options,
            files=[],
            dirs=[],
            absent=[],
            cache_files=[str(cache_file)],
            fresh_until=None,
            output="ok",
            exit_code=0,
        )
        is None
    )
    age(cache_file, 30)
    mtime = cache_file.stat().st_mtime_ns
    assert fingerprint.try_replay(str(tmp_path), "key", "1", options, offline=True) == ("ok", 0)
    assert cache_file.stat().st_atime > NOW - 60
    assert cache_file.stat().st_mtime_ns == mtime


def test_the_fast_paths_keep_their_own_copies_of_the_resolution() -> None:
    from registry.commands import query

    assert fingerprint._ATIME_RESOLUTION == lastuse.RESOLUTION
    assert query._ATIME_RESOLUTION == lastuse.RESOLUTION


def test_the_warm_exact_query_is_a_use(
    store: IndexStore, touched: Touched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accelerator of an exact query reads the file itself: it refreshes the access time
    as the store does. (It looks after reading, so where the kernel refreshed it on the read,
    as relatime does, there is nothing left to do: a noatime mount is simulated.)"""
    real_fstat = os.fstat

    def noatime_fstat(fd: int) -> object:
        st = real_fstat(fd)
        return types.SimpleNamespace(st_atime=NOW - 30 * DAY, st_mtime_ns=st.st_mtime_ns)

    from cache.format import serialize

    data = serialize('etag: "1"', [("1.0.0", b'{"name":"serde","vers":"1.0.0"}')])
    assert store.write_many({"se/rd/serde": data}, record_sums=True) == []
    path = store.cache_path("se/rd/serde")
    age(path, 30)
    mtime = os.stat(path).st_mtime_ns
    options = replace(RunOptions.defaults(), cache_dir=store.root_path, offline=True)
    from registry.commands.query import warm_exact

    monkeypatch.setattr(os, "fstat", noatime_fstat)
    outcome = warm_exact(options, "serde==1.0.0", as_json=True)
    monkeypatch.undo()
    assert outcome is not None and outcome.stdout == b'{"name":"serde","vers":"1.0.0"}\n'
    assert len(touched) == 1
    assert os.stat(path).st_atime > NOW - 60
    assert os.stat(path).st_mtime_ns == mtime


# --- prune ---------------------------------------------------------------------------------------


def fill(store: IndexStore, ages: dict[str, float], *, fresh: bool = True) -> None:
    assert (
        store.write_many(
            {rel: entry(rel.rsplit("/", 1)[1]) for rel in ages},
            {rel: 60 for rel in ages} if fresh else None,
            record_sums=True,
        )
        == []
    )
    for rel, days in ages.items():
        age(store.cache_path(rel), days)


def test_prune_older_than_removes_old_entries_and_their_sidecars(store: IndexStore) -> None:
    fill(store, {"se/rd/serde": 40, "3/l/log": 2, "1/a": 31, "ra/nd/rand": 29})
    store.write_sums({"se/rd/serde": entry("serde")})  # a sum sidecar as well as the xattr
    serde_size = len(entry("serde"))
    report = prune(store.root_path, older_than_days=30, now=NOW)
    assert (report.removed, report.kept) == (2, 2)
    assert report.freed >= serde_size + len(entry("a")) + 2 * len(b"60\n")
    assert store.read("se/rd/serde") is None
    assert store.read("1/a") is None
    assert store.read("3/l/log") == entry("log")
    assert store.read("ra/nd/rand") == entry("rand")
    root = Path(store.dir_path)
    assert not (root / ".registry" / "fresh" / "se").exists()  # emptied directories go too
    assert not (root / ".registry" / "sum" / "se").exists()
    assert not (root / ".cache" / "se").exists()
    assert not (root / ".cache" / "1").exists()
    assert (root / ".registry" / "fresh" / "3" / "l" / "log").exists()
    assert (root / ".cache").is_dir()


def test_prune_keep_and_both(store: IndexStore) -> None:
    fill(store, {"se/rd/serde": 40, "3/l/log": 40, "ra/nd/rand": 1, "1/a": 1})
    other = IndexStore(store.root_path, "github.com-1ecc6299db9ec823")
    fill(other, {"se/rd/serde": 40, "3/l/log": 1})
    keep = {DIR: {"se/rd/serde", "ra/nd/rand"}}
    # both: old AND not needed
    report = prune(store.root_path, older_than_days=30, keep=keep, now=NOW)
    assert (report.removed, report.kept) == (2, 4)
    assert store.read("3/l/log") is None  # old, not kept
    assert other.read("se/rd/serde") is None  # old, another registry's: not kept
    assert store.read("se/rd/serde") is not None  # old, kept
    assert store.read("1/a") is not None  # young
    assert other.read("3/l/log") is not None
    # keep alone: everything no lockfile needs
    report = prune(store.root_path, keep=keep, now=NOW)
    assert (report.removed, report.kept) == (2, 2)
    assert store.read("1/a") is None
    assert other.read("3/l/log") is None
    assert store.read("ra/nd/rand") is not None


def test_prune_needs_a_criterion(store: IndexStore) -> None:
    with pytest.raises(ValueError, match="older_than_days, keep"):
        prune(store.root_path)
    with pytest.raises(ValueError, match="negative"):
        prune(store.root_path, older_than_days=-1)
    report = prune(store.root_path, older_than_days=0)  # no cache at all
    assert (report.removed, report.freed, report.kept) == (0, 0, 0)


def test_prune_looks_again_under_the_lock(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry used (or rewritten) between the scan and the removal stays."""
    fill(store, {"se/rd/serde": 40, "3/l/log": 40})
    real_lock = cache.maintenance.package_cache_lock

    def lock_after_a_use(root: str, timeout: float, on_wait: object = None) -> object:
        reader = IndexStore(store.root_path, DIR)
        assert reader.read("se/rd/serde") is not None  # a use: the access time is refreshed
        return real_lock(root, timeout, on_wait)

    monkeypatch.setattr(cache.maintenance, "package_cache_lock", lock_after_a_use)
    report = prune(store.root_path, older_than_days=30, now=NOW)
    assert (report.removed, report.kept) == (1, 1)
    assert store.read("se/rd/serde") is not None
    assert store.read("3/l/log") is None


def test_prune_waits_for_the_package_cache_lock(store: IndexStore) -> None:
    fill(store, {"se/rd/serde": 40})
    with package_cache_lock(store.root_path), pytest.raises(OSError, match="timed out"):
        prune(store.root_path, older_than_days=1, lock_timeout=0)
    assert store.read("se/rd/serde") is not None


def test_an_open_entry_is_still_read_whole_after_prune(store: IndexStore) -> None:
    fill(store, {"se/rd/serde": 40})
    with open(store.cache_path("se/rd/serde"), "rb") as handle:
        assert prune(store.root_path, older_than_days=1).removed == 1
        assert handle.read() == entry("serde")
    assert store.read("se/rd/serde") is None


def test_prune_never_removes_cargo_files(tmp_path: Path) -> None:
    home = fake_cargo_home(tmp_path)
    before = {p: (home / p).read_bytes() for p in listing(home) if (home / p).is_file()}
    for dirpath, _dirnames, filenames in os.walk(home):  # after reading: a read is a use
        for name in filenames:
            age(os.path.join(dirpath, name), 400)
    report = prune(home, older_than_days=1)
    assert report.removed == 3  # the three .cache files
    after = {p: (home / p).read_bytes() for p in listing(home) if (home / p).is_file()}
    assert {p for p in before if p not in after} == {
        f"registry/index/{GIT_DIR}/.cache/se/rd/serde",
        f"registry/index/{DIR}/.cache/se/rd/serde",
        f"registry/index/{DIR}/.cache/3/l/log",
    }
    assert all(after[p] == before[p] for p in after)


#: A reader process: reads the entries over and over until the stop file appears; every read
#: must be a whole entry (its integrity record VERIFIED, the expected bytes) or a miss.
READER = """
import os, sys
from cache.integrity import VERIFIED, check
from cache.store import IndexStore
root, dir_name, stop = sys.argv[1:4]
rels = sys.argv[4:]
whole = missed = rounds = 0
while not os.path.exists(stop):
    store = IndexStore(root, dir_name)
    for rel in rels:
        found = store.read_with_record(rel)
        if found is None:
            missed += 1
            continue
        data, record = found
        name = rel.rsplit("/", 1)[1].encode()
        if check(data, record) != VERIFIED or name not in data or not data.endswith(b"}\\0"):
            print("TORN", rel, data[-20:], record, flush=True)
            sys.exit(1)
        whole += 1
    rounds += 1
    if rounds == 1:
        print("ready", flush=True)
print("ok", whole, missed, flush=True)
"""

#: A writer process: stores the entries again and again (under the lock, atomically) until the
#: stop file appears.
WRITER = """
import os, sys
from cache.store import IndexStore
root, dir_name, stop = sys.argv[1:4]
rels = sys.argv[4:]
store = IndexStore(root, dir_name)
i = 0
while not os.path.exists(stop):
    items = {}
    for rel in rels:
        name = rel.rsplit("/", 1)[1].encode()
        items[rel] = b'\\x03\\x02\\x00\\x00\\x00etag: "%d"\\x00' % i + b"1.0.0\\x00" + (
            b'{"name":"%s","pad":"%s"}\\x00' % (name, b"x" * (i % 50 * 100))
        )
    problems = store.write_many(items, record_sums=True)
    assert not problems, problems
    i += 1
    if i == 1:
        print("ready", flush=True)
print("ok", i, flush=True)
"""

#: Rounds of prune (each: by age, then by a keep set) while the readers and the writer run.
PRUNE_ROUNDS = 40


def test_prune_under_concurrent_readers_and_a_writer(store: IndexStore, tmp_path: Path) -> None:
    rels = [f"{n[:2]}/{n[2:4]}/{n}" for n in ("serde", "tokio", "rand-core", "memchr", "regex")]
    rels += ["1/a", "2/bb", "3/c/cde"]
    fill(store, dict.fromkeys(rels, 40), fresh=False)
    stop = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, store.root_path, DIR, str(stop), *rels],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for script in (READER, READER, READER, WRITER)
    ]
    removed = 0
    try:
        for proc in procs:  # every process is reading (or writing) before prune starts
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=60)
        for _ in range(PRUNE_ROUNDS):
            for rel in rels:  # whatever the writer stored is "old" again
                with contextlib.suppress(FileNotFoundError):
                    age(store.cache_path(rel), 40)
            removed += prune(store.root_path, older_than_days=30).removed
            removed += prune(store.root_path, keep={DIR: set(rels[:2])}).removed
    finally:
        stop.write_bytes(b"")
        outcomes = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, out + err
        assert out.startswith("ok"), out + err
    assert removed > 0
    for out, _ in outcomes[:-1]:
        assert int(out.split()[1]) > 0  # each reader saw whole entries, not only misses
    for rel in rels:  # and every entry left is whole
        found = store.read_with_record(rel)
        assert found is None or check(*found) == VERIFIED


# --- clean ---------------------------------------------------------------------------------------

GIT_DIR = "github.com-1ecc6299db9ec823"


def fake_cargo_home(tmp_path: Path) -> Path:
    """What a CARGO_HOME holds: cargo's git index clone (with its own index cache), a sparse
    index, downloaded crates, unpacked sources, git checkouts, the last-use database, locks,
    configuration, installed binaries."""
    home = tmp_path / "cargo-home"
    files = {
        f"registry/index/{GIT_DIR}/.git/HEAD": b"ref: refs/heads/master\n",
        f"registry/index/{GIT_DIR}/.git/objects/pack/pack-1.pack": b"PACK" * 100,
        f"registry/index/{GIT_DIR}/.last-updated": b"",
        f"registry/index/{GIT_DIR}/.cache/se/rd/serde": entry("serde"),
        f"registry/index/{DIR}/.cache/se/rd/serde": entry("serde"),
        f"registry/index/{DIR}/.cache/3/l/log": entry("log"),
        f"registry/index/{DIR}/config.json": b'{"dl":"https://static.crates.io/crates"}',
        "registry/cache/index.crates.io-1949cf8c6b5b557f/serde-1.0.0.crate": b"crate" * 50,
        "registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/src/lib.rs": b"//! serde\n",
        "registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/.x.tmp-1-0123456789abcdef": (
            b"not ours"
        ),
        "registry/CACHEDIR.TAG": CACHEDIR_TAG,
        "git/db/foo-123/HEAD": b"ref\n",
        "git/checkouts/foo-123/abc/lib.rs": b"fn f() {}\n",
        ".global-cache": b"SQLite format 3\x00",
        ".package-cache": b"",
        ".package-cache-mutate": b"",
        "config.toml": b"[net]\nretry = 2\n",
        "bin/cargo-foo": b"#!/bin/sh\n",
    }
    for rel, data in files.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return home


def test_clean_on_a_cargo_home_removes_only_index_caches(tmp_path: Path) -> None:
    home = fake_cargo_home(tmp_path)
    ours = IndexStore(home, DIR)
    assert ours.write_many({"ra/nd/rand": entry("rand")}, {"ra/nd/rand": 60}) == []
    before = {p: (home / p).read_bytes() for p in listing(home) if (home / p).is_file()}
    report = clean(home)
    after = {p: (home / p).read_bytes() for p in listing(home) if (home / p).is_file()}
    gone = {p for p in before if p not in after}
    assert gone == {
        f"registry/index/{GIT_DIR}/.cache/se/rd/serde",
        f"registry/index/{DIR}/.cache/se/rd/serde",
        f"registry/index/{DIR}/.cache/3/l/log",
        f"registry/index/{DIR}/.cache/ra/nd/rand",
        f"registry/index/{DIR}/.registry/fresh/ra/nd/rand",
        f"registry/index/{DIR}/config.json",  # a sparse index's cached copy
    }
    assert report.freed == sum(len(before[p]) for p in gone)
    assert all(after[p] == before[p] for p in after)  # the rest: untouched
    assert not (home / "registry" / "index" / DIR).exists()
    assert report.kept == (
        f"registry/index/{GIT_DIR}/.git",
        f"registry/index/{GIT_DIR}/.last-updated",
        *CARGO_OWNED,
    )
    assert not [p for p in listing(home / "registry") if ".trash" in p]


def test_clean_cli_says_what_was_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = fake_cargo_home(tmp_path)
    assert run(["--cache-dir", str(home), "cache", "clean"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("removed ") and out[0].endswith(f" bytes from {home}")
    assert out[1] == (
        f"kept (not an index cache): registry/index/{GIT_DIR}/.git, "
        f"registry/index/{GIT_DIR}/.last-updated, registry/cache, registry/src, git, "
        ".global-cache"
    )
    assert (home / "registry" / "index" / GIT_DIR / ".git" / "HEAD").exists()


def test_clean_collects_a_killed_cleans_trash_and_stale_temps(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = IndexStore(home, DIR)
    assert store.write_many({"1/a": entry("a")}) == []
    registry = home / "registry"
    old_trash = registry / temp_name_for("trash")
    (old_trash / f"{DIR}.cache" / "1").mkdir(parents=True)
    (old_trash / f"{DIR}.cache" / "1" / "b").write_bytes(b"12345")
    young_trash = registry / temp_name_for("trash")
    young_trash.mkdir()
    old_temp = registry / ".CACHEDIR.TAG.tmp-1-0123456789abcdef"
    old_temp.write_bytes(b"zz")
    top_temp = Path(store.dir_path) / ".config.json.tmp-2-0123456789abcdef"
    top_temp.write_bytes(b"zzz")
    when = time.time() - STALE_TEMP_AGE - 60
    for path in (old_trash, old_temp):
        os.utime(path, (when, when))
    report = clean(home)
    assert report.freed == len(entry("a")) + 5 + 2 + 3
    assert not old_trash.exists() and not old_temp.exists() and not top_temp.exists()
    assert young_trash.exists()  # may belong to a clean still running
    assert stats(home) == {}
    assert (home / LOCK_FILE_NAME).exists()


def test_stats_and_clean(store: IndexStore) -> None:
    assert stats(store.root_path) == {}
    assert clean(store.root_path).freed == 0
    assert store.write_many({"se/rd/serde": b"12345", "1/a": b"1"}, {"1/a": 5}) == []
    assert store.write_config(b"{}") == []
    other = IndexStore(Path(store.root_path), "github.com-25cdd57fae9f0462")
    assert other.write_many({"2/cc": b"123"}) == []
    assert stats(store.root_path) == {
        DIR: {"dirs": 7, "files": 4, "bytes": 5 + 1 + 2 + 2},
        "github.com-25cdd57fae9f0462": {"dirs": 2, "files": 1, "bytes": 3},
    }
    assert clean(store.root_path) == cache.maintenance.CleanReport(5 + 1 + 2 + 2 + 3, ())
    assert stats(store.root_path) == {}
    assert (Path(store.root_path) / "registry" / "index").is_dir()
    assert (Path(store.root_path) / "registry" / "CACHEDIR.TAG").read_bytes() == CACHEDIR_TAG


def test_clean_does_not_follow_symlinks(store: IndexStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_bytes(b"keep")
    assert store.write_many({"1/a": b"A"}) == []
    (Path(store.dir_path) / "link").symlink_to(outside)
    (Path(store.root_path) / "registry" / "index" / "toplink").symlink_to(outside)
    (Path(store.dir_path) / ".cache" / "2").symlink_to(outside)
    report = clean(store.root_path)
    assert report.freed == 1
    assert report.kept == (f"registry/index/{DIR}/link",)  # not ours: kept, not followed
    assert (outside / "precious").read_bytes() == b"keep"
    assert (Path(store.root_path) / "registry" / "index" / "toplink").is_symlink()


# --- the command line ----------------------------------------------------------------------------

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    def call(*args: str) -> tuple[int, str, str]:
        code = run(["--cache-dir", str(tmp_path / "home"), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def test_prune_cli(store: IndexStore, cli: Cli, tmp_path: Path) -> None:
    lock = tmp_path / "Cargo.lock"
    lock.write_text(
        "version = 3\n\n"
        '[[package]]\nname = "serde"\nversion = "1.0.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n\n'
        '[[package]]\nname = "local"\nversion = "0.1.0"\n'
    )
    other = tmp_path / "other.lock"
    other.write_text(
        'version = 3\n\n[[package]]\nname = "log"\nversion = "0.4.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
    )
    fill(store, {"se/rd/serde": 40, "3/l/log": 40, "ra/nd/rand": 40, "1/a": 1})
    legacy = IndexStore(store.root_path, "index.crates.io-6f17d22bba15001f")
    fill(legacy, {"se/rd/serde": 40, "ra/nd/rand": 40})
    code, out, err = cli("cache", "prune", "--keep", str(lock), str(other), "--older-than", "30")
    assert (code, err) == (0, "")
    freed = 2 * len(entry("rand")) + 2 * len(b"60\n")  # with their max-age sidecars
    home = tmp_path / "home"
    assert out == f"removed 2 index entries ({freed} bytes) from {home}; kept 4\n"
    assert store.read("ra/nd/rand") is None and legacy.read("ra/nd/rand") is None
    # cargo <= 1.84's directory keeps what the lockfiles need too
    assert legacy.read("se/rd/serde") is not None
    assert store.read("se/rd/serde") is not None and store.read("3/l/log") is not None
    code, out, _ = cli("-q", "cache", "prune", "--keep", str(lock), "--keep", str(other))
    assert (code, out) == (0, "")
    assert store.read("1/a") is None
    assert store.read("3/l/log") is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --older-than DAYS, --keep LOCKFILE, or both"),
        (("--older-than", "x"), "invalid value for --older-than: 'x' is not a whole number"),
        (("--older-than", "-1"), "is not a whole number of days"),
        (("--older-than", "1.5"), "is not a whole number of days"),
        (("--keep",), "option --keep requires an argument"),
        (("--keep", "missing.lock"), "missing.lock"),
    ],
)
def test_prune_cli_bad_usage(cli: Cli, args: tuple[str, ...], message: str) -> None:
    code, out, err = cli("cache", "prune", *args)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err
