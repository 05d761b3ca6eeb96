"""Path strings spelled and tested as ``pathlib`` does it, without importing ``pathlib``.

Importing ``pathlib`` (``urllib.parse``, ``ipaddress``, ``fnmatch``, ``warnings``) costs more than
what it would do here (docs/performance.md), and the cache and the cargo configuration lookup sit on
the start-up path of every command. These functions give the strings ``str(pathlib.Path(...))``
gives (POSIX spelling) and the answers of its predicates, including which errors they swallow:
``Path.exists()`` is False for a missing path but raises for EACCES, unlike ``os.path.exists``.
"""

from __future__ import annotations

import errno
import os
import stat

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from cache.atomic import StrPath

__all__ = ["exists", "is_dir", "is_file", "is_symlink", "joined", "parent", "spelled"]

# pathlib's _IGNORED_ERRNOS: a predicate answers False for these, and raises anything else.
_IGNORED = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def spelled(path: StrPath) -> str:
    """``str(pathlib.Path(path))``: no empty or ``.`` components, no trailing ``/``, a leading
    ``//`` kept (POSIX leaves its meaning open) and any other run of leading ``/`` made one;
    ``.`` for the empty path."""
    text = os.fspath(path)
    rest = text.lstrip("/")
    slashes = len(text) - len(rest)
    root = "//" if slashes == 2 else "/" if slashes else ""
    return root + "/".join(p for p in rest.split("/") if p and p != ".") or "."


def joined(base: StrPath, *names: str) -> str:
    """``str(pathlib.Path(base, *names))``: an absolute name starts over, as in both."""
    return spelled(os.path.join(base, *names))


def parent(path: StrPath) -> str:
    """``str(pathlib.Path(path).parent)``: lexical, so the parent of ``..`` is ``.`` and a
    root is its own parent."""
    text = spelled(path)
    rest = text.lstrip("/")
    root = text[: len(text) - len(rest)]
    if not rest or rest == ".":
        return text
    return root + rest.rpartition("/")[0] or "."


def _mode(path: StrPath, follow: bool) -> int | None:
    """The ``st_mode`` of ``path``, or None where a pathlib predicate answers False."""
    try:
        return (os.stat if follow else os.lstat)(path).st_mode
    except OSError as exc:
        if exc.errno not in _IGNORED:
            raise
        return None
    except ValueError:  # an embedded NUL
        return None


def exists(path: StrPath) -> bool:
    """``Path.exists()`` (follows symlinks)."""
    return _mode(path, True) is not None


def is_dir(path: StrPath) -> bool:
    """``Path.is_dir()`` (follows symlinks)."""
    mode = _mode(path, True)
    return mode is not None and stat.S_ISDIR(mode)


def is_file(path: StrPath) -> bool:
    """``Path.is_file()`` (follows symlinks)."""
    mode = _mode(path, True)
    return mode is not None and stat.S_ISREG(mode)


def is_symlink(path: StrPath) -> bool:
    """``Path.is_symlink()``."""
    mode = _mode(path, False)
    return mode is not None and stat.S_ISLNK(mode)
