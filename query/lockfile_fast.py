"""Accelerator: Cargo.lock text exactly as cargo writes it, straight into the model.

Twin: ``tomllib.loads`` then :func:`query.lockfile.lockfile_from_mapping`, the general path,
which reads any TOML and words every error. :func:`lockfile_from_cargo_text` reads only the
layout cargo writes (spec §8.2), by splitting on quotes: no mapping, no regular expression,
each distinct dependency string parsed and resolved once. On anything else, valid or not, it
returns None and the general path decides, so it never accepts a text tomllib refuses.

Gain, end to end (docs/performance.md, measured by scripts/trick_gain.py): undoing it adds
~39 ms to nushell's ``check`` and ``validate`` and ~13 ms to ripgrep's ``check`` (tomllib's
import and its pure-Python parse). Pinned to the general
path by tests/test_lockfile.py (the fast path agrees, on every fixture and on generated and
mutated texts) and tests/test_lockfile_fast.py (the scanner reads what tomllib reads).

Cargo writes lockfiles in a narrow, line-oriented subset of TOML::

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
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.lockfile import (
    REGISTRY_SOURCE_PREFIXES,
    LockDependency,
    LockedPackage,
    Lockfile,
    LockfileError,
    PackageIndex,
    ResolvedEdges,
    finish_lockfile,
    lookup_target,
    parse_dependency,
    source_problem,
)
from query.version import is_version

if TYPE_CHECKING:
    from typing import TypeAlias

    #: ``(name, version, source, checksum, dependencies, header line)`` of one package table;
    #: an absent ``source`` or ``checksum`` is ``""``.
    RawPackage: TypeAlias = tuple[str, str, str, str, list[str], int]


def lockfile_from_cargo_text(text: str) -> Lockfile | None:
    """The model of Cargo.lock text in cargo's own layout, straight from the text; None when the
    text leaves that layout (see :func:`scan_cargo_layout`) or is invalid.

    Whenever it returns a lockfile, it equals ``lockfile_from_mapping(tomllib.loads(text),
    text)`` (a test checks); on None, that general path reads the file and words the error.
    """
    scan = scan_cargo_layout(text)
    if scan is None:
        return None
    version, tables, metadata = scan
    index: PackageIndex = {}
    cache: dict[str, LockDependency] = {}
    source_keys: dict[str, str] = {}  # a valid source -> its key in the index
    packages: list[LockedPackage] = []
    inline_checksum = False
    for pos, (name, number, raw_source, checksum, items, line) in enumerate(tables):
        if not is_version(number):
            return None
        source: str | None = None
        key: str | None = None
        if raw_source:
            source = raw_source
            key = source_keys.get(raw_source)
            if key is None:
                if source_problem(raw_source) is not None:
                    return None
                key = source_keys[raw_source] = (
                    raw_source.split("#", 1)[0] if raw_source.startswith("git+") else raw_source
                )
        by_version = index.get(name)
        if by_version is None:
            by_version = index[name] = {}
        by_source = by_version.get(number)
        if by_source is None:
            by_version[number] = {key: pos}
        elif key in by_source:
            return None  # specified twice
        else:
            by_source[key] = pos
        deps: tuple[LockDependency, ...] = ()
        if items:
            found = []
            for item in items:
                dep = cache.get(item)
                if dep is None:
                    try:
                        dep = parse_dependency(item)
                    except LockfileError:
                        return None
                    dep_source = dep.source
                    if (
                        dep_source is not None
                        and dep_source not in source_keys
                        and source_problem(dep_source) is not None
                    ):
                        return None
                    cache[item] = dep
                found.append(dep)
            deps = tuple(found)
        if checksum:
            inline_checksum = True
        packages.append(LockedPackage(name, number, source, checksum or None, deps, line, pos))

    resolved: dict[str, tuple[int, bool]] = {}
    targets: ResolvedEdges = {}
    shortened = False
    for item, dep in cache.items():
        try:
            hit = resolved[item] = lookup_target(index, dep)
        except LockfileError:
            return None  # a dependency naming no package, or several
        targets[id(dep)] = (dep, hit[0])
        shortened = shortened or hit[1]
    if version is None:
        version = 2 if shortened or inline_checksum else 1
    try:
        return finish_lockfile(version, packages, index, targets, resolved, metadata, text, None)
    except LockfileError:
        return None


# -- cargo's exact layout, read by splitting on quotes ---------------------------------------------
#
# No regular expression: compiling one for this layout costs more than the scan, on a path
# that runs once per process.

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


def registry_names_by_source(text: str) -> dict[str, set[str]]:
    """A guess at the registry packages' names by source, from their tables' first lines as
    cargo writes them (``[[package]]``, ``name``, ``version``, ``source``), nothing checked:
    for work that can start before the text is parsed (`registry.commands.fetch` opens its
    index's connections). Tables laid out otherwise are left out."""
    found: dict[str, set[str]] = {}
    for table in text.split("\n[[package]]\n")[1:]:
        lines = table.split("\n", 3)
        if len(lines) < 3:
            continue
        name, source = lines[0], lines[2]
        if (
            name.startswith('name = "')
            and name.endswith('"')
            and source.startswith('source = "')
            and source.endswith('"')
        ):
            source = source[len('source = "') : -1]
            if source.startswith(REGISTRY_SOURCE_PREFIXES):
                found.setdefault(source, set()).add(name[len('name = "') : -1])
    return found


def scan_cargo_layout(
    text: str,
) -> tuple[int | None, list[RawPackage], dict[str, str]] | None:
    """The raw fields of Cargo.lock text exactly as cargo writes it, or None for anything else.

    Returns the ``version`` key (None when absent), one :data:`RawPackage` per table and the
    ``[metadata]`` entries (a new dict). The layout: printable ASCII, keys in cargo's order, no
    ``replace``, "\\n" line ends, no comment after the first table, nothing after
    ``[metadata]``; every text it accepts, tomllib reads to the same values. Nothing is
    validated beyond the layout.
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
