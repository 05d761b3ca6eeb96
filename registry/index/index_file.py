"""From a raw index file to the ``(version, raw line)`` pairs that go into the ``.cache`` file.

The retention rule is cargo's (``Summaries::parse``, ``src/cargo/sources/registry/index/mod.rs
:525-553`` at cargo 0.96.0): a line is kept, verbatim (a trailing ``\\r`` included), when
``IndexSummary::parse`` returns anything at all -- that is, when its ``name`` and ``vers`` parse
(``IndexPackageMinimum``), whatever else is wrong with it (invalid and unsupported lines are
cached too); its cache key is the version rendered from the parsed value, build metadata
included. Checked against cargo 1.95's own `.cache` files in tests/test_cargo_compat.py and
against cargo's verdict on hundreds of odd lines in tests/test_index_lines.py.

"Parse" means what serde_json does with the line (:mod:`query.index_json`):

* the line is one JSON value (JSON whitespace around it), an object, or an array (serde's
  other form of a struct) of exactly ``[name, vers]``; ``name`` and ``vers`` are strings, valid
  UTF-8 without lone surrogates, and ``vers`` is a strict semver version;
* a duplicate top-level ``name`` or ``vers`` key (also spelled with ``\\u`` escapes) drops the
  line, and so does a top-level key that is not valid UTF-8 or holds a lone surrogate escape;
* everything else is skipped unvalidated beyond JSON syntax: invalid UTF-8 or lone surrogate
  escapes inside other strings (or nested keys), numbers out of any float range (``1e400``),
  duplicate other keys, wrong types, any depth of nesting. Such lines are kept.

A fast reader reads every ordinary line; the few it rejects, or that could hide a duplicate key,
go to the general reader, :func:`query.index_json.read_json` (`serde_minimal`). The fast reader
is orjson for large downloads (or whenever it is imported already: a large cold batch imports
it while in flight), and the stdlib decoder below `STDLIB_JSON_BELOW` bytes: orjson
reads ~2.5 times faster, but its import (it loads dataclasses, uuid, platform...) costs more
than the stdlib takes for that many bytes of lines, in each process of a forked run
(docs/performance.md). Both reject what serde_json rejects or hand it on (NaN and infinities
refused, invalid UTF-8 refused, ``\\u`` escapes sent to ``serde_minimal``), so the lines kept
are the same (tests/reliability/test_properties.py runs both).

Memory: a line over :data:`query.entry.HUGE_LINE_BYTES` (a hostile server's) skips the fast
reader and goes to `serde_minimal` directly, which builds only the top-level ``name`` and
``vers`` (``keep``); lines are spans of the body (`index_lines`), never copied but one at a
time, and the ``.cache`` bytes are joined from the spans (`cache.format.serialize_lines`). A
100 MB single-line body then costs about itself twice (README "Limits").

This is the one place that parses every line of an index file, once per download.
"""

from __future__ import annotations

import sys

from query import TYPE_CHECKING
from query.version import is_version

if TYPE_CHECKING:
    from collections.abc import Callable

#: Below this many bytes of index files to read, the stdlib decoder is the faster reader
#: overall (docs/performance.md).
STDLIB_JSON_BELOW = 2 << 20


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity: serde_json rejects them


#: What `serde_minimal` builds of a line in the object form (``IndexPackageMinimum``).
_MINIMAL_KEYS = frozenset({"name", "vers"})


def serde_minimal(line: bytes) -> tuple[str, str] | None:
    """(name, vers) as cargo keeps the line (``IndexPackageMinimum``, or the whole
    ``IndexPackage`` in serde's array form), or None when cargo drops it."""
    from query.index_json import JsonSyntaxError, read_json
    from query.index_line import PACKAGE_DEPTH, kept_name_version

    try:
        value = read_json(line, _MINIMAL_KEYS, PACKAGE_DEPTH)
    except JsonSyntaxError:
        return None
    return kept_name_version(value)


def _may_hide_duplicate(line: bytes) -> bool:
    """Could the reader (orjson or json: the last key wins) have merged a duplicate top-level
    ``name`` or ``vers``?

    Cheap and sufficient (a few scans in C, ~25% of orjson's own time): without ``\\u``
    escapes a key is spelled literally; one raw ``"vers"`` cannot be two keys, and when every
    raw ``"name"`` directly follows a ``{`` each is the first key of its own object (a quote
    inside a string is escaped), so no object has two. cargo's index lines (serde_json, ``name``
    first in the package and in each dependency) always pass.
    """
    return (
        (b"\\" in line and b"\\u" in line)  # memchr first: few lines have a backslash
        or line.count(b'"vers"') > 1
        or line.count(b'"name"') != line.count(b'{"name"')
    )


def _written_back_checker() -> Callable[[object, bytes], bool]:
    """Accelerator of `_may_hide_duplicate` (its twin), with orjson imported: does orjson write
    the value back as the very line it was read from? Then no object of the line has a
    duplicate key (orjson writes each key of a dict once), and the byte scans are not needed.
    crates.io's lines are serde_json's compact output, which orjson's matches byte for byte
    (every line of workspace800's 14 MB of index files); anything else (spaces, other escapes,
    a trailing ``\\r``, a float written otherwise) is False and takes the scans. Gain: 23 ms of
    the 118 ms that `index_lines` takes over those files in one process (docs/performance.md);
    pinned by tests/test_index_lines.py (no line with a duplicate key is ever written back)."""
    orjson = sys.modules.get("orjson")
    if orjson is None:
        return _never
    dumps = orjson.dumps

    def written_back(value: object, line: bytes) -> bool:
        try:
            return bool(dumps(value) == line)
        except TypeError:  # orjson.JSONEncodeError: nested deeper than orjson writes
            return False

    return written_back


