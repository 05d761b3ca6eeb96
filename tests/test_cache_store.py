"""cache/store.py and cache/atomic.py: the on-disk layout, atomic writes, failure handling."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cache.store
from cache.atomic import is_temp_name, remove_stale_temps, temp_name_for, write_atomic
from cache.lock import LOCK_FILE_NAME, CacheLockTimeout, package_cache_lock
from cache.maintenance import clean
from cache.store import CACHEDIR_TAG, CacheReadError, IndexStore

DIR = "index.crates.io-1949cf8c6b5b557f"

CARGO_TRY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("acquired")
"""


def cargo_try(path: Path) -> str:
    """What a cargo process gets from a non-blocking flock(LOCK_EX) on ``path``."""
    out = subprocess.run(
        [sys.executable, "-c", CARGO_TRY, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@pytest.fixture
def store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "home", DIR)


# --- write_atomic / temps -------------------------------------------------------------------


def test_write_atomic_success_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["file"]


@pytest.mark.parametrize("failing", ["replace", "write"])
def test_write_atomic_failure_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"old")

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space") as info:
        write_atomic(target, b"new")
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file"]


def test_temp_names(tmp_path: Path) -> None:
    name = temp_name_for("serde")
    assert name.startswith(f".serde.tmp-{os.getpid()}-")
    assert is_temp_name(name)
    assert temp_name_for("serde") != name


@pytest.mark.parametrize(
    ("name", "is_temp"),
    [
        (".serde.tmp-123-0a1b2c3d4e5f6a7b", True),
        (".config.json.tmp-1-ff", True),
        ("serde.tmp-123-0a1b", False),  # no leading dot
        (".serde.tmp-abc-0a1b", False),  # pid not numeric
        (".serde.tmp-123-", False),
        (".serde.tmp-123-XYZ", False),
        (".serde", False),
        ("serde", False),
    ],
)
def test_is_temp_name(name: str, is_temp: bool) -> None:
    assert is_temp_name(name) is is_temp


def test_remove_stale_temps(tmp_path: Path) -> None:
    old = tmp_path / "x" / ".a.tmp-1-aa"
    young = tmp_path / "y" / ".b.tmp-2-bb"
    keep = tmp_path / "x" / "a"
    for p in (old, young, keep):
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"")
    os.utime(old, (1000, 1000))
    assert remove_stale_temps(tmp_path, older_than=3600) == 1
    assert all_files(tmp_path) == ["x/a", "y/.b.tmp-2-bb"]
    assert remove_stale_temps(tmp_path) == 1
    assert all_files(tmp_path) == ["x/a"]
    assert remove_stale_temps(tmp_path / "missing") == 0


# --- paths ----------------------------------------------------------------------------------


def test_layout(store: IndexStore, tmp_path: Path) -> None:
    assert Path(store.root_path) == tmp_path / "home"
    assert Path(store.dir_path) == tmp_path / "home" / "registry" / "index" / DIR
    assert (
        Path(store.cache_path("se/rd/serde"))
        == Path(store.dir_path) / ".cache" / "se" / "rd" / "serde"
    )
    assert Path(store.cache_path("3/f/fnv")) == Path(store.dir_path) / ".cache" / "3" / "f" / "fnv"
    assert (
        Path(store.sidecar_path("1/a")) == Path(store.dir_path) / ".registry" / "fresh" / "1" / "a"
    )


@pytest.mark.parametrize("root", ["home", "./home/", "home//x/.", "/", "//srv/cache", ".", ""])
def test_str_paths_are_the_path_objects_spelled(root: str) -> None:
    """The str-returning methods give exactly ``str()`` of their Path-returning twins, whatever
    spelling the cache root was given in (str or Path)."""
    for given in (root, Path(root)):
        store = IndexStore(given, DIR)
        assert store.root_path == str(Path(store.root_path)) == str(Path(root))
        assert (
            store.dir_path == str(Path(store.dir_path)) == str(Path(root, "registry", "index", DIR))
        )
        assert store.cache_path("se/rd/serde") == str(Path(store.cache_path("se/rd/serde")))
        assert store.sidecar_path("1/a") == str(Path(store.sidecar_path("1/a")))
        assert store.sum_path("3/f/fnv") == str(Path(store.sum_path("3/f/fnv")))
        assert store.sum_path("3/f/fnv") == str(
            Path(store.dir_path) / ".registry" / "sum" / "3/f/fnv"
        )
        assert (
            store.config_path
            == str(Path(store.config_path))
            == str(Path(store.dir_path) / "config.json")
        )
        assert repr(store) == f"IndexStore({str(Path(store.dir_path))!r})"


