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
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
