"""One index line read as serde_json 1.0.149 reads it for cargo 1.95 (no I/O).

cargo deserializes an index line with ``serde_json::from_slice`` into derived structs
(``IndexPackage``, ``crates/cargo-util-schemas/src/index.rs``). That reading is not any JSON
parser's: what a field's *type* does with a value decides, so :func:`read_json` gives a value
that keeps what the types need to see, and :mod:`query.index_line` applies the types.

* Syntax is strict JSON (``src/de.rs``, ``src/read.rs`` of serde_json 1.0.149): one value,
  JSON whitespace (space, tab, LF, CR) around it, no trailing commas, no NaN, no raw control
  character in a string, only the JSON escapes (a malformed escape is a syntax error even where
  the value is ignored).
* A string serde_json could only read as bytes (invalid UTF-8, a lone surrogate escape) is a
  :class:`BadString`: a field typed as a string refuses it, an ignored value does not care
  (``ignore_str`` does not validate UTF-8, ``ignore_escape`` accepts lone surrogates).
* A key given twice in one object keeps its last value wrapped in :class:`Duplicate` (keys are
  compared after unescaping): a struct field refuses it (serde derive's ``duplicate_field``), a
  map (``features``) takes the last value, an ignored value does not care.
* Numbers: an integer is an ``int`` (``-0`` is the float ``-0.0``, as serde_json reads it; more
  than 20 digits a float), anything with a fraction or exponent a ``float`` (``inf`` when out
  of range: only ignored values may be that).
* Nesting is not limited (serde_json skips ignored values without recursion; the values its
  types read are shallow): the parser keeps its own stack. Inside what is read for its syntax
  only, a run of ``[`` or ``]`` is taken a run at a time (a trick: docs/performance.md; the
  same reading as one bracket at a time, pinned by tests/test_index_lines.py
  ``test_runs_of_brackets_are_read_as_one_by_one``).
* ``keep``: the top-level keys whose values are built. The value of any other top-level key is
  read for its syntax only, as serde_json's ``ignore_value`` reads it, and stands as
  :data:`IGNORED`: nothing of it is built, so a 100 MB unknown field costs no memory (lines
  over :data:`query.entry.HUGE_LINE_BYTES` are read this way). A struct ignores
  unknown keys whatever they hold, so the outcome is the same (tests/test_index_lines.py).

Objects become ``dict``\\ s, arrays ``list``\\ s: for a line that is valid UTF-8 and has no
duplicate key, no lone surrogate and no ``-0``, the value equals what the stdlib ``json`` module
gives, which is what the accelerator in :mod:`query.index_line` relies on.
"""

from __future__ import annotations

import re

from query import TYPE_CHECKING
from query.errors import ParseError

if TYPE_CHECKING:
    from collections.abc import Container

__all__ = ["IGNORED", "BadString", "Duplicate", "JsonSyntaxError", "read_json"]


class JsonSyntaxError(ParseError):
    """The line is not one JSON value as serde_json reads it (cargo drops such a line)."""


class BadString:
    """A JSON string serde_json reads as bytes only: invalid UTF-8 or a lone surrogate."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"BadString({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BadString) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash((BadString, self.raw))


class Duplicate:
    """The last value of a key given more than once in one object."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Duplicate({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duplicate) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


