"""Null-build fingerprints for ``registry check``: answer an unchanged rerun from the last verdict.

A fingerprint record is stored per (workspace, options) under
``<cache-dir>/registry/fingerprints/<key>.fp``, written atomically: the bytes of `MAGIC`, then
the record as a ``marshal`` dump (a builtin: ``json``'s import would be a large share of a
hit, docs/performance.md). It holds::

    inputs      BLAKE3 over the tool version, the options, and the bytes of every input file
                (lockfile, manifests, cargo config files) plus the listing of every directory
                a members glob was expanded in, which candidate files (config files,
                ancestor manifests) were absent and which paths were present
    cache       (path, mtime_ns, size) of every cache file the check consulted
    seeded      those of them read from cargo <= 1.84's directory (cache/store.py, "Seeding")
    fresh_until the earliest time a consulted cache file is due for revalidation (online only)
    offline     whether the run was offline (the command line, the environment, or net.offline
                in the configuration files, which are among the inputs)
    output      the exact text printed, and the exit code

A rerun rebuilds the input digest (reads the same files, lists the same directories), stats the
cache files, and replays the output when all agree. It is never used with ``--refresh``, online
once a revalidation is due, or with ``--no-fingerprint``. A corrupt, foreign or unreadable
record is ignored. Records hold no token: options are hashed after the token is removed.

A replay is a use of the cache files it stats: their access times are brought up to date
(cache/lastuse.py, at most once a day each; never a seed's), so ``cache prune --older-than``
keeps what fingerprint hits depend on.

Stdlib + blake3 only: this runs on the fast path.

Format versions: 1 (JSON, ``<key>.json``), 2 (`MAGIC` + marshal, ``<key>.fp``), 3 (2 with
``present``: paths whose existence the verdict depends on, such as a package's ``src/lib.rs``,
and the check's cwd in the options: cargo reads its configuration from there). A record of
another version is ignored (and the file of version 1 left to ``cache clean``).
"""

from __future__ import annotations

import marshal
import os
import time
from stat import S_ISREG

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

FORMAT = "registry-fingerprint"
FORMAT_VERSION = 3
MAGIC = b"registry-fingerprint\x00\x03\n"
# marshal's own format version: 4 is read by every Python 3.4+
_MARSHAL_VERSION = 4
# cache.lastuse.RESOLUTION, without importing it on the fast path (test_lastuse pins the two)
_ATIME_RESOLUTION = 86400.0
#: registry.options.MAX_INPUT_BYTES (cache/ imports nothing of registry/; a test pins the two).
MAX_INPUT_BYTES = 256 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def check_options(
    *,
    manifest: str,
    fmt: str,
    unknown: str,
    deny_yanked: bool,
    offline: bool,
    index_url: str | None,
    quiet: bool,
    color: str,
    token_given: bool,
    config: tuple[str, ...] = (),
) -> dict[str, object]:
    """Everything besides files that a ``check`` verdict and its printed output depend on:
    ``color`` what the colours depend on besides cargo's configuration files, ``config`` the
    ``--config`` arguments (cargo's configuration files are inputs of the record).

    The full CLI and the fast path both build the record key from this, so they must agree.
    The token itself never enters it (only whether one was given).
    """
    return {
        "manifest": os.path.abspath(manifest),
        "format": fmt,
        "unknown": unknown,
        "deny_yanked": deny_yanked,
        "offline": offline,
        "index_url": index_url,
        "quiet": quiet,
        "color": color,
        "token": token_given,
        "cargo_home": os.environ.get("CARGO_HOME", ""),
        "cwd": os.getcwd(),
        "config": list(config),
    }


def record_path(cache_root: str, key: str) -> str:
    return os.path.join(cache_root, "registry", "fingerprints", key + ".fp")


def record_key(workspace: str, options: Mapping[str, object]) -> str:
    """Which record a run reads and writes: the workspace's absolute path and the options."""
    from blake3 import blake3

    hasher = blake3()
    hasher.update(os.path.abspath(workspace).encode())
    hasher.update(b"\0")
    hasher.update(_options_text(options))
    return str(hasher.hexdigest())[:32]


def _options_text(options: Mapping[str, object]) -> bytes:
    """The options in a stable spelling (their values are str, bool or None)."""
    return repr(sorted(options.items())).encode()


def encode(record: Mapping[str, object]) -> bytes:
    """A record file's bytes."""
    return MAGIC + marshal.dumps(dict(record), _MARSHAL_VERSION)


def decode(data: bytes) -> object:
    """What a record file holds, or None when it is not one of ours (no `MAGIC`, damaged)."""
    if not data.startswith(MAGIC):
        return None
    try:
        return marshal.loads(data[len(MAGIC) :])
    except (EOFError, ValueError, TypeError):
        return None


