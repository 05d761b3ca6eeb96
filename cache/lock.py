"""Cargo's package-cache lock: an exclusive ``flock`` on ``<cache_root>/.package-cache``.

Cargo (>= 1.74) takes this lock in ``DownloadExclusive`` mode while it writes index caches, so
holding it keeps cargo and us from writing the same `.cache` files at once. Both sides use
``flock(LOCK_EX)`` on the same path, so they exclude each other. The file is never unlinked
(unlinking a flock-ed file would let two holders lock different inodes).

The lock is not reentrant: a nested acquisition in the same process waits like any other
holder would (and times out), so take it once around a batch of writes.

Like cargo, a process that finds the lock held says so at once, through ``on_wait`` (cargo's
"Blocking waiting for file lock on package cache"), then waits up to its timeout.

On POSIX this calls ``fcntl.flock`` itself (exactly what ``filelock`` does there, polling a
non-blocking attempt every 20 ms, without its import: logging, asyncio helpers, secrets;
docs/performance.md); elsewhere it uses ``filelock``, imported only when a lock is taken. Read paths
never lock. Paths are strings (no ``pathlib`` import on the start-up path).
"""

from __future__ import annotations

import os

from cache.pathstr import joined
from query import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from filelock import BaseFileLock

    from cache.atomic import StrPath

__all__ = [
    "LOCK_FILE_NAME",
    "LOCK_TIMEOUT",
    "CacheLockTimeout",
    "PackageCacheLock",
    "package_cache_lock",
]

LOCK_FILE_NAME = ".package-cache"
#: Seconds to wait for the lock before giving up (and answering without writing the cache).
LOCK_TIMEOUT = 60.0

#: Seconds between non-blocking attempts while another process holds the lock.
_POLL_INTERVAL = 0.02


class CacheLockTimeout(OSError):
    """The package-cache lock could not be taken within the timeout."""


class PackageCacheLock:
    """Context manager returned by `package_cache_lock`; ``__enter__`` returns the lock path
    (a string, spelled as ``pathlib`` would)."""

    __slots__ = ("_fd", "_lock", "on_wait", "path", "timeout")

    def __init__(
        self, cache_root: StrPath, timeout: float, on_wait: Callable[[str], None] | None = None
    ) -> None:
        self.path = joined(cache_root, LOCK_FILE_NAME)
        self.timeout = timeout
        self.on_wait = on_wait
        self._fd: int | None = None
        self._lock: BaseFileLock | None = None

    def _waiting(self) -> None:
        """The lock is held elsewhere: say so, once, before waiting (cargo's wording)."""
        if self.on_wait is not None:
            how_long = "as long as it takes" if self.timeout < 0 else f"up to {self.timeout:g} s"
            self.on_wait(
                f"Blocking waiting for file lock on package cache {self.path} (held by another "
                f"cargo or registry process; waiting {how_long})"
            )

    def __enter__(self) -> str:
        if self._fd is not None or self._lock is not None:
            raise RuntimeError(f"package cache lock {self.path} is already held by this object")
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        if os.name == "posix":
            self._fd = self._flock()
        else:  # pragma: no cover - exercised on Windows only
            self._lock = self._filelock()
        return self.path

    def _timed_out(self) -> CacheLockTimeout:
        return CacheLockTimeout(
            f"timed out after {self.timeout:g}s waiting for the package cache lock "
            f"{self.path} (held by another cargo or registry process)"
        )

    def _flock(self) -> int:
        import fcntl
        import time

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                self._waiting()
            if self.timeout < 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return fd
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timed_out()
                time.sleep(min(_POLL_INTERVAL, remaining))
        except BaseException:
            os.close(fd)
            raise

    def _filelock(self) -> BaseFileLock:  # pragma: no cover - non-POSIX only
        from filelock import FileLock, Timeout

        lock = FileLock(
            self.path,
            timeout=self.timeout,
            thread_local=False,
            preserve_lock_file=True,  # never unlink: cargo locks this same file
            fallback_to_soft=False,  # a soft lock would not exclude cargo
            poll_interval=_POLL_INTERVAL,
        )
        try:
            lock.acquire(blocking=False)
        except Timeout:
            self._waiting()
            try:
                lock.acquire()
            except Timeout:
                raise self._timed_out() from None
        return lock

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock
        lock, self._lock = self._lock, None
        if lock is not None:  # pragma: no cover - non-POSIX only
            lock.release()


def package_cache_lock(
    cache_root: StrPath,
    timeout: float = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> PackageCacheLock:
    """Hold the exclusive package-cache lock for the duration of a ``with`` block.

    Creates ``cache_root`` if needed; the ``with`` target is the lock file's path. When another
    process holds the lock, ``on_wait`` gets one line saying so (cargo's "Blocking waiting for
    file lock on package cache", with the path and how long) before the wait. Raises
    `CacheLockTimeout` (naming the path) if another process, cargo or us, holds the lock for
    longer than ``timeout`` seconds (0: one attempt; negative: wait forever), and OSError if
    the lock file cannot be created or opened.
    """
    return PackageCacheLock(cache_root, timeout, on_wait)
