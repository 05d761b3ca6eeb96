"""From a raw index file to the ``(version, raw line)`` pairs that go into the ``.cache`` file.

The retention rule is cargo's (spec §3.5, §5.2): a line is kept, verbatim (a trailing ``\\r``
included), when its ``name`` and ``vers`` parse, whatever else is wrong with it; its cache key is
the version rendered from the parsed value, build metadata included.

"Parse" means exactly what cargo's fallback does, ``serde_json::from_slice::<IndexPackageMinimal
{name, vers}>(line)`` (checked against cargo 1.95's own `.cache` files in
tests/test_cargo_compat.py; generated files in tests/reliability/test_properties.py):

* the line is one JSON value (JSON whitespace around it), an object, or an array of exactly
  ``[name, vers]``; ``name`` and ``vers`` are strings, valid UTF-8 without lone surrogates, and
  ``vers`` is a strict semver version;
* a duplicate top-level ``name`` or ``vers`` key (also spelled with ``\\u`` escapes) drops the
  line, and so does a top-level key that is not valid UTF-8 or holds a lone surrogate escape;
* everything else is skipped unvalidated beyond JSON syntax: invalid UTF-8 or lone surrogate
  escapes inside other strings (or nested keys), numbers out of any float range (``1e400``),
  duplicate other keys, wrong types. Such lines are kept.

A fast reader reads every ordinary line; the few it rejects, or that could hide a duplicate key,
go to the stdlib ``json`` module with the rules above (``serde_minimal``). The fast reader is
orjson for large downloads, and the stdlib decoder below `STDLIB_JSON_BELOW` bytes: orjson reads
~2.5 times faster, but its import (it loads dataclasses, uuid, platform...) costs more than the
stdlib takes for that many bytes of lines, in each process of a forked run
(docs/performance.md). Both reject what serde_json rejects or hand it on (NaN
and infinities refused, invalid UTF-8 refused, ``\\u`` escapes sent to ``serde_minimal``), so
the lines kept are the same (tests/reliability/test_properties.py runs both). Known gap: a
line nested deeper than Python's recursion limit (~1000 levels) is dropped, where cargo keeps
it.

This is the one place that parses every line of an index file, once per download.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.version import is_version

if TYPE_CHECKING:
    from collections.abc import Callable

#: Below this many bytes of index files to read, the stdlib decoder is the faster reader
#: overall (docs/performance.md).
STDLIB_JSON_BELOW = 2 << 20


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its (key, value) pairs in order, duplicates kept."""


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity: serde_json rejects them


def _valid_text(text: str) -> bool:
    """No lone surrogate: neither an escape like \\ud800 nor an invalid UTF-8 byte."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def serde_minimal(line: bytes) -> tuple[object, object] | None:
    """(name, vers) as serde_json reads cargo's ``IndexPackageMinimal``, or None if it fails."""
    import json

    try:
        # Invalid UTF-8 becomes lone surrogates, which JSON strings accept (serde_json skips
        # strings it does not keep without validating them) and `_valid_text` catches.
        value = json.loads(
            line.decode("utf-8", "surrogateescape"),
            object_pairs_hook=_Pairs,
            parse_constant=_reject_constant,
            parse_int=lambda _text: 0,  # any size (no int-digits limit), never used
            parse_float=lambda _text: 0.0,  # any range: 1e400 is valid JSON syntax
        )
    except (ValueError, RecursionError):
        return None
    if isinstance(value, _Pairs):
        found: dict[str, object] = {}
        for key, item in value:
            if not _valid_text(key) or (key in ("name", "vers") and key in found):
                return None
            found.setdefault(key, item)
        name, vers = found.get("name"), found.get("vers")
    elif type(value) is list and len(value) == 2:  # a struct also deserializes from a sequence
        name, vers = value
    else:
        return None
    if not isinstance(name, str) or not isinstance(vers, str):
        return None
    if not _valid_text(name) or not _valid_text(vers):
        return None
    return name, vers


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


def line_reader(total_bytes: int) -> Callable[[bytes], object]:
    """The faster reader for ``total_bytes`` of index lines: a line's JSON value, or None when
    the reader refuses the line (maybe only stricter than serde_json: see `serde_minimal`)."""
    if total_bytes < STDLIB_JSON_BELOW:
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


def summaries_from_index(
    raw: bytes, read: Callable[[bytes], object] | None = None
) -> list[tuple[str, bytes]]:
    """Split an index file on ``\\n`` and keep each line whose name and version parse;
    ``read`` is a `line_reader` (by default the one for ``len(raw)`` bytes)."""
    pairs: list[tuple[str, bytes]] = []
    loads = line_reader(len(raw)) if read is None else read
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        data = loads(line)
        if type(data) is dict and not _may_hide_duplicate(line):
            name = data.get("name")
            vers = data.get("vers")
        elif data is None or type(data) is dict or type(data) is list:
            name_vers = serde_minimal(line)
            if name_vers is None:
                continue
            name, vers = name_vers
        else:
            continue
        if not isinstance(name, str) or not isinstance(vers, str):
            continue
        if not is_version(vers):
            continue
        pairs.append((vers, line))  # a valid version renders exactly as written
    return pairs
