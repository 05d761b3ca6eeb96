"""Is a `.cache` file still the bytes we wrote? The integrity record.

Cargo's format carries no checksum, and a 304 from the server vouches only for the server's
copy, never for our local bytes. So without a record of what was written, a file cut right
after a complete entry, or a bit flip inside a blob that still parses (a ``cksum`` digit), would
be trusted and answer wrongly, online and offline. Every `.cache` file we write gets a record
(the bytes inside ``.cache/`` stay byte-identical to cargo's)::

    "<size> <crc32 hex> <index version>\\n"

kept as the extended attribute ``user.registry.sum`` of the file itself, set on the temp file
before it is renamed into place: no second file to create (a file creation costs ~0.45 ms here,
as much as the cache file's own), one ``fgetxattr`` to read. Where the filesystem has no user
xattrs (or the platform no ``os.setxattr``), the record goes to a sidecar file instead::

    <index-dir>/.registry/sum/<index path>

A reader takes the xattr, else the sidecar (a registry before this one wrote only sidecars).
Cargo rewrites a cache file in place (``fs::write``), so the record survives its writes, as the
sidecar does; a copy without xattrs simply has no record.

Reading a cache file gives one of:

* ``VERIFIED``: size and CRC-32 match the record: these are the bytes we wrote, a valid
  `.cache` file (readers may skip re-checking its structure).
* ``INTACT``: no record (cargo wrote the file, or it was copied) or an unusable one: use it,
  after the usual structure checks.
* ``CORRUPT``: the record names the same index version but the bytes differ: the file changed
  behind our back. Treat it as unreadable: refetched online, a clear error offline.
* ``FOREIGN``: the header carries another index version than the record: another writer
  (cargo, sharing the cache) stored a newer entry. Offline it is used as it is; online it is
  revalidated (never taken as fresh by max-age) and adopted (a new record) on a 304.

CRC-32 catches every burst error up to 32 bits and all but 2^-32 of the rest: this is about
accidents (bit rot, truncation, stray writes), not tampering. Stdlib only: on the fast path.
"""

from __future__ import annotations

import errno
import os
import zlib

__all__ = [
    "CORRUPT",
    "FOREIGN",
    "INTACT",
    "VERIFIED",
    "XATTR",
    "check",
    "check_file",
    "read_record",
    "record",
    "set_record",
    "sum_path",
]

#: The extended attribute holding a cache file's record.
XATTR = "user.registry.sum"

VERIFIED = "verified"
INTACT = "intact"
CORRUPT = "corrupt"
FOREIGN = "foreign"

#: Longest record we read (an index version is one header line).
_MAX_SIDECAR_BYTES = 8192

#: errno values meaning "no user xattrs here": ENOTSUP/EOPNOTSUPP, and EPERM (some
#: filesystems refuse ``user.*`` attributes on this kind of file).
_NO_XATTRS = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM})


def sum_path(index_dir: str, rel: str) -> str:
    """``<index_dir>/.registry/sum/<rel>`` (``rel`` already validated by the caller)."""
    return os.path.join(index_dir, ".registry", "sum", *rel.split("/"))


def _header_version(data: bytes) -> bytes:
    end = data.find(b"\0", 5)
    return data[5:end] if end >= 0 else b""


def record(data: bytes) -> bytes:
    """The sidecar content for cache bytes ``data`` (a valid `.cache` file)."""
    return b"%d %08x %s\n" % (len(data), zlib.crc32(data), _header_version(data))


def check(data: bytes, sidecar: bytes | None) -> str:
    """`VERIFIED`, `INTACT`, `CORRUPT` or `FOREIGN` for cache bytes and their sidecar
    (None: none)."""
    if sidecar is None or not sidecar.endswith(b"\n"):
        return INTACT
    size, _, rest = sidecar[:-1].partition(b" ")
    crc, _, version = rest.partition(b" ")
    if not size.isdigit() or len(crc) != 8:
        return INTACT
    try:
        expected = int(crc, 16)
    except ValueError:
        return INTACT
    if len(data) == int(size) and zlib.crc32(data) == expected:
        return VERIFIED
    if _header_version(data) != version:
        return FOREIGN
    return CORRUPT


def set_record(target: int | str, data: bytes) -> bool:
    """Store the record of ``data`` as the xattr of ``target`` (an open fd or a path); False
    when the filesystem or platform keeps no user xattrs (then use a sidecar). Other
    OSErrors propagate."""
    setxattr = getattr(os, "setxattr", None)
    if setxattr is None:
        return False
    try:
        setxattr(target, XATTR, record(data))
    except OSError as exc:
        if exc.errno in _NO_XATTRS:
            return False
        raise
    return True


def read_record(fd: int, index_dir: str, rel: str) -> bytes | None:
    """The record of an open cache file: its xattr, else its sidecar file, else None."""
    getxattr = getattr(os, "getxattr", None)
    if getxattr is not None:
        try:
            value: bytes = getxattr(fd, XATTR)
            return value
        except OSError:
            pass  # ENODATA: none (cargo's file, or a sidecar from an older registry)
    try:
        with open(sum_path(index_dir, rel), "rb") as handle:
            sidecar = handle.read(_MAX_SIDECAR_BYTES + 1)
    except OSError:
        return None
    return sidecar if len(sidecar) <= _MAX_SIDECAR_BYTES else None


def check_file(data: bytes, fd: int, index_dir: str, rel: str) -> str:
    """`check` against the record of the open file ``fd`` that ``data`` was read from."""
    return check(data, read_record(fd, index_dir, rel))