def input_digest(
    version: str,
    options: Mapping[str, object],
    files: Sequence[str],
    dirs: Sequence[str],
    absent: Sequence[str],
    present: Sequence[str] = (),
) -> str | None:
    """BLAKE3 over everything the verdict depends on; None when a file or dir is unreadable,
    an absent path exists or a present one does not."""
    from blake3 import blake3

    hasher = blake3()
    hasher.update(f"{FORMAT}/{FORMAT_VERSION}/{version}\0".encode())
    hasher.update(_options_text(options) + b"\0")
    try:
        for path in files:
            # O_NONBLOCK: a FIFO put where a file was opens at once (and is refused below)
            with open(os.open(path, _READ_FLAGS), "rb") as handle:
                st = os.fstat(handle.fileno())
                # Only regular files have a fingerprint: a pipe cannot be read twice, and a
                # device may never end. Larger than the input cap: the check refuses it.
                if not S_ISREG(st.st_mode) or st.st_size > MAX_INPUT_BYTES:
                    return None
                data = handle.read(st.st_size + 1)
            if len(data) > st.st_size:  # growing as we read: no verdict to store or replay
                return None
            hasher.update(f"F{path}\0{len(data)}\0".encode())
            hasher.update(data)
        for path in dirs:
            listing = "\0".join(sorted(os.listdir(path)))
            hasher.update(f"D{path}\0{listing}\0".encode())
    except OSError:
        return None
    for path in absent:
        if os.path.exists(path):
            return None
        hasher.update(f"A{path}\0".encode())
    for path in present:
        if not os.path.exists(path):
            return None
        hasher.update(f"P{path}\0".encode())
    return str(hasher.hexdigest())


def stat_cache_files(paths: Iterable[str]) -> list[list[object]] | None:
    rows: list[list[object]] = []
    try:
        for path in paths:
            st = os.stat(path)
            rows.append([path, st.st_mtime_ns, st.st_size])
    except OSError:
        return None
    return rows


def load(cache_root: str, key: str) -> dict[str, object] | None:
    """The stored record, or None when missing, unreadable, corrupt or foreign."""
    try:
        with open(record_path(cache_root, key), "rb") as handle:
            data = decode(handle.read())
    except OSError:
        return None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("format_version") != FORMAT_VERSION
        or not isinstance(data.get("inputs"), str)
        or not isinstance(data.get("files"), list)
        or not isinstance(data.get("dirs"), list)
        or not isinstance(data.get("absent"), list)
        or not isinstance(data.get("present"), list)
        or not isinstance(data.get("cache"), list)
        or not isinstance(data.get("output"), str)
        or not isinstance(data.get("exit_code"), int)
    ):
        return None
    return data


def replay(
    record: Mapping[str, object],
    version: str,
    options: Mapping[str, object],
    *,
    offline: bool,
    now: float | None = None,
) -> tuple[str, int] | None:
    """(output, exit code) when the record still holds, else None."""
    files = record["files"]
    dirs = record["dirs"]
    absent = record["absent"]
    present = record["present"]
    cache = record["cache"]
    assert isinstance(files, list) and isinstance(dirs, list)
    assert isinstance(absent, list) and isinstance(cache, list)
    assert isinstance(present, list)
    # Offline by the command line or the environment (``offline``, part of the key), or by
    # net.offline in cargo's configuration files when the record was made: those files are
    # among the inputs, so if they are unchanged the run is offline again.
    if not offline and record.get("offline") is not True:
        until = record.get("fresh_until")
        if not isinstance(until, int | float) or (now or time.time()) >= until:
            return None
    digest = input_digest(
        version,
        options,
        [str(f) for f in files],
        [str(d) for d in dirs],
        [str(a) for a in absent],
        [str(p) for p in present],
    )
    if digest is None or digest != record["inputs"]:
        return None
    stale_before = (now or time.time()) - _ATIME_RESOLUTION
    stale: list[tuple[str, os.stat_result]] = []
    for row in cache:
        if not isinstance(row, list) or len(row) != 3:
            return None
        path, mtime_ns, size = row
        try:
            st = os.stat(str(path))
        except OSError:
            return None
        if st.st_mtime_ns != mtime_ns or st.st_size != size:
            return None
        if st.st_atime < stale_before:
            stale.append((str(path), st))
    output = record["output"]
    code = record["exit_code"]
    assert isinstance(output, str) and isinstance(code, int)
    if stale:
        _touch(stale, record.get("seeded"))
    return output, code


def _touch(stale: list[tuple[str, os.stat_result]], seeded: object) -> None:
    """A replay used these files: bring their access times up to date (not a seed's)."""
    from cache.lastuse import touch

    skip = set(seeded) if isinstance(seeded, list) else set()
    for path, st in stale:
        if path not in skip:
            touch(path, st)


def try_replay(
    cache_root: str, key: str, version: str, options: Mapping[str, object], *, offline: bool
) -> tuple[str, int] | None:
    """Load and replay the record for ``key`` in one step (None: run the full check)."""
    record = load(cache_root, key)
    if record is None:
        return None
    return replay(record, version, options, offline=offline)


def store(
    cache_root: str,
    key: str,
    *,
    version: str,
    options: Mapping[str, object],
    files: Sequence[str],
    dirs: Sequence[str],
    absent: Sequence[str],
    present: Sequence[str] = (),
    cache_files: Sequence[str] = (),
    fresh_until: float | None,
    output: str,
    exit_code: int,
    seeded_files: Sequence[str] = (),
    offline: bool = False,
) -> str | None:
    """Write the record atomically; a warning string when it could not be written.
    ``offline``: the run was offline, by the command line, the environment or cargo's
    configuration files (net.offline)."""
    from cache.atomic import write_atomic

    digest = input_digest(version, options, files, dirs, absent, present)
    rows = stat_cache_files(cache_files)
    if digest is None or rows is None:
        return None
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "inputs": digest,
        "files": list(files),
        "dirs": list(dirs),
        "absent": list(absent),
        "present": list(present),
        "cache": rows,
        "seeded": list(seeded_files),
        "fresh_until": fresh_until,
        "output": output,
        "exit_code": exit_code,
        "offline": offline,
    }
    try:
        write_atomic(record_path(cache_root, key), encode(record))
    except OSError as exc:
        return f"could not store the null-build fingerprint in {cache_root}: {exc.strerror}"
    return None
