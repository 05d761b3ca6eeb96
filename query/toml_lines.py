"""Where things are defined in a TOML document: the line numbers behind annotations.

``tomllib``/``tomli`` give values without positions; annotations (``::error file=Cargo.lock,
line=N``, a manifest finding on its dependency's line) need them. One scanner of TOML's
structure, run over a document a TOML parser has already accepted, answers both questions:

* :func:`key_lines`: every key path (tables and keys, not inside inline tables) with the
  1-based line it first appears on: the ``[dependencies.serde]`` header, the ``serde = ...``
  line under ``[dependencies]``, the first ``serde.workspace = true`` dotted line, the
  ``[target.'cfg(unix)'.dependencies]`` header for the table itself (``check``'s manifests);
* :func:`array_table_lines`: the line of each table of a top-level array of tables, in order:
  each ``[[KEY]]`` header, or, when the top level defines ``KEY = [ {...}, ... ]`` (an array of
  inline tables, which tomllib reads the same), the line of each ``{`` (Cargo.lock's
  ``[[package]]`` tables).

It is a tokenizer of TOML's structure, not a parser of values: strings (all four kinds, escapes
included: ``[[ "p\\u0061ckage" ]]`` is ``[[package]]``; a ``[[package]]`` inside a string is
text), keys (bare, quoted, dotted, spaced), arrays and inline tables (multi-line, TOML 1.1)
are skipped as units, comments and blank lines are passed over. On text that is not TOML it
returns what it found so far. Pure and linear.
"""

from __future__ import annotations

import contextlib

__all__ = ["array_table_lines", "key_lines"]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "e": "\x1b",
}
_WIDTHS = {"x": 2, "u": 4, "U": 8}


class _Stop(Exception):
    """The text ended or left TOML: stop scanning."""


class _Scanner:
    """The text and a cursor; ``line`` is the 1-based line of ``pos``. ``keys`` collects the
    first line of every key path; ``arrays``, the line of every table of the top-level array
    of tables named ``wanted`` (when given)."""

    def __init__(self, text: str, wanted: tuple[str, ...] | None = None) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.src = text.replace("\r\n", "\n")
        self.pos = 0
        self.line = 1
        self.wanted = wanted
        self.keys: dict[tuple[str, ...], int] = {}
        self.arrays: list[int] = []

    # -- low level ---------------------------------------------------------------------------

    def peek(self) -> str:
        return self.src[self.pos : self.pos + 1]

    def advance(self, count: int = 1) -> None:
        self.line += self.src.count("\n", self.pos, self.pos + count)
        self.pos += count

    def blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def space(self) -> None:
        """Whitespace, line ends and comments."""
        while True:
            char = self.peek()
            if char in (" ", "\t", "\n"):
                self.advance()
            elif char == "#":
                end = self.src.find("\n", self.pos)
                self.pos = len(self.src) if end < 0 else end
            else:
                return

    def record(self, path: tuple[str, ...]) -> None:
        for i in range(1, len(path) + 1):
            self.keys.setdefault(path[:i], self.line)

    # -- keys and values ---------------------------------------------------------------------

    def string(self) -> str:
        """The string at ``pos`` (any of the four kinds), decoded (multi-line ones are only
        skipped: keys cannot be multi-line)."""
        src = self.src
        quote = self.peek()
        if src.startswith(quote * 3, self.pos):
            start = self.pos + 3
            end = src.find(quote * 3, start)
            while quote == '"' and end >= 0:
                slash = src.find("\\", start, end)
                if slash < 0:
                    break
                start = slash + 2  # an escape: a quote after it is text
                end = src.find(quote * 3, start)
            if end < 0:
                raise _Stop
            while src.startswith(quote, end + 3):  # up to two quotes before the delimiter
                end += 1
            body = src[self.pos + 3 : end]
            self.advance(end + 3 - self.pos)
            return body
        if quote == "'":
            end = src.find("'", self.pos + 1)
            if end < 0:
                raise _Stop
            body = src[self.pos + 1 : end]
            self.advance(end + 1 - self.pos)
            return body
        out: list[str] = []
        i = self.pos + 1
        while i < len(src):
            char = src[i]
            if char == '"':
                self.advance(i + 1 - self.pos)
                return "".join(out)
            if char == "\n":
                raise _Stop
            if char == "\\":
                code = src[i + 1 : i + 2]
                if code in _ESCAPES:
                    out.append(_ESCAPES[code])
                    i += 2
                    continue
                width = _WIDTHS.get(code)
                if width is None:
                    raise _Stop
                try:
                    out.append(chr(int(src[i + 2 : i + 2 + width], 16)))
                except ValueError:
                    raise _Stop from None
                i += 2 + width
                continue
            out.append(char)
            i += 1
        raise _Stop

    def key(self) -> tuple[str, ...]:
        """A dotted key at ``pos`` (blanks around the dots)."""
        parts: list[str] = []
        while True:
            self.blanks()
            char = self.peek()
            if char in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.pos
                while self.pos < len(self.src) and self.src[self.pos] in _BARE:
                    self.pos += 1
                if self.pos == start:
                    raise _Stop
                parts.append(self.src[start : self.pos])
            self.blanks()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def value(self, tables: list[int] | None = None) -> None:
        """Skip the value at ``pos``; ``tables``: collect the line of each inline table
        directly inside it (an array)."""
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char in ("[", "{"):
            self.nested(char, tables)
        else:
            # numbers, booleans, dates and times (a date-time may hold one space)
            while self.pos < len(self.src) and self.src[self.pos] not in "\n#,]}":
                self.pos += 1

    def nested(self, opening: str, tables: list[int] | None = None) -> None:
        closing = "]" if opening == "[" else "}"
        self.advance()
        while True:
            self.space()
            char = self.peek()
            if not char:
                raise _Stop
            if char == closing:
                self.advance()
                return
            if char == ",":
                self.advance()
                continue
            if opening == "{":
                self.key()
                self.blanks()
                if self.peek() != "=":
                    raise _Stop
                self.advance()
                self.blanks()
            elif tables is not None and char == "{":
                tables.append(self.line)
            self.value()

    # -- the document ------------------------------------------------------------------------

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.space()
            char = self.peek()
            if not char:
                return
            if char == "[":
                array = self.src.startswith("[[", self.pos)
                self.pos += 2 if array else 1
                table = self.key()
                self.blanks()
                closing = "]]" if array else "]"
                if not self.src.startswith(closing, self.pos):
                    raise _Stop
                self.pos += len(closing)
                self.record(table)
                if array and table == self.wanted:
                    self.arrays.append(self.line)
                continue
            key = self.key()
            path = table + key
            self.record(path)
            self.blanks()
            if self.peek() != "=":
                raise _Stop
            self.advance()
            self.blanks()
            self.value(self.arrays if not table and key == self.wanted else None)


def _scan(text: str, wanted: tuple[str, ...] | None = None) -> _Scanner:
    scanner = _Scanner(text, wanted)
    with contextlib.suppress(_Stop, IndexError):
        scanner.document()
    return scanner


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Every key path of the TOML ``text`` (tables and keys, not inside inline tables) with
    the 1-based line it first appears on."""
    return _scan(text).keys


def array_table_lines(text: str, key: str) -> list[int]:
    """1-based lines of the tables of the top-level array of tables ``key``, in order."""
    return _scan(text, (key,)).arrays
