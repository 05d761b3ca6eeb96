"""Cargo's configuration files, found and merged as cargo finds and merges them (spec §7).

::

    <start>/.cargo/config           (or .cargo/config.toml: cargo prefers the name without
                                     an extension when both exist), then each parent's,
    ...                              up to the file system root,
    $CARGO_HOME/config.toml          (CARGO_HOME defaults to ~/.cargo)

Nearer files win, key by key (`CargoConfig.tables`). A file that exists but cannot be read or
parsed is an input error, as in cargo: a broken ``replace-with`` silently ignored would send
requests to crates.io instead of the mirror. The candidates that did not exist are kept too:
creating one later changes the answer (the null-build fingerprint watches them).

Paths are strings spelled as ``str(pathlib.Path(...))`` would spell them (`cache.pathstr`): this
runs at the start of ``check``, where importing ``pathlib`` costs more than the lookup
(docs/performance.md).
"""

from __future__ import annotations

import os

from cache.pathstr import is_file, joined, spelled
from query import TYPE_CHECKING
from query.record import Record, field

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    from cache.atomic import StrPath


def cargo_home() -> str:
    home = os.environ.get("CARGO_HOME")
    return spelled(home) if home else joined(os.path.expanduser("~"), ".cargo")


def _lineage(directory: str) -> Iterator[str]:
    """An absolute, normalized ``directory`` and then each of its parents up to the root."""
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def config_files(start: StrPath) -> tuple[list[str], list[str]]:
    """Config files nearest first, then $CARGO_HOME's (each once); and the absent candidates."""
    found: list[str] = []
    absent: list[str] = []
    here = spelled(os.path.realpath(start))
    home = cargo_home()
    for directory in (*(joined(d, ".cargo") for d in _lineage(here)), home):
        for name in ("config", "config.toml"):
            candidate = joined(directory, name)
            if is_file(candidate):
                if os.path.realpath(candidate) not in {os.path.realpath(f) for f in found}:
                    found.append(candidate)
                break
            absent.append(candidate)
    return found, absent


def read_config_file(path: StrPath) -> dict[str, Any]:
    """One configuration file's tables ({} when it does not exist); InputError otherwise."""
    from registry.input_files import CARGO_CONFIGURATION, read_toml

    if not os.path.lexists(path):
        return {}
    data, _text = read_toml(path, kind=CARGO_CONFIGURATION)
    return data


def table_of_tables(data: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """``data[key]``'s sub-tables (``[source.<name>]``...), by name; what is not a table is not
    one of them."""
    value = data.get(key)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, dict)}


class CargoConfig(Record):
    """The configuration files that apply to a directory, read, nearest first."""

    files: list[str]
    absent: list[str]
    data: list[dict[str, Any]] = field(compare=False, repr=False)

    @classmethod
    def discover(cls, start: StrPath) -> CargoConfig:
        files, absent = config_files(start)
        return cls(files, absent, [read_config_file(path) for path in files])

    def tables(self, key: str) -> dict[str, dict[str, Any]]:
        """``[key.<name>]`` tables merged over every file, a nearer file's keys winning."""
        merged: dict[str, dict[str, Any]] = {}
        for data in self.data:
            for name, table in table_of_tables(data, key).items():
                into = merged.setdefault(name, {})
                for item, value in table.items():
                    into.setdefault(item, value)
        return merged
