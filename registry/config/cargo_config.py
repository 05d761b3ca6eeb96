"""Cargo's configuration, found, merged and looked up as cargo does it.

Where a value comes from, highest priority first (cargo 0.96.0,
src/cargo/util/context/value.rs:111 ``Definition::is_higher_priority``: command line, then
environment, then files)::

    --config KEY=VALUE / --config FILE   the last one given first (context/mod.rs:1510)
    CARGO_<KEY>                          http.user-agent -> CARGO_HTTP_USER_AGENT
                                         (context/mod.rs:851 get_cv_with_env; key.rs)
    <start>/.cargo/config                then .cargo/config.toml (context/mod.rs:1604
    <parent>/.cargo/config ...           get_file_path: the file without an extension wins
    ...                                  when both exist), each parent's up to the root
    $CARGO_HOME/config                   (walk_tree, context/mod.rs:1654; CARGO_HOME
                                         defaults to ~/.cargo)

Nearer files win, key by key (`CargoConfig.tables`, `CargoConfig.get`). A file that exists but
cannot be read or parsed is an input error, as in cargo: a broken ``replace-with`` silently
ignored would send requests to crates.io instead of the mirror. The candidates that did not
exist are kept too: creating one later changes the answer (the null-build fingerprint watches
them). Not read: ``include`` (config-include), git's own ``http.proxy``.

Paths are strings spelled as ``str(pathlib.Path(...))`` would spell them (`cache.pathstr`): this
runs at the start of ``check``, where importing ``pathlib`` costs more than the lookup
(docs/performance.md).
"""

from __future__ import annotations

import os

from cache.pathstr import is_file, joined, parent, spelled
from query import TYPE_CHECKING
from query.record import Record, field

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
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


def file_in(directory: str, name: str, absent: list[str] | None = None) -> str | None:
    """``directory/name`` if it is a file, else ``directory/name.toml`` if that one is, else
    None: cargo's ``get_file_path`` (context/mod.rs:1604), which prefers the file without an
    extension (``config``, ``credentials``) when both exist. The candidates looked for and not
    found are appended to ``absent``."""
    for candidate in (joined(directory, name), joined(directory, name + ".toml")):
        if is_file(candidate):
            return candidate
        if absent is not None:
            absent.append(candidate)
    return None


def config_files(start: StrPath) -> tuple[list[str], list[str]]:
    """Config files nearest first, then $CARGO_HOME's (each once); and the absent candidates."""
    found: list[str] = []
    absent: list[str] = []
    here = spelled(os.path.realpath(start))
    home = cargo_home()
    for directory in (*(joined(d, ".cargo") for d in _lineage(here)), home):
        candidate = file_in(directory, "config", absent)
        if candidate is not None and os.path.realpath(candidate) not in {
            os.path.realpath(f) for f in found
        }:
            found.append(candidate)
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


def env_key(key: str) -> str:
    """The environment variable of a configuration key: ``CARGO_`` and the key upper-cased,
    ``.`` and ``-`` as ``_`` (cargo's ``ConfigKey::as_env_key``, context/key.rs)."""
    return "CARGO_" + key.upper().replace(".", "_").replace("-", "_")


class ConfigArg(Record):
    """One ``--config`` argument, read: its tables, and the directory a relative path in it is
    relative to (the current directory; for a file, the directory above the file's, as cargo's
    ``Definition::root``, value.rs:104)."""

    argument: str
    data: dict[str, Any] = field(compare=False, repr=False)
    root: str = field(compare=False)
    file: str | None = None


def read_config_args(arguments: Sequence[str], cwd: str) -> tuple[ConfigArg, ...]:
    """Each ``--config`` argument read, in the order given: an existing file's path loads that
    file, anything else is one ``KEY=VALUE`` TOML expression (context/mod.rs:1510
    ``cli_args_as_table``). UsageError for one that is neither."""
    from registry.input_files import parse_config_argument

    out = []
    for argument in arguments:
        path = joined(cwd, argument) if argument else ""
        if argument and os.path.exists(path):
            data = read_config_file(path)
            out.append(ConfigArg(argument, data, parent(parent(path)), file=path))
        else:
            out.append(ConfigArg(argument, parse_config_argument(argument), cwd))
    return tuple(out)


#: The layers a value comes from, highest priority first (`Found.level`).
CLI, ENV, FILE = "cli", "env", "file"


class Found(Record):
    """A configuration value and where it was defined: ``origin`` says where for a person
    ("--config http.timeout=60", "CARGO_HTTP_TIMEOUT", a file's path), ``level`` is its layer
    (`CLI`, `ENV`, `FILE`), ``root`` the directory a relative path in it is relative to. A value
    from the environment is the variable's text."""

    value: Any
    origin: str
    root: str
    level: str = FILE


def _dig(data: Mapping[str, Any], parts: Sequence[str]) -> tuple[bool, Any]:
    value: Any = data
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


class CargoConfig(Record):
    """The configuration that applies to a directory: the ``--config`` arguments and the files,
    read, nearest first."""

    files: list[str]
    absent: list[str]
    data: list[dict[str, Any]] = field(compare=False, repr=False)
    cli: tuple[ConfigArg, ...] = ()
    cwd: str = "."

    @classmethod
    def discover(cls, start: StrPath, cli: Sequence[str] = ()) -> CargoConfig:
        """The files that apply to ``start`` and the ``--config`` arguments ``cli`` (read
        relative to the current directory)."""
        files, absent = config_files(start)
        cwd = spelled(os.getcwd())
        data = [read_config_file(path) for path in files]
        return cls(files, absent, data, read_config_args(cli, cwd), cwd)

    def layers(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """(origin, root, tables) of every layer but the environment, highest priority first:
        the ``--config`` arguments, then the files nearest first. ``root`` is the directory a
        relative path in the layer starts from (cargo's ``Definition::root``)."""
        for arg in reversed(self.cli):
            origin = f"--config {arg.file}" if arg.file else f"--config {arg.argument}"
            yield origin, arg.root, arg.data
        for path, data in zip(self.files, self.data, strict=True):
            yield path, parent(parent(path)), data

    def tables(self, key: str) -> dict[str, dict[str, Any]]:
        """``[key.<name>]`` tables merged over every layer, a nearer one's keys winning."""
        merged: dict[str, dict[str, Any]] = {}
        for _origin, _root, data in self.layers():
            for name, table in table_of_tables(data, key).items():
                into = merged.setdefault(name, {})
                for item, value in table.items():
                    into.setdefault(item, value)
        return merged

    def get(self, key: str, environ: Mapping[str, str]) -> Found | None:
        """The value of the dotted ``key`` (``http.cainfo``) from its highest-priority layer:
        the ``--config`` arguments, then ``environ`` (`env_key`), then the files nearest first
        (context/mod.rs:851 ``get_cv_with_env``). A value from the environment is the
        variable's text: how it reads as a number or a boolean is the caller's rule."""
        parts = key.split(".")
        layers = list(self.layers())
        for origin, root, data in layers[: len(self.cli)]:
            there, value = _dig(data, parts)
            if there:
                return Found(value, origin, root, CLI)
        name = env_key(key)
        text = environ.get(name)
        if text is not None:
            return Found(text, name, self.cwd, ENV)
        for origin, root, data in layers[len(self.cli) :]:
            there, value = _dig(data, parts)
            if there:
                return Found(value, origin, root)
        return None
