"""Where the tables of an array of tables start, in a TOML document ``tomllib`` has accepted.

``tomllib`` gives values without positions; annotations (``::error file=Cargo.lock,line=N``)
need the line of each ``[[package]]`` table. :func:`array_table_lines` finds them by reading
the document's structure, not by searching its text: it steps over comments and every kind of
string (basic, literal, multi-line: a ``[[package]]`` inside one is text, not a header), keys
(bare, quoted, dotted, spaced: ``[[ "package" ]]`` is the same table) and values (arrays and
inline tables over several lines), so it finds exactly the tables ``tomllib`` built, in order:

* each ``[[KEY]]`` header, the line of the header;
* or, when the top level defines ``KEY = [ {...}, ... ]`` (an array of inline tables, which
  tomllib reads the same), the line of each ``{``.

The document must be one ``tomllib.loads`` accepted (TOML 1.0): on anything else the answer is
unspecified (but it always returns). Pure and linear.
"""

from __future__ import annotations

__all__ = ["array_table_lines"]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_BLANK = " \t"
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    '"': '"',
    "\\": "\\",
}


class _Doc:
    """The text and a cursor; ``line`` is the 1-based line of ``pos``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)
        self._counted = (0, 1)  # (position, its line): lines are counted forward only

    def line_at(self, pos: int) -> int:
        at, line = self._counted
        line += self.text.count("\n", at, pos)
        self._counted = (pos, line)
        return line

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.text[i] if i < self.n else ""

    def skip_blank(self) -> None:
        while self.pos < self.n and self.text[self.pos] in _BLANK:
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.text.find("\n", self.pos)
            self.pos = self.n if end < 0 else end

    def skip_space(self) -> None:
        """Blanks, newlines and comments (inside arrays, between statements)."""
        while self.pos < self.n:
            c = self.text[self.pos]
            if c in " \t\r\n":
                self.pos += 1
            elif c == "#":
                self.skip_comment()
            else:
                return

    # --- strings and keys -------------------------------------------------------------------

    def string(self) -> str:
        """The value of the string at ``pos`` (any of the four kinds); moves past it."""
        text = self.text
        if text.startswith('"""', self.pos) or text.startswith("'''", self.pos):
            quote = text[self.pos : self.pos + 3]
            self.pos += 3
            start = self.pos
            if quote == "'''":
                end = text.find("'''", start)
                # up to two more quotes may end the content: ''''' is '' then the delimiter
                while text.startswith("'", end + 3):
                    end += 1
                self.pos = end + 3
                return text[start:end]
            while True:
                end = text.index('"""', self.pos)
                slash = text.find("\\", self.pos, end)
                if slash >= 0:
                    self.pos = slash + 2  # an escape (a quote after it is text)
                    continue
                while text.startswith('"', end + 3):
                    end += 1  # up to two quotes may end the content
                self.pos = end + 3
                return text[start:end]  # escapes left as they are: only keys need values
        if text[self.pos] == "'":
            end = text.index("'", self.pos + 1)
            value = text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        # a basic string: decode escapes (keys like "p\u0061ckage" must compare)
        self.pos += 1
        out: list[str] = []
        while True:
            close = text.index('"', self.pos)
            slash = text.find("\\", self.pos, close)
            if slash < 0:
                out.append(text[self.pos : close])
                self.pos = close + 1
                return "".join(out)
            out.append(text[self.pos : slash])
            e = text[slash + 1]
            if e in ("u", "U"):
                size = 4 if e == "u" else 8
                out.append(chr(int(text[slash + 2 : slash + 2 + size], 16)))
                self.pos = slash + 2 + size
            else:
                out.append(_ESCAPES.get(e, e))
                self.pos = slash + 2

    def key(self) -> tuple[str, ...]:
        """A dotted key at ``pos`` (blanks around the dots); moves past it."""
        parts: list[str] = []
        while True:
            self.skip_blank()
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.pos
                while self.pos < self.n and self.text[self.pos] in _BARE:
                    self.pos += 1
                parts.append(self.text[start : self.pos])
            self.skip_blank()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # --- values ---------------------------------------------------------------------------------

    def skip_value(self, on_table: list[int] | None = None) -> None:
        """Move past the value at ``pos``; ``on_table``: collect the position of each inline
        table directly inside this value (an array)."""
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.pos += 1
            while True:
                self.skip_space()
                if self.peek() == "]":
                    self.pos += 1
                    return
                if on_table is not None and self.peek() == "{":
                    on_table.append(self.pos)
                self.skip_value()
                self.skip_space()
                if self.peek() == ",":
                    self.pos += 1
        elif c == "{":
            self.pos += 1
            while True:
                self.skip_blank()
                if self.peek() == "}":
                    self.pos += 1
                    return
                self.key()
                self.skip_blank()
                self.pos += 1  # "="
                self.skip_blank()
                self.skip_value()
                self.skip_blank()
                if self.peek() == ",":
                    self.pos += 1
        else:  # a number, a boolean, a date or time: up to what ends it
            while self.pos < self.n and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            # a date-time's space before the time is inside the value; trailing blanks are not
            while self.pos > 0 and self.text[self.pos - 1] in _BLANK:
                self.pos -= 1


def array_table_lines(text: str, key: str) -> list[int]:
    """1-based lines of the tables of the top-level array of tables ``key``, in order."""
    doc = _Doc(text)
    path: tuple[str, ...] = ()
    found: list[int] = []
    wanted = (key,)
    while True:
        doc.skip_space()
        if doc.pos >= doc.n:
            return found
        start = doc.pos
        if doc.peek() == "[":
            double = doc.peek(1) == "["
            doc.pos += 2 if double else 1
            path = doc.key()
            doc.skip_blank()
            doc.pos += 2 if double else 1
            if double and path == wanted:
                found.append(doc.line_at(start))
        else:
            name = doc.key()
            doc.skip_blank()
            doc.pos += 1  # "="
            doc.skip_blank()
            if path == () and name == wanted:
                tables: list[int] = []
                doc.skip_value(tables)
                found.extend(doc.line_at(p) for p in tables)
            else:
                doc.skip_value()
        doc.skip_blank()
        doc.skip_comment()
