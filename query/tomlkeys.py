"""Where each key of a TOML document is defined: the line numbers behind ``check``'s
annotations.

:func:`key_lines` scans a document that a TOML parser has already accepted (the subset reader,
``tomli``) and maps every key path to the 1-based line where it first appears: the
``[dependencies.serde]`` header, the ``serde = ...`` line under ``[dependencies]``, the first
``serde.workspace = true`` dotted line, the ``[target.'cfg(unix)'.dependencies]`` header for
the table itself. Keys inside inline tables are not listed (their table's line is). It is a
tokenizer of TOML's structure, not a parser of values: strings (all four kinds, escapes
included), arrays and inline tables (multi-line, TOML 1.1) are skipped as units, comments and
blank lines are passed over. On text that is not TOML it returns what it found so far.
"""

from __future__ import annotations

import contextlib

__all__ = ["key_lines"]

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


class _Stop(Exception):
    """The text ended or left TOML: stop scanning."""


class _Scanner:
    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.src = text.replace("\r\n", "\n")
        self.pos = 0
        self.line = 1
        self.lines: dict[tuple[str, ...], int] = {}

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
            self.lines.setdefault(path[:i], self.line)

    # -- keys and values ---------------------------------------------------------------------

    def string(self) -> str:
        """The string at ``pos`` (any of the four kinds), decoded."""
        src = self.src
        quote = self.peek()
        if src.startswith(quote * 3, self.pos):
            end = src.find(quote * 3, self.pos + 3)
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
                width = {"x": 2, "u": 4, "U": 8}.get(code)
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
        """A dotted key at ``pos``."""
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

    def value(self) -> None:
        """Skip the value at ``pos``."""
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char in ("[", "{"):
            self.nested(char)
        else:
            # numbers, booleans, dates and times (a date-time may hold one space)
            while self.pos < len(self.src) and self.src[self.pos] not in "\n#,]}":
                self.pos += 1

    def nested(self, opening: str) -> None:
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
                continue
            path = table + self.key()
            self.record(path)
            self.blanks()
            if self.peek() != "=":
                raise _Stop
            self.advance()
            self.blanks()
            self.value()


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Every key path of the TOML ``text`` (tables and keys, not inside inline tables) with
    the 1-based line it first appears on."""
    scanner = _Scanner(text)
    with contextlib.suppress(_Stop, IndexError):
        scanner.document()
    return scanner.lines
