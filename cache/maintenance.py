"""``registry cache stats | clean | prune``: looking after a whole cache root.

What is ours to remove: under ``<root>/registry/index/<dir>/`` the index cache, ``.cache/``
(cargo's summaries files, ours or cargo's alike) and ``.registry/`` (our sidecars), the
``config.json`` of a sparse index (a cached copy, refetched on use) and our temp files.
Nothing else, ever: when the root is a ``CARGO_HOME`` it also holds cargo's git index clones
(``registry/index/<dir>/.git``), downloaded crates (``registry/cache``), unpacked sources
(``registry/src``), git checkouts (``git/``) and its last-use database (``.global-cache``),
which `clean` keeps and names.

Safe while other processes (registry or cargo) read and write the same cache:

* Removal happens under the package-cache lock (cache/lock.py), which cargo also holds while it
  reads or writes index caches (``CacheLockMode::DownloadExclusive``, cargo
  src/cargo/sources/registry/index/cache.rs:279 at 0.96.0), and every registry writer holds
  while it writes. Scanning happens before, without it; `prune` looks at each candidate again
  under the lock, so an entry used or rewritten meanwhile stays.
* Registry's readers take no lock: they see a whole entry or none. A file is removed by one
  ``unlink`` (a reader that opened it keeps reading it whole); `clean` renames each ``.cache``
  tree into a trash directory under the lock (one atomic step: every entry disappears at
  once) and deletes the trash after releasing it, so the lock is held for renames only (uv's
  rule: replace atomically, collect out of band). A trash directory left by a killed clean is
  collected by the next `clean` or `prune` once it is an hour old.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time

from cache.atomic import is_temp_name, remove_stale_temps, temp_name_for
from cache.lastuse import DAY, last_use
from cache.lock import LOCK_TIMEOUT, package_cache_lock
from cache.pathstr import joined
from query import TYPE_CHECKING
from query.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Set

    from cache.atomic import StrPath

__all__ = ["CARGO_OWNED", "CleanReport", "PruneReport", "clean", "prune", "stats"]

#: Temp files and trash younger than this may belong to a live process: left alone.
STALE_TEMP_AGE = 3600.0

#: What cargo keeps in a CARGO_HOME besides index caches (named by `clean` when present).
CARGO_OWNED = ("registry/cache", "registry/src", "git", ".global-cache")

_OURS = (".cache", ".registry")
_CONFIG = "config.json"


class CleanReport(Record):
    """What `clean` did: bytes freed, and what it kept (paths relative to the root)."""

    freed: int
    kept: tuple[str, ...]


class PruneReport(Record):
    """What `prune` did: entries removed, bytes freed, entries kept."""

    removed: int
    freed: int
    kept: int


def _index_root(root: StrPath) -> str:
    return joined(root, "registry", "index")


def _index_dirs(root: StrPath) -> Iterator[os.DirEntry[str]]:
    """The registry directories under ``registry/index`` (never through a symlink)."""
    try:
        entries = sorted(os.scandir(_index_root(root)), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield entry


def stats(root: StrPath) -> dict[str, dict[str, int]]:
    """Per directory under ``registry/index``: ``{"dirs": n, "files": n, "bytes": n}``."""
    return {entry.name: _tree_stats(entry.path) for entry in _index_dirs(root)}


# -- clean ------------------------------------------------------------------------------------


def clean(
    root: StrPath,
    lock_timeout: float = LOCK_TIMEOUT,
    on_lock_wait: Callable[[str], None] | None = None,
) -> CleanReport:
    """Remove every index cache under ``root`` (see the module docstring for what that is).

    Takes the package-cache lock (CacheLockTimeout if it cannot; ``on_lock_wait`` gets one line
    first when it is held elsewhere). Raises OSError if something could not be removed (after
    removing what it could).
    """
    registry = joined(root, "registry")
    freed = _collect_old_trash(registry)
    kept: list[str] = []
    first_error: OSError | None = None
    trash: str | None = None
    with package_cache_lock(root, lock_timeout, on_lock_wait):
        for entry in _index_dirs(root):
            try:
                names = os.listdir(entry.path)
            except OSError as exc:
                first_error = first_error or exc
                continue
            for name in names:
                path = os.path.join(entry.path, name)
                try:
                    if name in _OURS:
                        if trash is None:
                            trash = os.path.join(registry, temp_name_for("trash"))
                            os.mkdir(trash)
                        freed += _move_away(path, os.path.join(trash, f"{entry.name}{name}"))
                    elif is_temp_name(name):
                        freed += _unlink_counted(path)
                except OSError as exc:
                    first_error = first_error or exc
            left = [n for n in _listdir(entry.path) if n != _CONFIG]
            if not left:  # a sparse index: its config.json is a cached copy too
                try:
                    freed += _unlink_counted(os.path.join(entry.path, _CONFIG))
                    os.rmdir(entry.path)
                except OSError as exc:
                    first_error = first_error or exc
            kept += (f"registry/index/{entry.name}/{other}" for other in sorted(left))
    # out of band: nothing in the trash is reachable by a reader any more
    if trash is not None:
        try:
            freed += _remove_tree(trash)
        except OSError as exc:
            first_error = first_error or exc
    freed += _remove_stale_temps(registry)
    if first_error is not None:
        raise first_error
    kept += (name for name in CARGO_OWNED if os.path.lexists(joined(root, name)))
    return CleanReport(freed, tuple(kept))


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _move_away(path: str, trash: str) -> int:
    """Rename ``path`` (a tree or a file) to ``trash``; remove it in place where it cannot be
    renamed (another filesystem). Returns the bytes removed in place (the trash's are counted
    when it is deleted)."""
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return 0
    except OSError:
        if os.path.isdir(path) and not os.path.islink(path):
            return _remove_tree(path)
        return _unlink_counted(path)
    return 0


def _unlink_counted(path: str) -> int:
    try:
        size = os.lstat(path).st_size
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return size


def _collect_old_trash(registry: str) -> int:
    """Trash directories left by a clean that was killed, once they are old."""
    freed = 0
    cutoff = time.time() - STALE_TEMP_AGE
    for name in _listdir(registry):
        path = os.path.join(registry, name)
        try:
            st = os.lstat(path)
            if is_temp_name(name) and stat.S_ISDIR(st.st_mode) and st.st_mtime < cutoff:
                freed += _remove_tree(path)
        except OSError:
            continue
    return freed


def _remove_stale_temps(registry: str) -> int:
    """Old temp files in ``registry/`` itself and in ``registry/fingerprints`` (written without
    the lock, so only old ones are surely dead); never in cargo's ``registry/cache`` or
    ``registry/src``. Returns the bytes removed."""
    freed = 0
    cutoff = time.time() - STALE_TEMP_AGE
    for name in _listdir(registry):
        path = os.path.join(registry, name)
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if is_temp_name(name) and stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(path)
                freed += st.st_size
    remove_stale_temps(os.path.join(registry, "fingerprints"), older_than=STALE_TEMP_AGE)
    return freed


# -- prune ------------------------------------------------------------------------------------


def prune(
    root: StrPath,
    *,
    older_than_days: int | None = None,
    keep: Mapping[str, Set[str]] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    on_lock_wait: Callable[[str], None] | None = None,
    now: float | None = None,
) -> PruneReport:
    """Remove the index entries (``.cache`` files, with their sidecars) of every registry
    directory under ``root`` that were not used for ``older_than_days`` days (cache/lastuse.py)
    and, when ``keep`` is given (directory name -> index paths, e.g. from lockfiles), are not
    in it. One of the two is required.

    Takes the package-cache lock to remove (CacheLockTimeout if it cannot); each candidate is
    looked at again under it. Files that cannot be removed are kept (and counted as kept).
    """
    if older_than_days is None and keep is None:
        raise ValueError("prune needs older_than_days, keep, or both")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError(f"older_than_days must not be negative: {older_than_days}")
    cutoff = None
    if older_than_days is not None:
        cutoff = (time.time() if now is None else now) - older_than_days * DAY

    def doomed(dir_name: str, rel: str, st: os.stat_result) -> bool:
        if keep is not None and rel in keep.get(dir_name, ()):
            return False
        return cutoff is None or last_use(st) < cutoff

    candidates: list[tuple[str, str, str, str]] = []  # (dir name, dir path, rel, file path)
    kept = 0
    for entry in _index_dirs(root):
        for rel, path, st in _entries(entry.path):
            if doomed(entry.name, rel, st):
                candidates.append((entry.name, entry.path, rel, path))
            else:
                kept += 1
    removed = freed = 0
    registry = joined(root, "registry")
    freed += _collect_old_trash(registry)
    if not candidates:
        return PruneReport(0, freed, kept)
    emptied: set[str] = set()
    with package_cache_lock(root, lock_timeout, on_lock_wait):
        for dir_name, dir_path, rel, path in candidates:
            try:
                st = os.lstat(path)
            except OSError:
                continue  # gone meanwhile
            if not stat.S_ISREG(st.st_mode) or not doomed(dir_name, rel, st):
                kept += 1
                continue
            try:
                os.unlink(path)
            except OSError:
                kept += 1
                continue
            removed += 1
            freed += st.st_size
            emptied.add(os.path.dirname(path))
            for kind in ("fresh", "sum"):
                sidecar = os.path.join(dir_path, ".registry", kind, *rel.split("/"))
                with contextlib.suppress(OSError):
                    freed += _unlink_counted(sidecar)
                    emptied.add(os.path.dirname(sidecar))
        _remove_empty_dirs(emptied)
    return PruneReport(removed, freed, kept)


def _entries(dir_path: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(index path, file path, lstat) of every entry in ``<dir_path>/.cache`` (temp files and
    anything but regular files left out)."""
    cache = os.path.join(dir_path, ".cache")
    prefix = len(cache) + 1
    for dirpath, _dirnames, filenames in os.walk(cache):
        for name in filenames:
            if is_temp_name(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                yield path[prefix:], path, st


def _remove_empty_dirs(dirs: Set[str]) -> None:
    """Remove each directory, then its parents, while they are empty, up to the ``.cache``,
    ``fresh`` or ``sum`` directory (kept)."""
    for start in sorted(dirs, key=len, reverse=True):
        path = start
        while os.path.basename(path) not in (".cache", "fresh", "sum", ""):
            try:
                os.rmdir(path)
            except OSError:
                break
            path = os.path.dirname(path)


# -- trees ------------------------------------------------------------------------------------


def _tree_stats(root: str) -> dict[str, int]:
    dirs = files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirs += len(dirnames)
        for name in filenames:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
            files += 1
    return {"dirs": dirs, "files": files, "bytes": size}


def _remove_tree(root: str) -> int:
    """Remove ``root`` bottom-up without following symlinks; return bytes of files removed."""
    freed = 0
    first_error: OSError | None = None
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                size = os.lstat(path).st_size
                os.unlink(path)
            except OSError as exc:
                first_error = first_error or exc
                continue
            freed += size
        for name in dirnames:
            path = os.path.join(dirpath, name)
            try:
                if os.path.islink(path):
                    os.unlink(path)
                else:
                    os.rmdir(path)
            except OSError as exc:
                first_error = first_error or exc
    try:
        os.rmdir(root)
    except FileNotFoundError:
        pass
    except OSError as exc:
        first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return freed
