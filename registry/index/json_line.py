"""One index line from cache bytes to Python values, as orjson reads it, cheaply.

``orjson`` is the parser of record (the cache builder, every bulk path), but importing it costs
~11 ms here (its module init imports ``dataclasses``, ``uuid``, ``platform``...), more than a
warm check spends parsing all its lines. The stdlib ``json`` (~2 ms, and often imported
already) parses the few lines a query or a null-build check needs at ~3 µs each. So
:func:`loads` uses ``json`` and hands every line on which the two could differ to orjson:

* orjson refuses NaN / Infinity and numbers out of the float range; ``json`` accepts them:
  refused here too, then orjson decides (and raises).
* orjson reads an integer beyond 64 bits as a float: done here too.
* orjson refuses lone surrogate escapes (``"\\ud800"``); ``json`` accepts them: any line with a
  ``\\ud`` escape goes to orjson.
* invalid UTF-8, a BOM, control characters, deep nesting: ``json`` raises, orjson decides.

So a line gets the value orjson would give, or orjson's own error (a ``ValueError``). Twin:
``orjson.loads``; pinned to it by tests/test_json_line.py (edge cases, every bundled index line,
generated documents and bytes). Gain, end to end: undoing it adds ~6 ms to nushell's ``check``
(docs/performance.md).
"""

from __future__ import annotations

import json

__all__ = ["UNDECIDED", "loads", "loads_plain"]


def _int(text: str) -> int | float:
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _no_constant(text: str) -> object:
    raise ValueError(f"{text} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_no_constant)


def _orjson(blob: bytes) -> object:
    import orjson

    return orjson.loads(blob)


class _Undecided:
    """`loads_plain`'s answer for a line only orjson may judge."""


UNDECIDED = _Undecided()


def loads_plain(blob: bytes) -> object:
    """The value of one JSON document as orjson would give it, parsed by ``json``; or
    `UNDECIDED` when orjson must judge it (it may refuse it, or read it differently)."""
    if b"\\ud" in blob or b"\\uD" in blob:
        return UNDECIDED
    try:
        return _DECODER.decode(blob.decode())
    except (ValueError, RecursionError):
        return UNDECIDED


def loads(blob: bytes) -> object:
    """The value of one JSON document (an index line); ValueError when orjson refuses it."""
    value = loads_plain(blob)
    return _orjson(blob) if value is UNDECIDED else value
