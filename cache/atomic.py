"""Atomic file replacement for cache files.

Readers take no lock, so a file must never be seen half-written: we write a temp file in the
same directory and ``os.replace`` it over the target (atomic on POSIX within one filesystem).
No fsync: a cache lost in a crash is just refetched. (Cargo itself writes cache files in place
with ``fs::write``; the result on disk is the same bytes.)

Temp files are named ``.<name>.tmp-<pid>-<16 random hex digits>`` so that leftovers from a
killed process are recognisable and `remove_stale_temps` can sweep them.

Only ``os`` and ``time`` are imported (no pathlib): this sits on start-up paths.
"""

from __future__ import annotations

import contextlib
import os
import time

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from os import PathLike

    StrPath = str | PathLike[str]

__all__ = [
    "TEMP_MARKER",
    "create_temp",
    "is_temp_name",
    "remove_stale_temps",
    "temp_name_for",
    "write_atomic",
]

TEMP_MARKER = ".tmp-"
_HEX = "0123456789abcdef"


def temp_name_for(name: str) -> str:
    """A fresh temp file name for ``name``: ``.<name>.tmp-<pid>-<16 random hex digits>``."""
    return f".{name}{TEMP_MARKER}{os.getpid()}-{os.urandom(8).hex()}"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` looks like a temp file name made by `temp_name_for`."""
    if not name.startswith(".") or TEMP_MARKER not in name:
        return False
    pid, sep, rand = name.rpartition(TEMP_MARKER)[2].partition("-")
    return bool(sep and rand) and pid.isdigit() and not rand.strip(_HEX)


def create_temp(path: StrPath) -> str:
    """Create an empty temp file for ``path`` (and ``path``'s missing parent directories) and
    return its name, for a `write_atomic` of ``path`` to come (its ``temp``). Creating files is
    most of what writing a cache costs (the data are small), so a writer that knows which files
    it will write can create them while it waits for their data (registry/index/loader.py:
    while the downloads are in flight). OSError propagates; a temp never used must be removed
    by its creator (or, left by a killed process, by `remove_stale_temps`)."""
    tmp, fd = _open_temp(os.fspath(path))
    os.close(fd)
    return tmp


def write_atomic(
    path: StrPath,
    data: bytes,
    finish: Callable[[int], bool] | None = None,
    temp: str | None = None,
) -> bool:
    """Replace ``path`` with ``data`` atomically, creating parent directories as needed.

    ``finish``, if given, is called with the temp file's descriptor once the data are written,
    before the rename (to set an xattr); its result is returned (else False). ``temp`` is a temp
    file made for ``path`` by `create_temp` (one is created here when it is None or has vanished);
    it is used up either way. On any failure the temp file is removed and the OSError
    propagates; the old file, if any, is left untouched. No fsync.
    """
    target = os.fspath(path)
    tmp = fd = None
    if temp is not None:
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
            tmp = temp
        except FileNotFoundError:
            pass
    try:
        if tmp is None or fd is None:
            tmp, fd = _open_temp(target)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            finished = finish(fd) if finish is not None else False
        finally:
            os.close(fd)
        os.replace(tmp, target)
        return finished
    except BaseException:
        # already gone or never created: the original error is the one to report
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _open_temp(target: str) -> tuple[str, int]:
    """A new temp file next to ``target`` (parent directories created when missing), open for
    writing: its name and descriptor."""
    parent, name = os.path.split(target)
    if not name:
        raise IsADirectoryError(21, "not a file path", target)
    tmp = os.path.join(parent, temp_name_for(name))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return tmp, os.open(tmp, flags, 0o666)
    except FileNotFoundError:
        if not parent:
            raise
        # Directories are created only when missing: a makedirs per write costs a syscall
        # per path level on every one of hundreds of writes.
        os.makedirs(parent, exist_ok=True)
        return tmp, os.open(tmp, flags, 0o666)


def remove_stale_temps(root: StrPath, older_than: float | None = None) -> int:
    """Remove leftover temp files (`is_temp_name`) anywhere under ``root``; return the count.

    ``older_than`` (seconds) spares temps modified more recently than that, which may belong to
    a writer still running; None removes every temp. Errors on single files are ignored, and a
    missing ``root`` removes nothing. Symlinks are not followed.
    """
    cutoff = None if older_than is None else time.time() - older_than
    removed = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if not is_temp_name(name):
                continue
            candidate = os.path.join(dirpath, name)
            try:
                if cutoff is not None and os.lstat(candidate).st_mtime > cutoff:
                    continue
                os.unlink(candidate)
            except OSError:
                continue
            removed += 1
    return removed