def test_holding_lock_is_held_once_and_not_reentrant(store: IndexStore) -> None:
    lock_path = Path(store.root_path) / LOCK_FILE_NAME
    with store.holding_lock() as held:
        assert held is True
        assert cargo_try(lock_path) == "busy"
        assert store.write_many({"1/a": b"A"}) == []  # no second acquisition: no deadlock
        with pytest.raises(RuntimeError, match="not reentrant"), store.holding_lock():
            pass
    assert cargo_try(lock_path) == "acquired"
    with pytest.raises(KeyError), store.holding_lock():
        raise KeyError("released on the way out")
    assert cargo_try(lock_path) == "acquired"
    assert store.read("1/a") == b"A"


def test_holding_lock_that_cannot_be_taken(store: IndexStore) -> None:
    Path(store.root_path).mkdir()
    (Path(store.root_path) / LOCK_FILE_NAME).mkdir()  # cannot be opened as a file
    with store.holding_lock() as held:
        assert held is False
        warnings = store.write_many({"1/a": b"A"})
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"failed to write cache, path: {Path(store.root_path) / LOCK_FILE_NAME}"
    )
    assert store.read("1/a") is None


def test_store_and_sources_do_not_import_pathlib() -> None:
    """The start-up path of ``check`` does without pathlib and fnmatch (docs/performance.md;
    contextlib and json are no longer avoided: they measured ~0.5 ms and 0 there)."""
    code = (
        "import sys\n"
        "import cache.store, cache.lock, registry.config.cargo_config\n"
        "import registry.render.verdict, query.manifest\n"
        "loaded = {'pathlib', 'fnmatch'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


@pytest.mark.parametrize(
    "rel",
    ["../x", "/etc/passwd", "a/../../x", "", "..", ".", "a/./b", "a//b", "a/", "a\0b", "a\\..\\b"],
)
def test_bad_rel_rejected(store: IndexStore, rel: str) -> None:
    with pytest.raises(ValueError, match="index path"):
        Path(store.cache_path(rel))
    with pytest.raises(ValueError, match="index path"):
        Path(store.sidecar_path(rel))


@pytest.mark.parametrize("dir_name", ["", ".", "..", "a/b", "a\0b"])
def test_bad_dir_name_rejected(tmp_path: Path, dir_name: str) -> None:
    with pytest.raises(ValueError, match="directory name"):
        IndexStore(tmp_path, dir_name)


# --- reads ----------------------------------------------------------------------------------


def test_read_missing_and_present(store: IndexStore) -> None:
    assert store.read("se/rd/serde") is None
    assert store.read_config() is None
    path = Path(store.cache_path("se/rd/serde"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x03data")
    assert store.read("se/rd/serde") == b"\x03data"


def test_read_directory_in_place_raises(store: IndexStore) -> None:
    Path(store.cache_path("se/rd/serde")).mkdir(parents=True)
    with pytest.raises(CacheReadError) as info:
        store.read("se/rd/serde")
    assert str(Path(store.cache_path("se/rd/serde"))) in str(info.value)
    assert info.value.errno == errno.EISDIR
    assert isinstance(info.value, OSError)


def test_read_file_in_place_of_directory_raises(store: IndexStore) -> None:
    parent = Path(store.cache_path("se/rd/serde")).parent
    parent.parent.mkdir(parents=True)
    parent.write_bytes(b"")
    with pytest.raises(CacheReadError):
        store.read("se/rd/serde")


def test_read_permission_denied_raises(store: IndexStore, monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(store.cache_path("se/rd/serde"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")

    real_open = os.open

    def denied(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(CacheReadError, match="serde") as info:
        store.read("se/rd/serde")
    assert info.value.errno == errno.EACCES


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_read_unreadable_file_raises(store: IndexStore) -> None:
    path = Path(store.cache_path("se/rd/serde"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(CacheReadError):
        store.read("se/rd/serde")


# --- write_many -----------------------------------------------------------------------------


def test_write_many(store: IndexStore) -> None:
    old = Path(store.cache_path("ol/d-/old-crate"))
    old.parent.mkdir(parents=True)
    old.write_bytes(b"stale")
    Path(store.sidecar_path("ol/d-/old-crate")).parent.mkdir(parents=True)
    Path(store.sidecar_path("ol/d-/old-crate")).write_bytes(b"60")

    warnings = store.write_many(
        {"se/rd/serde": b"S", "3/f/fnv": b"F", "ol/d-/old-crate": None, "1/z": None},
        {"se/rd/serde": 300, "ol/d-/old-crate": 60},
    )
    assert warnings == []
    assert store.read("se/rd/serde") == b"S"
    assert store.read("3/f/fnv") == b"F"
    assert store.read("ol/d-/old-crate") is None
    assert Path(store.sidecar_path("se/rd/serde")).read_bytes() == b"300\n"
    assert not Path(store.sidecar_path("3/f/fnv")).exists()
    assert not Path(store.sidecar_path("ol/d-/old-crate")).exists()
    registry = Path(store.root_path) / "registry"
    assert (registry / "CACHEDIR.TAG").read_bytes() == CACHEDIR_TAG
    assert all_files(Path(store.root_path)) == [
        LOCK_FILE_NAME,
        "registry/CACHEDIR.TAG",
        f"registry/index/{DIR}/.cache/3/f/fnv",
        f"registry/index/{DIR}/.cache/se/rd/serde",
        f"registry/index/{DIR}/.registry/fresh/se/rd/serde",
    ]


def test_cachedir_tag_exact_and_not_overwritten(store: IndexStore) -> None:
    assert CACHEDIR_TAG == (
        b"Signature: 8a477f597d28d172789f06886806bc55\n"
        b"# This file is a cache directory tag created by cargo.\n"
        b"# For information about cache directory tags see https://bford.info/cachedir/\n"
    )
    assert store.write_config(b"{}") == []
    tag = Path(store.root_path) / "registry" / "CACHEDIR.TAG"
    assert tag.read_bytes() == CACHEDIR_TAG
    tag.write_bytes(b"Signature: 8a477f597d28d172789f06886806bc55\n")
    assert store.write_many({"1/a": b"A"}) == []
    assert tag.read_bytes() == b"Signature: 8a477f597d28d172789f06886806bc55\n"


def test_write_many_holds_the_lock_once(store: IndexStore, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_path = Path(store.root_path) / LOCK_FILE_NAME
    seen: list[str] = []
    acquisitions: list[Path] = []
    real_write = write_atomic
    real_lock = package_cache_lock

    def spying_write(path: Path, data: bytes, finish: Any = None, temp: Any = None) -> bool:
        seen.append(cargo_try(lock_path))  # what cargo would get right now
        return real_write(path, data, finish, temp)

    def counting_lock(root: Path, timeout: float = 60.0, on_wait: Any = None) -> Any:
        acquisitions.append(root)
        return real_lock(root, timeout, on_wait)

    monkeypatch.setattr(cache.store, "write_atomic", spying_write)
    monkeypatch.setattr(cache.store, "package_cache_lock", counting_lock)
    assert store.write_many({"1/a": b"A", "2/bb": b"B", "3/c/ccc": b"C"}) == []
    assert [os.fspath(root) for root in acquisitions] == [os.fspath(Path(store.root_path))]
    assert seen == ["busy"] * 4  # CACHEDIR.TAG + three files, all under cargo's lock
    assert cargo_try(lock_path) == "acquired"


def test_write_many_nothing_to_do(store: IndexStore) -> None:
    assert store.write_many({}) == []
    assert not Path(store.root_path).exists()


@pytest.mark.parametrize(
    ("items", "max_ages"),
    [
        ({"1/a": b"A", "../x": b"X"}, None),
        ({"1/a": b"A"}, {"1/a": -1}),
        ({"1/a": b"A"}, {"1/a": 1.5}),
    ],
)
def test_write_many_invalid_input_writes_nothing(
    store: IndexStore, items: dict[str, bytes | None], max_ages: dict[str, int] | None
) -> None:
    with pytest.raises(ValueError, match=r"index path|max-age"):
        store.write_many(items, max_ages)
    assert not Path(store.root_path).exists()


def _deny_writes_under(monkeypatch: pytest.MonkeyPatch, root: Path, err: int) -> None:
    real_open = os.open
    prefix = str(root) + os.sep

    def guarded(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(prefix) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(err, os.strerror(err), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


@pytest.mark.parametrize("err", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_unwritable_index_dir_warns(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    path = Path(store.cache_path("se/rd/serde"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old")
    _deny_writes_under(monkeypatch, Path(store.root_path) / "registry", err)
    warnings = store.write_many({"se/rd/serde": b"new", "1/a": b"A"}, {"se/rd/serde": 60})
    monkeypatch.undo()
    assert len(warnings) == 3  # CACHEDIR.TAG and both files
    assert any(str(path) in w and os.strerror(err) in w for w in warnings)
    assert all(w.startswith("failed to write cache, path: ") for w in warnings)
    assert path.read_bytes() == b"old"
    assert not Path(store.sidecar_path("se/rd/serde")).exists()
    assert remove_stale_temps(Path(store.root_path)) == 0
    assert store.write_config(b"{}") == []  # works again once writable


def test_unwritable_cache_root_warns(store: IndexStore, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(store.root_path).mkdir()
    _deny_writes_under(monkeypatch, Path(store.root_path), errno.EROFS)
    warnings = store.write_many({"1/a": b"A"})
    assert len(warnings) == 1
    assert LOCK_FILE_NAME in warnings[0]
    assert store.write_config(b"{}") != []
    assert store.touch_fresh(["1/a"], {"1/a": 5}) != []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_warns(store: IndexStore) -> None:
    Path(store.root_path).mkdir()
    (Path(store.root_path) / LOCK_FILE_NAME).write_bytes(b"")
    (Path(store.root_path) / "registry").mkdir(mode=0o555)
    try:
        warnings = store.write_many({"1/a": b"A"})
    finally:
        (Path(store.root_path) / "registry").chmod(0o755)
    assert warnings
    assert store.read("1/a") is None


def test_lock_timeout_becomes_warning(store: IndexStore) -> None:
    Path(store.root_path).mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(Path(store.root_path) / LOCK_FILE_NAME),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "locked\n"
        quick = IndexStore(Path(store.root_path), DIR, lock_timeout=0)
        warnings = quick.write_many({"1/a": b"A"})
        assert len(warnings) == 1
        assert LOCK_FILE_NAME in warnings[0]
        assert quick.read("1/a") is None
        with pytest.raises(CacheLockTimeout):
            clean(store.root_path, lock_timeout=0)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


# --- config, freshness sidecars -------------------------------------------------------------


def test_config_round_trip(store: IndexStore) -> None:
    raw = b'{"dl":"https://static.crates.io/crates","api":"https://crates.io"}\n'
    assert store.write_config(raw) == []
    assert store.read_config() == raw
    assert (Path(store.dir_path) / "config.json").read_bytes() == raw


def test_touch_fresh(store: IndexStore) -> None:
    assert store.write_many({"1/a": b"A", "2/bb": b"B"}, {"1/a": 10, "2/bb": 10}) == []
    for rel in ("1/a", "2/bb"):
        os.utime(Path(store.sidecar_path(rel)), (1000, 1000))
    assert store.touch_fresh(["1/a", "2/bb"], {"1/a": 600}) == []
    sidecar = Path(store.sidecar_path("1/a"))
    assert sidecar.read_bytes() == b"600\n"
    assert sidecar.stat().st_mtime > 1000
    assert not Path(store.sidecar_path("2/bb")).exists()  # 304 without max-age: not fresh
    assert store.read("1/a") == b"A"  # the cache file itself is untouched
    assert store.touch_fresh([], {}) == []


# --- integrity records: xattr, or a sidecar where the filesystem has no xattrs ----------------

_CACHE_BYTES = b'\x03\x02\x00etag: "1"\x001.0.0\x00{"name":"a"}\x00'


def _no_xattrs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem without user xattrs: both calls fail with ENOTSUP."""

    def refuse(*args: Any) -> Any:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", refuse)
    monkeypatch.setattr(os, "getxattr", refuse)


@pytest.mark.parametrize("xattrs", [True, False], ids=["xattr", "sidecar"])
def test_integrity_record_round_trip(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch, xattrs: bool
) -> None:
    from cache.integrity import CORRUPT, FOREIGN, VERIFIED, XATTR, check, record

    if not xattrs:
        _no_xattrs(monkeypatch)
    assert store.write_many({"1/a": _CACHE_BYTES}, record_sums=True) == []
    sidecar = Path(store.dir_path) / ".registry" / "sum" / "1" / "a"
    assert sidecar.exists() is not xattrs  # a second file only where xattrs are missing
    if xattrs:
        assert os.getxattr(Path(store.cache_path("1/a")), XATTR) == record(_CACHE_BYTES)
    found = store.read_with_record("1/a")
    assert found is not None and check(*found) == VERIFIED
    # bit rot in place keeps the record (inode, sidecar): caught
    flipped = _CACHE_BYTES.replace(b'"a"', b'"b"')
    with open(Path(store.cache_path("1/a")), "r+b") as handle:
        handle.write(flipped)
    found = store.read_with_record("1/a")
    assert found is not None and check(*found) == CORRUPT
    # another writer's newer entry, written in place as cargo does: foreign
    newer = _CACHE_BYTES.replace(b'"1"', b'"2"')
    with open(Path(store.cache_path("1/a")), "wb") as handle:
        handle.write(newer)
    found = store.read_with_record("1/a")
    assert found is not None and check(*found) == FOREIGN
    # adopting it records it again
    assert store.write_sums({"1/a": newer}) == []
    found = store.read_with_record("1/a")
    assert found is not None and check(*found) == VERIFIED


def test_integrity_record_of_a_cargo_written_file_is_none(store: IndexStore) -> None:
    from cache.integrity import INTACT, check

    path = Path(store.cache_path("1/a"))
    path.parent.mkdir(parents=True)
    path.write_bytes(_CACHE_BYTES)
    assert store.read_with_record("1/a") == (_CACHE_BYTES, None)
    assert check(_CACHE_BYTES, None) == INTACT


def test_xattr_record_wins_over_a_stale_sidecar(store: IndexStore) -> None:
    """A sidecar left by an older registry is ignored once the file carries its own record."""
    from cache.integrity import VERIFIED, check, record

    sidecar = Path(store.dir_path) / ".registry" / "sum" / "1" / "a"
    sidecar.parent.mkdir(parents=True)
    sidecar.write_bytes(record(b"\x03\x02\x00other\x00"))
    assert store.write_many({"1/a": _CACHE_BYTES}, record_sums=True) == []
    found = store.read_with_record("1/a")
    assert found is not None and found[1] == record(_CACHE_BYTES)
    assert check(*found) == VERIFIED


# --- writes prepared ahead (reserve), versions read from headers alone (peek_version) ----------


def test_write_atomic_into_a_created_temp(tmp_path: Path) -> None:
    from cache.atomic import create_temp

    target = tmp_path / "a" / "b" / "file"
    temp = create_temp(target)  # the directories are made with it
    assert is_temp_name(os.path.basename(temp)) and os.path.getsize(temp) == 0
    assert write_atomic(target, b"data", temp=temp) is False
    assert target.read_bytes() == b"data"
    assert os.listdir(target.parent) == ["file"]  # the temp was used up
    # a temp that vanished meanwhile (swept, or used by another write): a new one is made
    assert write_atomic(target, b"again", temp=temp) is False
    assert target.read_bytes() == b"again"
    assert os.listdir(target.parent) == ["file"]


def test_reserve_needs_the_lock_and_writes_use_it_up(store: IndexStore) -> None:
    rels = ["se/rd/serde", "3/f/foo", "ab/cd/abcd"]
    assert store.reserve(rels) == {}  # outside holding_lock: nothing will be written
    with store.holding_lock():
        temps = store.reserve(rels)
        assert sorted(temps) == sorted(rels)
        for rel, temp in temps.items():
            assert os.path.dirname(temp) == os.path.dirname(store.cache_path(rel))
            assert os.path.isfile(temp)
        warnings = store.write_many({"se/rd/serde": b"one", "3/f/foo": b"two"}, temps=temps)
        assert warnings == []
        store.release([temps["ab/cd/abcd"]])
    assert store.read("se/rd/serde") == b"one" and store.read("3/f/foo") == b"two"
    cache_dir = Path(store.dir_path) / ".cache"
    assert sorted(p.name for p in cache_dir.iterdir()) == ["3", "se"]  # ab/cd/ went with it
    assert not [p for p in Path(store.dir_path).rglob("*") if is_temp_name(p.name)]
    store.release(temps.values())  # already gone: fine


def test_reserve_when_the_lock_cannot_be_taken(store: IndexStore) -> None:
    with package_cache_lock(Path(store.root_path)):
        blocked = IndexStore(store.root_path, os.path.basename(store.dir_path), lock_timeout=0.1)
        with blocked.holding_lock() as held:
            assert held is False
            assert blocked.reserve(["se/rd/serde"]) == {}


def test_release_of_everything_reserved_leaves_no_directory(store: IndexStore) -> None:
    with store.holding_lock():
        store.release(store.reserve(["se/rd/serde", "3/f/foo"]).values())
    assert not (Path(store.dir_path) / ".cache").exists()
    assert Path(store.dir_path).is_dir()  # only what reserve made below .cache goes


def test_a_failed_write_removes_its_reserved_temp(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*_args: Any, **_kwargs: Any) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    with store.holding_lock():
        temps = store.reserve(["se/rd/serde"])
        monkeypatch.setattr(cache.store, "write_atomic", failing)
        warnings = store.write_many({"se/rd/serde": b"x"}, temps=temps)
    assert any("se/rd/serde" in w and "No space left on device" in w for w in warnings)
    assert not os.path.exists(temps["se/rd/serde"])


def _header(version: str) -> bytes:
    return b"\x03\x02\x00\x00\x00" + version.encode() + b"\x00"


@pytest.mark.parametrize(
    ("content", "version"),
    [
        pytest.param(_header('etag: "abc"') + b"1.0.0\x00{}\x00", 'etag: "abc"', id="etag"),
        pytest.param(
            _header("last-modified: Tue, 01 Oct 2019 10:00:00 GMT"),
            "last-modified: Tue, 01 Oct 2019 10:00:00 GMT",
            id="last-modified-no-entries",
        ),
        pytest.param(_header("Unknown") + b"garbage after", "Unknown", id="body-not-checked"),
        pytest.param(_header('etag: "' + "x" * 600 + '"'), None, id="header-past-512-bytes"),
        pytest.param(b"\x02\x02\x00\x00\x00v\x00", None, id="other-cache-version"),
        pytest.param(b"\x03\x02\x00\x00\x00\xff\xfe\x00", None, id="version-not-utf8"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_peek_version(store: IndexStore, content: bytes, version: str | None) -> None:
    path = Path(store.cache_path("se/rd/serde"))
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert store.peek_version("se/rd/serde") == version


def test_peek_version_of_a_missing_entry_or_a_directory(store: IndexStore) -> None:
    assert store.peek_version("se/rd/serde") is None
    os.makedirs(store.cache_path("se/rd/serde"))
    assert store.peek_version("se/rd/serde") is None