class _Ignored:
    """The value of a top-level key not in ``keep``: read for its syntax only."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "IGNORED"


#: What stands for a value read for its syntax only (see ``keep``).
IGNORED = _Ignored()

_WS = re.compile(rb"[ \t\n\r]*")


def _ws(data: bytes, pos: int) -> int:
    """The position after the JSON whitespace at ``pos``."""
    m = _WS.match(data, pos)
    return pos if m is None else m.end()


#: Runs of one bracket: a list nested a million deep is read a run at a time, not a byte.
_OPENERS = re.compile(rb"\[+")
_CLOSERS = re.compile(rb"\]+")


def _run_end(run: re.Pattern[bytes], data: bytes, pos: int) -> int:
    """The position after the run of ``run`` at ``pos``."""
    m = run.match(data, pos)
    return pos if m is None else m.end()


_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_HEX = re.compile(rb"[0-9A-Fa-f]{4}")
_SIMPLE = {
    ord('"'): '"',
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}


def _string(data: bytes, pos: int, build: bool = True) -> tuple[str | BadString | None, int]:
    """The string whose opening quote is at ``pos - 1``; (value, position after it). Without
    ``build``, its syntax only (serde_json's ``ignore_str``: no UTF-8 check): (None, position)."""
    start = pos
    parts: list[str] = []
    bad = False
    plain = _PLAIN.match
    n = len(data)
    while True:
        m = plain(data, pos)
        end = pos if m is None else m.end()
        if end > pos and build:
            try:
                # a long run is decoded in place: no copy of its bytes first
                run = data[pos:end] if end - pos < 65536 else memoryview(data)[pos:end]
                parts.append(str(run, "utf-8"))
            except UnicodeDecodeError:
                bad = True
        pos = end
        if pos >= n:
            raise JsonSyntaxError("EOF while parsing a string")
        c = data[pos]
        if c == 0x22:  # "
            pos += 1
            break
        if c != 0x5C:  # a raw control character
            raise JsonSyntaxError(
                "control character (\\u0000-\\u001F) found while parsing a string"
            )
        if pos + 1 >= n:
            raise JsonSyntaxError("EOF while parsing a string")
        e = data[pos + 1]
        simple = _SIMPLE.get(e)
        if simple is not None:
            if build:
                parts.append(simple)
            pos += 2
            continue
        if e != 0x75:  # u
            raise JsonSyntaxError("invalid escape")
        if not _HEX.match(data, pos + 2):
            if pos + 6 > n:
                raise JsonSyntaxError("EOF while parsing a string")
            raise JsonSyntaxError("invalid escape")
        if not build:  # any escape's four hex digits will do (a lone surrogate too)
            pos += 6
            continue
        unit = int(data[pos + 2 : pos + 6], 16)
        pos += 6
        if 0xD800 <= unit <= 0xDBFF and data.startswith(b"\\u", pos) and _HEX.match(data, pos + 2):
            low = int(data[pos + 2 : pos + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                parts.append(chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)))
                pos += 6
                continue
        if 0xD800 <= unit <= 0xDFFF:
            bad = True  # a lone surrogate: only an ignored value may hold it
            continue
        parts.append(chr(unit))
    if not build:
        return None, pos
    if bad:
        return BadString(data[start : pos - 1]), pos
    return "".join(parts), pos


def _number(data: bytes, pos: int, build: bool = True) -> tuple[int | float | None, int]:
    m = _NUMBER.match(data, pos)
    if m is None:
        raise JsonSyntaxError("invalid number")
    if not build:
        return None, m.end()
    text = m.group()
    if m.group(1) is None and m.group(2) is None:
        if text == b"-0":
            return -0.0, m.end()
        if len(text) <= 20:
            return int(text), m.end()
    return float(text), m.end()


_LITERALS = ((b"true", True), (b"false", False), (b"null", None))


def read_json(
    line: bytes, keep: Container[object] | None = None, depth: int | None = None
) -> object:
    """The value of ``line`` (see the module docstring); JsonSyntaxError when serde_json would
    not read it as one JSON value. With ``keep``, the value of a top-level key not in it is
    :data:`IGNORED`; with ``depth``, so is an object or array nested deeper than that (the
    top-level value is at depth 1). What is IGNORED is read for its syntax only."""
    data = line
    n = len(data)
    ws = _ws
    limit = n if depth is None else depth  # an open container takes at least one byte
    # Containers being filled: (container, pending key) -- the key is None for a list.
    stack: list[tuple[dict[object, object] | list[object], object]] = []
    # Containers being read inside an IGNORED value, innermost last: ``{`` or ``[`` each (one
    # byte per level, as serde_json's own scratch stack).
    ignored = bytearray()
    pos = ws(data, 0)
    while True:
        # --- one value starts at pos
        if pos >= n:
            raise JsonSyntaxError("EOF while parsing a value")
        build = not ignored and (
            keep is None or len(stack) != 1 or stack[0][1] in keep or type(stack[0][0]) is list
        )
        c = data[pos]
        value: object
        if c in (0x7B, 0x5B):  # { or [
            build = build and len(stack) < limit
            pos = ws(data, pos + 1)
            if pos < n and data[pos] == c + 2:  # {} or []: ord("}") == ord("{") + 2
                value, pos = ({} if c == 0x7B else []), pos + 1
            elif build:
                if c == 0x7B:
                    obj: dict[object, object] = {}
                    pos, key = _key(data, pos)
                    stack.append((obj, key))
                else:
                    stack.append(([], None))
                continue
            else:
                if c == 0x7B:
                    pos, _ = _key(data, pos, False)
                elif data.startswith(b"[[", pos):
                    # a run of ``[``: each but the last opens a list (the next byte is ``[``),
                    # all at once; the last may be an empty ``[]``, so it is read as above
                    end = _run_end(_OPENERS, data, pos) - 1
                    ignored += memoryview(data)[pos:end]
                    pos = end
                ignored.append(c)
                continue
        elif c == 0x22:
            value, pos = _string(data, pos + 1, build)
        elif c == 0x2D or 0x30 <= c <= 0x39:
            value, pos = _number(data, pos, build)
        else:
            for word, literal in _LITERALS:
                if data.startswith(word, pos):
                    value, pos = literal, pos + len(word)
                    break
            else:
                raise JsonSyntaxError("expected value")
        if not build:
            value = IGNORED
        # --- the value is complete: store it, then close what it completes
        while True:
            if ignored:  # inside an IGNORED value: nothing is stored
                is_object = ignored[-1] == 0x7B
            elif not stack:
                if ws(data, pos) != n:
                    raise JsonSyntaxError("trailing characters")
                return value
            else:
                container, key = stack[-1]
                if isinstance(container, dict):
                    is_object = True
                    container[key] = Duplicate(value) if key in container else value
                else:
                    is_object = False
                    container.append(value)
            pos = ws(data, pos)
            if pos >= n:
                raise JsonSyntaxError("EOF while parsing an object or a list")
            c = data[pos]
            if c == 0x2C:  # ,
                pos = ws(data, pos + 1)
                if is_object:
                    if ignored:
                        pos, _ = _key(data, pos, False)
                    else:
                        pos, key = _key(data, pos)
                        stack[-1] = (container, key)
                elif pos < n and data[pos] == 0x5D:
                    raise JsonSyntaxError("trailing comma")
                break  # the next value
            if c == (0x7D if is_object else 0x5D):
                if ignored and not is_object and data.startswith(b"]]", pos):
                    # a run of ``]``: as many as close ignored lists in a row (the innermost
                    # ``[`` of `ignored` up to its last ``{``) at once, but the last of them
                    run = _run_end(_CLOSERS, data, pos) - pos
                    brace = ignored.rfind(b"{", max(0, len(ignored) - run))
                    lists = min(run, len(ignored)) if brace < 0 else len(ignored) - 1 - brace
                    del ignored[len(ignored) - lists + 1 :]
                    pos += lists - 1
                pos += 1
                if ignored:
                    ignored.pop()
                    value = IGNORED
                else:
                    stack.pop()
                    value = container
                continue
            raise JsonSyntaxError("expected `,` or the end of an object or a list")


def _key(data: bytes, pos: int, build: bool = True) -> tuple[int, object]:
    """A key and its colon at ``pos``; (position of the value, key: None without ``build``)."""
    if pos >= len(data) or data[pos] != 0x22:
        raise JsonSyntaxError("key must be a string")
    key, pos = _string(data, pos + 1, build)
    pos = _ws(data, pos)
    if pos >= len(data) or data[pos] != 0x3A:
        raise JsonSyntaxError("expected `:`")
    return _ws(data, pos + 1), key
