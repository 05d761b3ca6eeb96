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

orjson reads every ordinary line; the few it rejects, or that could hide a duplicate key, go to
the stdlib ``json`` module with the rules above (``serde_minimal``). Known gap: a line nested
deeper than Python's recursion limit (~1000 levels) is dropped, where cargo keeps it.

This is the one place that parses every line of an index file, once per download.
"""

from __future__ import annotations

import orjson

from query.versionsyntax import is_version


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
    """Could orjson (last key wins) have merged a duplicate top-level ``name`` or ``vers``?

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


def summaries_from_index(raw: bytes) -> list[tuple[str, bytes]]:
    """Split an index file on ``\\n`` and keep each line whose name and version parse."""
    pairs: list[tuple[str, bytes]] = []
    loads = orjson.loads
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            data = loads(line)
        except orjson.JSONDecodeError:
            data = None  # maybe only stricter than serde_json: see serde_minimal
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
