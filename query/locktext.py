"""A fast reader for Cargo.lock text as cargo writes it, falling back to tomllib for the rest.

Cargo writes lockfiles in a narrow, line-oriented subset of TOML (spec §8.2)::

    # comment lines
    version = 4

    [[package]]
    name = "serde"
    version = "1.0.102"
    source = "registry+https://github.com/rust-lang/crates.io-index"
    checksum = "0c4b…"
    dependencies = [
     "serde_derive",
    ]

    [metadata]
    "checksum serde 1.0.102 (registry+…)" = "0c4b…"

:func:`parse_lockfile_text` reads exactly that subset line by line, several times faster than
:mod:`tomllib` (which spends most of its time in its general string parser), and returns the same
mapping tomllib would. On anything outside the subset (escapes, inline tables, other value
types, a repeated key, a table it does not know) it hands the whole text to tomllib, so errors
and unusual-but-valid files behave exactly as TOML says.

:func:`scan_cargo_layout` reads a narrower subset (exactly what cargo writes) faster still, into
raw fields instead of a mapping, for :func:`query.lockfile.lockfile_from_cargo_text`.
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeAlias

    #: ``(name, version, source, checksum, dependencies, header line)`` of one package table;
    #: an absent ``source`` or ``checksum`` is ``""``.
    RawPackage: TypeAlias = tuple[str, str, str, str, list[str], int]


class _Unsupported(Exception):
    """The text leaves the subset: let tomllib parse it."""


#: The bare keys cargo writes in a ``[[package]]`` table (checked without string work).
_PACKAGE_KEYS = frozenset({"name", "version", "source", "checksum", "dependencies", "replace"})


def _string(raw: str) -> str:
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        raise _Unsupported
    inner = raw[1:-1]
    # isprintable() is False for every control character (and a few other code points, which
    # then simply take the tomllib path).
    if '"' in inner or "\\" in inner or not inner.isprintable():
        raise _Unsupported
    return inner


def _value(raw: str) -> object:
    if raw.startswith('"'):
        return _string(raw)
    if raw.isdigit() and (raw == "0" or not raw.startswith("0")):
        return int(raw)
    raise _Unsupported


def _fast(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    table: dict[str, Any] = root
    lines = text.split("\n")
    count = len(lines)
    i = 0
    while i < count:
        line = lines[i].strip()  # "\r" included
        i += 1
        if not line or line[0] == "#":
            continue
        if line.startswith("["):
            if line == "[[package]]":
                packages = root.setdefault("package", [])
                if not isinstance(packages, list):
                    raise _Unsupported
                table = {}
                packages.append(table)
            elif line == "[metadata]":
                if "metadata" in root:
                    raise _Unsupported
                table = root["metadata"] = {}
            else:
                raise _Unsupported
            continue
        key, sep, rest = line.partition(" = ")
        if not sep:
            raise _Unsupported
        if key in _PACKAGE_KEYS:
            pass
        elif key.startswith('"'):
            key = _string(key)
        elif not key or not key.isascii() or not key.replace("-", "").replace("_", "").isalnum():
            raise _Unsupported
        if key in table:
            raise _Unsupported
        rest = rest.strip()
        if rest == "[":
            items: list[str] = []
            while True:
                if i >= count:
                    raise _Unsupported
                item = lines[i].strip()
                i += 1
                if item == "]":
                    break
                if not item.endswith(","):
                    raise _Unsupported
                items.append(_string(item[:-1].rstrip()))
            table[key] = items
        else:
            table[key] = _value(rest)
    return root


def parse_cargo_layout(text: str) -> dict[str, Any] | None:
    """The mapping of Cargo.lock text in cargo's own layout, or None when it leaves that
    subset (then parse it with tomllib, which also reports any syntax error)."""
    try:
        return _fast(text)
    except _Unsupported:
        return None


def parse_lockfile_text(text: str) -> dict[str, Any]:
    """Parse Cargo.lock text: the fast path for cargo's own layout, tomllib for anything else.

    Raises ``tomllib.TOMLDecodeError`` for invalid TOML, as tomllib does.
    """
    try:
        return _fast(text)
    except _Unsupported:
        import tomllib

        return tomllib.loads(text)


# ---------------------------------------------------------------------------------------------
# cargo's exact layout, read by splitting on quotes
#
# No regular expression: compiling one for this layout costs ~0.5 ms, more than the scan, on a
# path that runs once per process.

#: Printable ASCII but the backslash, and the newline: all a text in cargo's layout holds, so
#: every string between two quotes is the value tomllib would read (no escape, no control).
_PLAIN = (bytes(range(0x20, 0x7F)) + b"\n").replace(b"\\", b"")
_VERSION_KEY = "version = "
_METADATA_HEADER = "[metadata]\n"
# What lies between the quoted values of the ``[[package]]`` tables, in cargo's key order.
_TABLE = "[[package]]\nname = "
_VERSION = "\nversion = "
_SOURCE = "\nsource = "
_CHECKSUM = "\nchecksum = "
_DEPENDENCIES = "\ndependencies = [\n "
_NO_DEPENDENCIES = "\ndependencies = [\n]\n"
_NEXT_DEPENDENCY = ",\n "
_LAST_DEPENDENCY = ",\n]\n"


def scan_cargo_layout(
    text: str,
) -> tuple[int | None, list[RawPackage], dict[str, str]] | None:
    """The raw fields of Cargo.lock text exactly as cargo writes it, or None for anything else.

    Returns the ``version`` key (None when absent), one :data:`RawPackage` per table and the
    ``[metadata]`` entries (a new dict). Narrower than :func:`parse_cargo_layout`
    (printable ASCII, keys in cargo's order, no ``replace``, "\\n" line ends, no comment after
    the first table, nothing after ``[metadata]``): every text it accepts, that reader and
    tomllib read to the same values. Nothing is validated beyond the layout.
    """
    if not text.isascii() or text.encode().translate(None, _PLAIN):
        return None  # a control character, a backslash or non-ASCII: not cargo's layout
    end = len(text)
    # comments and blank lines, then cargo's ``version = 3`` (or 4) and blank lines
    start = 0
    while start < end:
        if text[start] == "\n":
            start += 1
        elif text[start] == "#":
            start = text.find("\n", start) + 1
            if not start:
                return None
        else:
            break
    version = None
    if text.startswith(_VERSION_KEY, start):
        eol = text.find("\n", start)
        value = text[start + len(_VERSION_KEY) : eol]
        if eol < 0 or value not in ("3", "4"):
            return None
        version = int(value)
        start = eol + 1
        while text.startswith("\n", start):
            start += 1

    if text.startswith(_METADATA_HEADER, start):
        meta = start
    else:
        meta = text.find("\n" + _METADATA_HEADER, max(start - 1, 0)) + 1 or end
    packages: list[RawPackage] = []
    if meta > start:
        tables = _package_tables(text[start:meta], text.count("\n", 0, start) + 1)
        if tables is None:
            return None
        packages = tables
    entries: dict[str, str] = {}
    if meta < end:
        lines = text[meta + len(_METADATA_HEADER) :].split("\n")
        if lines.pop():
            return None  # no final newline
        for line in lines:
            if line:
                parts = line.split('"')  # '"key" = "value"'
                if len(parts) != 5 or parts[0] or parts[2] != " = " or parts[4]:
                    return None
                if parts[1] in entries:
                    return None  # a repeated key: tomllib's error
                entries[parts[1]] = parts[3]
    return version, packages, entries


def _package_tables(section: str, line: int) -> list[RawPackage] | None:
    """The tables of ``section`` (plain text, see :data:`_PLAIN`), whose first line is ``line``.

    Split on quotes, the text alternates between what lies around the values and the values;
    each table is read off that list, checking every piece around the values exactly.
    """
    tokens = section.split('"')
    count = len(tokens)
    if tokens[0] != _TABLE:
        return None
    packages: list[RawPackage] = []
    first_line = line
    i = 1  # the index of a value; the pieces around values have even indexes
    try:
        while True:
            name = tokens[i]
            if tokens[i + 1] != _VERSION:
                return None
            number = tokens[i + 2]
            around = tokens[i + 3]
            i += 4
            lines = 3  # the header, name and version lines
            source = checksum = ""
            if around == _SOURCE:
                source, around = tokens[i], tokens[i + 1]
                i += 2
                lines += 1
                if not source:
                    return None  # an empty value would read as an absent key
            if around == _CHECKSUM:
                checksum, around = tokens[i], tokens[i + 1]
                i += 2
                lines += 1
                if not checksum:
                    return None
            dependencies: list[str] = []
            if around == _DEPENDENCIES:
                while True:
                    dependencies.append(tokens[i])
                    around = tokens[i + 1]
                    i += 2
                    if around != _NEXT_DEPENDENCY:
                        break
                if not around.startswith(_LAST_DEPENDENCY):
                    return None
                around = around[len(_LAST_DEPENDENCY) - 1 :]
                lines += 2 + len(dependencies)
            elif around.startswith(_NO_DEPENDENCIES):
                around = around[len(_NO_DEPENDENCIES) - 1 :]
                lines += 2
            # the newline ending the table's last line, blank lines, then the next table or
            # the end
            rest = around.lstrip("\n")
            newlines = len(around) - len(rest)
            if not (newlines and name and number):
                return None
            packages.append((name, number, source, checksum, dependencies, line))
            line += lines + newlines - 1
            if rest != _TABLE:
                if rest or i != count:
                    return None
                break
    except IndexError:
        return None  # the text ends inside a table
    # Values hold no quote (the split) but could hold a newline: then the text has more
    # newlines than the tables' lines account for.
    if line != first_line + section.count("\n"):
        return None
    return packages
