"""A fast reader for hand-written Cargo.toml and .cargo/config.toml text, deferring to tomllib.

:mod:`tomllib` is costly to import (with ``typing``, ``datetime`` and ``string``) and slow per
manifest. :func:`parse_subset` reads the part of TOML that hand-written cargo
files use, several times faster and with nothing to import, and returns exactly the mapping
``tomllib.loads`` would, or None; the caller then runs tomllib on the whole text, which also
reports any error precisely. Like :mod:`query.lockfile_fast` for Cargo.lock, it never accepts a
text tomllib rejects. Twin: ``tomllib.loads``; pinned to it by tests/test_tomlsubset.py. Gain,
end to end: undoing it adds ~7-8 ms to a ``check`` of ripgrep or nushell (docs/performance.md).

The subset:

* blank lines, ``#`` comments, LF or CRLF line ends, spaces and tabs between tokens;
* ``[a.b]`` tables and ``[[bin]]`` arrays of tables, with bare, ``"quoted"`` (no escapes) and
  ``'literal'`` key parts: ``[target.'cfg(windows)'.dependencies]``;
* ``key = value`` with dotted keys (``serde.workspace = true``), also in inline tables;
* values: basic strings with the escapes ``\\" \\\\ \\n \\t \\b \\f \\r``, literal strings,
  multi-line strings in their plain forms (``\"\"\"`` with no escape but line-ending
  backslashes, ``'''``; no quote right before the closing delimiter), decimal integers (sign,
  ``_`` separators, at most 18 digits), ``true``/``false``, arrays (nested, multi-line, with
  comments and a trailing comma) and inline tables.

Everything else returns None: floats, dates and times, hex/octal/binary integers, ``inf``/``nan``,
``\\u`` escapes, control characters, other whitespace, and whatever TOML's table rules might
forbid. Those rules are applied conservatively: a header may reopen only a table that an earlier
header created implicitly (``[a.b]`` then ``[a]``); a header may not pass through a table made
by dotted keys; dotted keys may extend only tables that dotted keys of the same section made;
inline tables and arrays (but arrays of tables) are never extended; no key is set twice.
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# No regular expressions: compiling the few this would need costs more than parsing a whole
# workspace's manifests. str methods do the scanning.
_BARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_BARE_SET = frozenset(_BARE)
_DIGITS = "0123456789_"
_BLANK = (" ", "\t")
_WORD_END = frozenset(" \t\n,]}#")  # what may follow a boolean or an integer
_CONTROL = dict.fromkeys([*range(0x20), 0x7F])  # for str.translate: deletes them
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_MAX_DEPTH = 32

# How a table (dict) came to be, by id(); any other dict (an inline table) is immutable. Every
# dict (and list) whose id is recorded stays in the document, so no other object can take its id
# while the text is parsed.
_DECLARED = 1  # by its own [header], or an element of an array of tables (or the root)
_IMPLICIT = 2  # as a parent in a [header]: a later [header] may still declare it
_DOTTED = 3  # by dotted keys in the current section


class _Unsupported(Exception):
    """The text leaves the subset (or is not TOML): let tomllib parse it."""


def _blanks(src: str, pos: int) -> int:
    """The position after the spaces and tabs at ``pos``."""
    while src.startswith((" ", "\t"), pos):
        pos += 1
    return pos


def _array_space(src: str, pos: int) -> int:
    """The position after the whitespace, line ends and comments at ``pos`` (in an array)."""
    while True:
        char = src[pos : pos + 1]
        if char in {" ", "\t", "\n"}:
            pos += 1
        elif char == "#":
            pos = src.find("\n", pos)
            if pos < 0:
                return len(src)
        else:
            return pos


def _line_end(src: str, pos: int) -> int:
    """The start of the next line, when only blanks and a comment follow ``pos``."""
    pos = _blanks(src, pos)
    char = src[pos : pos + 1]
    if char in {"\n", ""}:
        return pos + 1
    if char != "#":
        raise _Unsupported
    end = src.find("\n", pos)
    return len(src) if end < 0 else end + 1


def _word(word: str) -> bool | int:
    """A boolean or a decimal integer (at most 18 digits), else _Unsupported."""
    if word == "true":
        return True
    if word == "false":
        return False
    digits = word[1:] if word.startswith(("+", "-")) else word
    if (
        not digits
        or digits.strip(_DIGITS)
        or digits[0] == "_"
        or digits[-1] == "_"
        or "__" in digits
        or (digits[0] == "0" and len(digits) > 1)
        or len(digits) > 18
    ):
        raise _Unsupported
    return int(word)


def _key(src: str, pos: int) -> tuple[list[str], int]:
    """The dotted key at ``pos``, and the position after it and the blanks that follow."""
    parts: list[str] = []
    size = len(src)
    while True:
        char = src[pos : pos + 1]
        if char in {'"', "'"}:
            end = src.find(char, pos + 1)
            part = src[pos + 1 : end]
            if end < 0 or "\n" in part or (char == '"' and "\\" in part):
                raise _Unsupported
            pos = end + 1
        else:
            start = pos
            while pos < size and src[pos] in _BARE_SET:
                pos += 1
            if pos == start:
                raise _Unsupported
            part = src[start:pos]
        parts.append(part)
        pos = _blanks(src, pos)
        if not src.startswith(".", pos):
            return parts, pos
        pos = _blanks(src, pos + 1)


def _escaped(src: str, pos: int) -> tuple[str, int]:
    """The one-line basic string with escapes whose opening quote is at ``pos``."""
    out: list[str] = []
    pos += 1
    while True:
        quote = src.find('"', pos)
        if quote < 0:
            raise _Unsupported
        slash = src.find("\\", pos, quote)
        piece = src[pos : quote if slash < 0 else slash]
        if "\n" in piece:
            raise _Unsupported
        out.append(piece)
        if slash < 0:
            return "".join(out), quote + 1
        escape = _ESCAPES.get(src[slash + 1 : slash + 2])
        if escape is None:
            raise _Unsupported  # \u, \U, a line end, or no escape at all
        out.append(escape)
        pos = slash + 2


def _multiline(src: str, pos: int, quote: str) -> tuple[str, int]:
    """The multi-line string whose opening delimiter is at ``pos``, in its plain forms only."""
    start = pos + 3
    if src.startswith("\n", start):
        start += 1
    end = src.find(quote * 3, start)
    if end < 0 or src.startswith(quote, end + 3):
        raise _Unsupported  # unterminated, or quotes right before the closing delimiter
    body = src[start:end]
    if quote == '"' and "\\" in body:
        # Only line-ending backslashes: each drops itself, the line end and all whitespace
        # (line ends included) up to the next other character.
        pieces = body.split("\\")
        for i in range(1, len(pieces)):
            rest = pieces[i].lstrip(" \t")
            if not rest.startswith("\n"):
                raise _Unsupported  # an escape: left to tomllib
            pieces[i] = rest.lstrip(" \t\n")
        body = "".join(pieces)
    return body, end + 3


def _string_array(text: str) -> list[str] | None:
    """The items of ``text``, a one-line array ("[" to "]") of basic strings without escapes;
    None for any other array."""
    if len(text) < 2 or text[-1] != "]" or "\\" in text or "\n" in text:
        return None
    pieces = text[1:-1].split('"')
    last = len(pieces) - 1
    if last % 2:
        return None  # an odd number of quotes
    if last == 0:
        return [] if not pieces[0].strip(" \t") else None
    if pieces[0].strip(" \t"):
        return None
    for i in range(2, last, 2):
        if pieces[i].strip(" \t") != ",":
            return None
    if pieces[last].strip(" \t") not in ("", ","):
        return None
    return pieces[1::2]


def _flat_table(text: str) -> dict[str, Any] | None:
    """The pairs of ``text``, a one-line inline table ("{" to "}") of bare keys and strings
    without escapes, booleans, integers or arrays of such strings; None for any other table."""
    if len(text) < 2 or text[-1] != "}" or "\\" in text or "'" in text or "\n" in text:
        return None
    pieces = text[1:-1].split('"')
    if not len(pieces) % 2:
        return None  # an odd number of quotes
    # The text outside the strings, each string a NUL (which no TOML text holds).
    rest = "\0".join(pieces[0::2])
    if "{" in rest or "}" in rest or "#" in rest:
        return None
    strings = iter(pieces[1::2])
    table: dict[str, Any] = {}
    while True:
        key, equals, rest = rest.partition("=")
        key = key.strip(" \t")
        if not equals or not key or key.strip(_BARE) or key in table:
            return None
        rest = rest.lstrip(" \t")
        if rest.startswith("["):
            inner, close, rest = rest[1:].partition("]")
            if not close or "[" in inner:
                return None
            if inner.strip(" \t"):
                items = inner.split(",")
                if not items[-1].strip(" \t"):
                    items.pop()  # a trailing comma
                if not all(item.strip(" \t") == "\0" for item in items):
                    return None
                table[key] = [next(strings) for _ in items]
            else:
                table[key] = []
            between, comma, rest = rest.partition(",")
            if between.strip(" \t"):
                return None
        else:
            value, comma, rest = rest.partition(",")
            value = value.strip(" \t")
            if value == "\0":
                table[key] = next(strings)
            else:
                try:
                    table[key] = _word(value)
                except _Unsupported:
                    return None  # let _inline_table tell
        if not comma:
            return table


def _value(src: str, pos: int, depth: int) -> tuple[Any, int]:
    char = src[pos : pos + 1]
    if char == '"':
        if src.startswith('"""', pos):
            return _multiline(src, pos, char)
        end = src.find('"', pos + 1)
        text = src[pos + 1 : end]
        if end < 0 or "\n" in text:
            raise _Unsupported
        if "\\" in text:
            return _escaped(src, pos)
        return text, end + 1
    if char == "'":
        if src.startswith("'''", pos):
            return _multiline(src, pos, char)
        end = src.find("'", pos + 1)
        text = src[pos + 1 : end]
        if end < 0 or "\n" in text:
            raise _Unsupported
        return text, end + 1
    if char == "[":
        close = src.find("]", pos)
        items = _string_array(src[pos : close + 1]) if close > 0 else None
        if items is not None:  # the common case: a one-line array of plain strings
            return items, close + 1
        return _array(src, pos, depth)
    if char == "{":
        close = src.find("}", pos)
        table = _flat_table(src[pos : close + 1]) if close > 0 else None
        if table is not None:  # the common case: one line, bare keys, plain values
            return table, close + 1
        return _inline_table(src, pos, depth)
    end = pos
    size = len(src)
    while end < size and src[end] not in _WORD_END:
        end += 1
    return _word(src[pos:end]), end