def _never(value: object, line: bytes) -> bool:
    return False


def line_reader(total_bytes: int) -> Callable[[bytes], object]:
    """The faster reader for ``total_bytes`` of index lines: a line's JSON value, or None when
    the reader refuses the line (maybe only stricter than serde_json: see `serde_minimal`).
    orjson whenever it is imported already (`import_fast_reader`): its import is what the
    stdlib reader saves below `STDLIB_JSON_BELOW`."""
    if total_bytes < STDLIB_JSON_BELOW and "orjson" not in sys.modules:
        import json

        decode = json.JSONDecoder(parse_constant=_reject_constant).decode

        def stdlib_loads(line: bytes) -> object:
            try:
                return decode(line.decode())  # strict UTF-8: invalid bytes are refused
            except (ValueError, RecursionError):
                return None

        return stdlib_loads
    import orjson

    loads, error = orjson.loads, orjson.JSONDecodeError

    def orjson_loads(line: bytes) -> object:
        try:
            return loads(line)
        except error:
            return None

    return orjson_loads


def import_fast_reader() -> None:
    """Import orjson ahead of `line_reader` (~11 ms), while a large download is in flight and
    this process has nothing else to do (registry/index/loader.py `_WhileInFlight`)."""
    import orjson  # noqa: F401


def summaries_from_index(
    raw: bytes, read: Callable[[bytes], object] | None = None
) -> list[tuple[str, bytes]]:
    """Split an index file on ``\\n`` and keep each line whose name and version parse;
    ``read`` is a `line_reader` (by default the one for ``len(raw)`` bytes)."""
    return [(key, raw[start:end]) for key, start, end in index_lines(raw, read)[0]]


def index_lines(
    raw: bytes, read: Callable[[bytes], object] | None = None
) -> tuple[list[tuple[str, int, int]], tuple[str, str] | None]:
    """`summaries_from_index` as ``(version, start, end)`` spans of ``raw``, and ``(version,
    why)`` of a line on which cargo 1.95 panics (a dependency whose package name is empty:
    query/index_line.py), or None.

    cargo parses every line of a file it downloads before it writes its ``.cache``, so one such
    line anywhere makes it crash for any use of the crate, and it never caches the file. Only a
    line holding an empty string ``""`` can be one; of those (empty features are common), only
    one with an empty string where a dependency's name or package goes is classified.
    """
    from query.entry import HUGE_LINE_BYTES

    kept: list[tuple[str, int, int]] = []
    crash: tuple[str, str] | None = None
    loads = line_reader(len(raw)) if read is None else read
    written_back = _written_back_checker()
    # the lines holding an empty string, by their offset (one scan in C; most files have none)
    suspects = _lines_with_empty_strings(raw)
    size = len(raw)
    end = -1
    while end < size:
        start = end + 1
        end = raw.find(b"\n", start)
        if end < 0:
            end = size
        # one line at a time (the whole body when it is one line: not a copy)
        line = raw if (start, end) == (0, size) else raw[start:end]
        if end - start > HUGE_LINE_BYTES:
            data = None  # never built whole: serde_minimal reads name and vers only
        elif not line.strip():
            continue
        else:
            data = loads(line)
        if type(data) is dict and (written_back(data, line) or not _may_hide_duplicate(line)):
            name = data.get("name")
            vers = data.get("vers")
            if suspects and start in suspects and crash is None and _may_crash(data.get("deps")):
                crash = _crash(line)
        elif data is None or type(data) is dict or type(data) is list:
            name_vers = serde_minimal(line)
            if name_vers is None:
                continue
            name, vers = name_vers
            if suspects and start in suspects and crash is None:
                crash = _crash(line)
        else:
            continue
        if not isinstance(name, str) or not isinstance(vers, str):
            continue
        if not is_version(vers):
            continue
        kept.append((vers, start, end))  # a valid version renders exactly as written
    return kept, crash


def _lines_with_empty_strings(raw: bytes) -> set[int]:
    """The offsets of the lines of ``raw`` holding ``""``."""
    import re

    return {raw.rfind(b"\n", 0, m.start()) + 1 for m in re.finditer(b'""', raw)}


def _may_crash(deps: object) -> bool:
    """Could one of ``deps`` (as a plain JSON reader read them) have an empty package name?"""
    if type(deps) is not list:
        return False
    for dep in deps:
        if type(dep) is dict:
            package = dep.get("package")
            if (dep.get("name") if package is None else package) == "":
                return True
        elif type(dep) is list and "" in dep:  # serde's array form of a dependency
            return True
    return False


def _crash(line: bytes) -> tuple[str, str] | None:
    from query.entry import EntryError, entry_from_line

    try:
        entry = entry_from_line(line)
    except EntryError:
        return None
    return (entry.vers, str(entry.problem)) if entry.panics else None
