"""When a cache entry was last used: what ``registry cache prune --older-than DAYS`` reads.

The last use of a ``.cache`` file is the later of its access time and its modification time::

    last use = max(st_atime, st_mtime)

* ``st_mtime`` is when it was written (by us or by cargo); it is never changed otherwise
  (null-build fingerprints compare it, cache/fingerprint.py).
* ``st_atime`` is set by the kernel when anyone reads the file, cargo included; under Linux's
  default ``relatime`` mount option that happens at most once a day, which is the resolution
  this rule needs. Where it does not happen (a filesystem mounted ``noatime``), and where a use
  reads no bytes (a ``check`` answered from its fingerprint only stats the files), registry sets
  the access time itself: `touch` when it finds it more than `RESOLUTION` old, so a used entry
  costs one ``futimens`` a day at most, and nothing on the warm paths otherwise.

So an entry's recorded last use lags its real last use by at most a day, and DAYS are whole
days. Files of a cargo <= 1.84 directory read as a seed (cache/store.py) are never touched:
registry writes nothing there. A failure to set the time (read-only filesystem, a file
someone else owns) is ignored: the entry then just looks older than it is.

Cargo tracks last use itself in ``$CARGO_HOME/.global-cache`` (SQLite), but per index
directory (``registry_index``), not per entry: it cannot tell which entries of crates.io's
index a project still needs, so prune does not read it.
"""

from __future__ import annotations

import contextlib
import os
import time

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from cache.atomic import StrPath

__all__ = ["DAY", "RESOLUTION", "last_use", "stale_before", "touch"]

DAY = 86400.0
#: An access time older than this (seconds) is brought up to date on use.
RESOLUTION = DAY


def last_use(st: os.stat_result) -> float:
    """The entry's last use, in seconds since the epoch (see the module docstring)."""
    return max(st.st_atime, st.st_mtime)


def stale_before(now: float | None = None) -> float:
    """Access times before this are brought up to date on use."""
    return (time.time() if now is None else now) - RESOLUTION


def touch(target: int | StrPath, st: os.stat_result) -> None:
    """Set the access time of ``target`` (an open descriptor or a path) to now, keeping its
    modification time ``st.st_mtime_ns``; failures are ignored."""
    with contextlib.suppress(OSError):
        os.utime(target, ns=(time.time_ns(), st.st_mtime_ns))