def _array(src: str, pos: int, depth: int) -> tuple[list[Any], int]:
    if depth > _MAX_DEPTH:
        raise _Unsupported
    items: list[Any] = []
    pos = _array_space(src, pos + 1)
    if src.startswith("]", pos):
        return items, pos + 1
    while True:
        item, pos = _value(src, pos, depth + 1)
        items.append(item)
        pos = _array_space(src, pos)
        char = src[pos : pos + 1]
        if char == "]":
            return items, pos + 1
        if char != ",":
            raise _Unsupported
        pos = _array_space(src, pos + 1)
        if src.startswith("]", pos):
            return items, pos + 1


def _inline_table(src: str, pos: int, depth: int) -> tuple[dict[str, Any], int]:
    if depth > _MAX_DEPTH:
        raise _Unsupported
    table: dict[str, Any] = {}
    pos = _blanks(src, pos + 1)
    if src.startswith("}", pos):
        return table, pos + 1
    stop = src.find("\n", pos)
    if stop < 0:
        stop = len(src)
    dotted: set[int] | None = None  # ids of the tables its dotted keys made
    while True:
        equals = src.find("=", pos, stop)
        key = src[pos:equals].rstrip(" \t")
        if equals > pos and key and not key.strip(_BARE):  # one bare key: the common case
            if key in table:
                raise _Unsupported
            pos = equals + 1
            if src[pos : pos + 1] in _BLANK:
                pos = _blanks(src, pos)
            target = table
        else:
            parts, pos = _key(src, pos)
            if not src.startswith("=", pos):
                raise _Unsupported
            pos = _blanks(src, pos + 1)
            if dotted is None:
                dotted = set()
            target = table
            for part in parts[:-1]:
                child = target.get(part)
                if child is None:
                    child = target[part] = {}
                    dotted.add(id(child))
                elif id(child) not in dotted:
                    raise _Unsupported
                target = child
            key = parts[-1]
            if key in target:
                raise _Unsupported
        if src.startswith('"', pos) and not src.startswith('"""', pos):
            end = src.find('"', pos + 1, stop)
            text = src[pos + 1 : end]
            if end > 0 and "\\" not in text:
                target[key] = text
                pos = end + 1
            else:
                target[key], pos = _value(src, pos, depth + 1)
        else:
            target[key], pos = _value(src, pos, depth + 1)
        char = src[pos : pos + 1]
        if char in _BLANK:
            pos = _blanks(src, pos)
            char = src[pos : pos + 1]
        if char == "}":
            return table, pos + 1
        if char != ",":
            raise _Unsupported
        pos += 1
        if src[pos : pos + 1] in _BLANK:
            pos = _blanks(src, pos)
        if stop < pos:  # a multi-line value ended on a later line
            stop = src.find("\n", pos)
            if stop < 0:
                stop = len(src)


