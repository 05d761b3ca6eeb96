"""Is a `.cache` file still the bytes we wrote? The integrity sidecar.

Cargo's format carries no checksum, and a 304 from the server vouches only for the server's
copy, never for our local bytes. So without a record of what was written, a file cut right
after a complete entry, or a bit flip inside a blob that still parses (a ``cksum`` digit), would
be trusted and answer wrongly, online and offline. Next to every `.cache` file we write (never
inside ``.cache/``, which stays byte-identical to cargo's) goes a sidecar::

    <index-dir>/.registry/sum/<index path>      "<size> <crc32 hex> <index version>\\n"

Reading a cache file (after its header and structure were checked) gives one of:

* ``VERIFIED``: size and CRC-32 match the sidecar: these are the bytes we wrote, a valid
  `.cache` file (readers may skip re-checking its structure).
* ``INTACT``: no sidecar (cargo wrote the file, or a registry before this one) or an unusable
  one: use it, after the usual structure checks.
* ``CORRUPT``: the sidecar records the same index version but the bytes differ: the file changed
  behind our back. Treat it as unreadable: refetched online, a clear error offline.
* ``FOREIGN``: the header carries another index version than the sidecar: another writer
  (cargo, sharing the cache) stored a newer entry. Offline it is used as it is; online it is
  revalidated (never taken as fresh by max-age) and adopted (a new sidecar) on a 304.

CRC-32 catches every burst error up to 32 bits and all but 2^-32 of the rest: this is about
accidents (bit rot, truncation, stray writes), not tampering. Stdlib only: on the fast path.
"""

from __future__ import annotations

import os
import zlib

__all__ = [
    "CORRUPT",
    "FOREIGN",
    "INTACT",
    "VERIFIED",
    "check",
    "check_file",
    "record",
    "sum_path",
]

VERIFIED = "verified"
INTACT = "intact"
CORRUPT = "corrupt"
FOREIGN = "foreign"

#: Longest sidecar we read (an index version is one header line).
_MAX_SIDECAR_BYTES = 8192


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


def check_file(data: bytes, index_dir: str, rel: str) -> str:
    """`check` against the sidecar on disk; a missing or unreadable sidecar is no sidecar."""
    try:
        with open(sum_path(index_dir, rel), "rb") as handle:
            sidecar = handle.read(_MAX_SIDECAR_BYTES + 1)
    except OSError:
        return INTACT
    if len(sidecar) > _MAX_SIDECAR_BYTES:
        return INTACT
    return check(data, sidecar)
