"""The `.cache` summaries file: cargo's on-disk index cache, byte for byte (spec §5.2-§5.4).

One file per crate, at ``<index-dir>/.cache/<index path>``. It is what cargo's
``SummariesCache::serialize`` writes and ``SummariesCache::parse`` reads
(``src/cargo/sources/registry/index/cache.rs``); this module reads and writes the same bytes.

Layout (cache version 3)::

    +----+-------------------+--------------------------------------------+----+
    | 03 | 02   00   00   00 | index version, UTF-8                       | 00 |  header
    +----+-------------------+--------------------------------------------+----+
      |    |                   offset 5: 'etag: "241f4e97adbe75b6"'
      |    |                             'last-modified: Mon, 11 Nov 2019 10:14:40 GMT'
      |    |                             'Unknown'
      |    offsets 1-4: INDEX_V_MAX = 2, u32 little-endian (index schema version)
      offset 0: CACHE_VERSION = 3, u8

    +-----------------------------+----+-------------------------------------+----+
    | version key, UTF-8          | 00 | raw JSON line as received, no '\n'  | 00 |  entry
    +-----------------------------+----+-------------------------------------+----+
      '1.0.0', '1.0.1+build.5',          '{"name":"fnv","vers":"1.0.0",...}'
      '1.8.0-alpha.1' (semver Display)
    ... one entry per retained index line, in index-file order, to the end of the file.

* The file ends with the 0x00 that terminates the last blob; a file with no versions is just
  the header. Keys and blobs alternate, and neither may contain 0x00 (a blob is JSON text).
* Duplicate keys: the later entry wins (§5.3). Keys compare exactly, build metadata included.
* Readers here are stricter than cargo in one place: a body that does not end in a complete
  key/blob pair (truncation) is rejected, where cargo would accept a missing final 0x00 or panic
  on a key without a blob. A rejected cache is treated as absent by the caller.

Version changelog (``CURRENT_CACHE_VERSION`` in cargo):

* v1: the original format: version byte, index version, key/blob pairs.
* v2: added the u32 LE index schema version (``INDEX_V_MAX``) after the version byte, so a cache
  written by a cargo that understands a newer index schema is rejected.
* v3: no layout change. A bump to purge caches that had keyed ``110.0.0+1.1.0f`` as ``110.0.0``:
  the key must include build metadata.

Every function here takes untrusted bytes and raises only `CacheFormatError` on bad input.
Blobs are never decoded or parsed here: callers parse only the blobs they need.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.cargo_facts import INDEX_V_MAX
from query.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "CACHE_VERSION",
    "INDEX_V_MAX",
    "CacheFormatError",
    "Summaries",
    "check_structure",
    "find_exact",
    "iter_keys",
    "parse",
    "read_header",
    "serialize",
]

CACHE_VERSION = 3

_MAGIC = bytes([CACHE_VERSION]) + INDEX_V_MAX.to_bytes(4, "little")
_NUL = b"\0"


class CacheFormatError(ValueError):
    """The bytes are not a `.cache` file this version can read (treat the cache as absent)."""


class Summaries(Record, frozen=False):
    """A parsed `.cache` file: the index version and the (key, raw blob) pairs in file order."""

    index_version: str
    entries: list[tuple[str, bytes]]

    def get(self, version: str) -> bytes | None:
        """The blob for exactly `version` (the later entry wins on duplicates), or None."""
        for key, blob in reversed(self.entries):
            if key == version:
                return blob
        return None

    def __repr__(self) -> str:
        return f"Summaries(index_version={self.index_version!r}, entries=<{len(self.entries)}>)"


def serialize(index_version: str, pairs: Iterable[tuple[str, bytes]]) -> bytes:
    """Render a `.cache` file. ``pairs`` are (version key, raw JSON line without newline).

    Raises ValueError (not CacheFormatError: this is the caller's bug) if any segment is empty
    where it must not be or contains a NUL byte, since the file could not be read back.
    """
    return _render(index_version, ((key, blob, _NUL in blob) for key, blob in pairs))


def serialize_lines(index_version: str, raw: bytes, lines: Iterable[tuple[str, int, int]]) -> bytes:
    """`serialize` for lines given as ``(version key, start, end)`` spans of one buffer ``raw``
    (an index file, `registry.index.index_file.index_lines`): no line is copied before the
    file is joined, so a 100 MB index file costs 100 MB more here, not 200."""
    view = memoryview(raw)
    return _render(
        index_version,
        ((key, view[start:end], raw.find(_NUL, start, end) >= 0) for key, start, end in lines),
    )


def _render(index_version: str, items: Iterable[tuple[str, bytes | memoryview, bool]]) -> bytes:
    """The file of ``(version key, blob, whether the blob holds a NUL)`` items."""
    header = index_version.encode()
    if _NUL in header:
        raise ValueError(f"index version contains a NUL byte: {index_version!r}")
    out: list[bytes | memoryview] = [_MAGIC, header, _NUL]
    for key, blob, nul in items:
        raw_key = key.encode()
        if not raw_key or _NUL in raw_key:
            raise ValueError(f"invalid cache key: {key!r}")
        if nul:
            raise ValueError(f"cache blob for {key!r} contains a NUL byte")
        out += (raw_key, _NUL, blob, _NUL)
    return b"".join(out)


def read_header(data: bytes) -> tuple[str, int]:
    """Validate the header; return (index version, offset of the first key)."""
    if not data:
        raise CacheFormatError("empty cache file")
    if data[0] != CACHE_VERSION:
        raise CacheFormatError(
            f"cache version {data[0]} is not {CACHE_VERSION} (a different Cargo's cache)"
        )
    if len(data) < len(_MAGIC) or data[1 : len(_MAGIC)] != _MAGIC[1:]:
        got = int.from_bytes(data[1 : len(_MAGIC)], "little")
        raise CacheFormatError(f"index schema version {got} is not {INDEX_V_MAX}")
    end = data.find(_NUL, len(_MAGIC))
    if end < 0:
        raise CacheFormatError("cache header has no terminating NUL (truncated)")
    return _decode(data, len(_MAGIC), end, "index version"), end + 1


def _decode(data: bytes, start: int, end: int, what: str) -> str:
    try:
        return data[start:end].decode()
    except UnicodeDecodeError:
        raise CacheFormatError(f"{what} at offset {start} is not valid UTF-8") from None


def _check_body(data: bytes, body: int) -> None:
    # Complete pairs only: an even number of NULs after the header, the last one at the very end.
    # bytes.count/find run in C, so this stays a linear scan without touching any blob's content.
    if body < len(data) and (data[-1] != 0 or data.count(_NUL, body) % 2):
        raise CacheFormatError("cache body does not end with a complete entry (truncated)")


def check_structure(data: bytes) -> None:
    """Validate the header and that the body ends with a complete entry (CacheFormatError)."""
    _, body = read_header(data)
    _check_body(data, body)


def find_exact(data: bytes, version: str, *, checked: bool = False) -> bytes | None:
    """Return the blob stored under exactly ``version``, or None if there is no such key.

    Validates the header and the body's structure (skipped with ``checked``: the caller has
    run `check_structure` on these very bytes), then searches for ``\\0<version>\\0`` from the
    end (later duplicates win) and accepts a match only at a key position, which is where an even
    number of NULs precedes it in the body, that is (the body holding an even number) where an
    even number follows it: counted from the end, like the search, so a recent version costs
    a short scan. No other blob is decoded or parsed, and other keys are not validated:
    `parse` does that.
    """
    if checked:
        body = data.find(_NUL, len(_MAGIC)) + 1
    else:
        _, body = read_header(data)
        _check_body(data, body)
    try:
        raw = version.encode()
    except UnicodeEncodeError:
        return None
    if not raw or _NUL in raw:
        return None
    needle = _NUL + raw + _NUL
    end = len(data)
    while True:
        # The header's own terminator (body - 1) is the NUL before the first key.
        hit = data.rfind(needle, body - 1, end)
        if hit < 0:
            return None
        if data.count(_NUL, hit + 1) % 2 == 0:
            start = hit + len(needle)
            stop = data.find(_NUL, start)  # cannot fail: the body ends with a NUL
            return data[start:stop]
        end = hit + len(needle) - 1  # the next candidate may share this one's leading NUL


def _walk(data: bytes, body: int) -> Iterator[tuple[int, int, int]]:
    """Yield (key start, key end, blob end) for each entry; raise on truncation."""
    pos = body
    while pos < len(data):
        key_end = data.find(_NUL, pos)
        if key_end < 0:
            raise CacheFormatError(f"cache key at offset {pos} has no terminating NUL (truncated)")
        blob_end = data.find(_NUL, key_end + 1)
        if blob_end < 0:
            raise CacheFormatError(f"cache key at offset {pos} has no blob (truncated)")
        if key_end == pos:
            raise CacheFormatError(f"empty cache key at offset {pos}")
        yield pos, key_end, blob_end
        pos = blob_end + 1


def parse(data: bytes, validate_key: Callable[[str], object] | None = None) -> Summaries:
    """Parse the whole file: header plus every (key, raw blob) pair in file order.

    Keys are checked to be non-empty UTF-8; ``validate_key`` (e.g. a semver parser), if given, is
    called on each key and a ValueError from it becomes CacheFormatError. Blobs stay raw bytes.
    """
    index_version, body = read_header(data)
    entries: list[tuple[str, bytes]] = []
    for start, key_end, blob_end in _walk(data, body):
        key = _decode(data, start, key_end, "cache key")
        if validate_key is not None:
            try:
                validate_key(key)
            except ValueError as exc:
                raise CacheFormatError(f"invalid cache key {key!r}: {exc}") from None
        entries.append((key, data[key_end + 1 : blob_end]))
    return Summaries(index_version, entries)


def iter_keys(data: bytes) -> list[str]:
    """The version keys in file order (duplicates included), without touching any blob."""
    _, body = read_header(data)
    return [_decode(data, s, e, "cache key") for s, e, _ in _walk(data, body)]