def _header(src: str, pos: int, line: str) -> tuple[list[str], bool, int]:
    """The ``[table]`` or ``[[array]]`` header at ``pos`` (``line``: from there to the line end):
    its key, whether it is an array's, and the start of the next line."""
    is_array = line.startswith("[[")
    start = 2 if is_array else 1
    if '"' not in line and "'" not in line:  # bare key parts: the common case
        close = line.find("]")
        if close < 0:
            raise _Unsupported
        name = line[start:close]
        parts = [part.strip(" \t") for part in name.split(".")]
        for part in parts:
            if not part or part.strip(_BARE):
                raise _Unsupported
        end = close + 2 if is_array else close + 1
        if is_array and line[close:end] != "]]":
            raise _Unsupported
        tail = line[end:].lstrip(" \t")
        if tail and tail[0] != "#":
            raise _Unsupported
        return parts, is_array, pos + len(line) + 1
    parts, pos = _key(src, _blanks(src, pos + start))
    if is_array:
        if not src.startswith("]]", pos):
            raise _Unsupported
        return parts, True, _line_end(src, pos + 2)
    if not src.startswith("]", pos):
        raise _Unsupported
    return parts, False, _line_end(src, pos + 1)


def _document(src: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    kinds: dict[int, int] = {id(root): _DECLARED}
    arrays: set[int] = set()  # ids of the lists made by [[header]]
    table = root
    pos = 0
    size = len(src)
    while pos < size:
        stop = src.find("\n", pos)
        if stop < 0:
            stop = size
        rest = src[pos:stop].lstrip(" \t")
        if not rest or rest[0] == "#":
            pos = stop + 1
            continue
        if rest[0] == "[":
            parts, is_array, pos = _header(src, stop - len(rest), rest)
            *parents, key = parts
            target = root
            for part in parents:
                child = target.get(part)
                if child is None:
                    child = target[part] = {}
                    kinds[id(child)] = _IMPLICIT
                elif type(child) is list and id(child) in arrays:
                    child = child[-1]
                elif type(child) is not dict or kinds.get(id(child)) not in (_DECLARED, _IMPLICIT):
                    raise _Unsupported
                target = child
            child = target.get(key)
            if is_array:
                if child is None:
                    child = target[key] = []
                    arrays.add(id(child))
                elif type(child) is not list or id(child) not in arrays:
                    raise _Unsupported
                table = {}
                child.append(table)
            elif child is None:
                table = target[key] = {}
            elif type(child) is dict and kinds.get(id(child)) == _IMPLICIT:
                table = child
            else:
                raise _Unsupported
            kinds[id(table)] = _DECLARED
            continue
        key, equals, value = rest.partition("=")
        key = key.rstrip(" \t")
        if equals and key and not key.strip(_BARE):  # one bare key: the common case
            if key in table:
                raise _Unsupported
            target = table
            value = value.lstrip(" \t")
            # The common one-line values without a call: a string without escapes, a boolean
            # or an integer, an array of such strings.
            char = value[:1]
            if char == '"':
                end = value.find('"', 1)
                if end > 0 and not value.startswith('"""'):
                    text = value[1:end]
                    tail = value[end + 1 :].lstrip(" \t")
                    if "\\" not in text and (not tail or tail[0] == "#"):
                        table[key] = text
                        pos = stop + 1
                        continue
            elif char == "[":
                items = _string_array(value.rstrip(" \t"))
                if items is not None:
                    table[key] = items
                    pos = stop + 1
                    continue
            elif char not in {"{", "'"}:
                table[key] = _word(value.partition("#")[0].rstrip(" \t"))
                pos = stop + 1
                continue
            pos = stop - len(value)
        else:
            parts, pos = _key(src, stop - len(rest))
            if not src.startswith("=", pos):
                raise _Unsupported
            pos = _blanks(src, pos + 1)
            target = table
            for part in parts[:-1]:
                child = target.get(part)
                if child is None:
                    child = target[part] = {}
                    kinds[id(child)] = _DOTTED
                elif type(child) is not dict or kinds.get(id(child)) != _DOTTED:
                    raise _Unsupported
                target = child
            key = parts[-1]
            if key in target:
                raise _Unsupported
        target[key], pos = _value(src, pos, 0)
        pos = _line_end(src, pos)
    return root


def parse_subset(text: str) -> dict[str, Any] | None:
    """The mapping ``tomllib.loads(text)`` returns, or None when the text leaves the subset or
    may not be valid TOML (then parse it with tomllib, which reports any error)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # as tomllib does; a lone CR is a control character
    # TOML allows no control character but tab and line feed, anywhere. isprintable() is also
    # False for a few other characters (no-break space, ...): then look closer.
    flat = text.replace("\n", "").replace("\t", "")
    if not flat.isprintable() and len(flat.translate(_CONTROL)) != len(flat):
        return None
    try:
        return _document(text)
    except _Unsupported:
        return None
