"""Which sparse index serves a lockfile ``source``: cargo's source replacement (spec §7).

Lockfiles name crates.io as ``registry+https://github.com/rust-lang/crates.io-index`` whatever
protocol fetched it; alternative registries by their index URL. This module maps each such
string to a sparse index URL, in this order:

1. crates.io, when ``--index-url`` was given: that URL (like cargo's source replacement);
2. cargo configuration: ``[source.<name>] replace-with`` chains and ``[registries.<name>]``
   from ``.cargo/config.toml`` files in the lockfile's directory and each parent, then
   ``$CARGO_HOME/config.toml`` (nearer files win, as in cargo);
3. crates.io: ``sparse+https://index.crates.io/``; a ``sparse+`` source: itself;
4. anything else: unresolved, "no sparse index known for <source>".

Tokens for named registries come from ``CARGO_REGISTRIES_<NAME>_TOKEN``, then
``$CARGO_HOME/credentials.toml``, then the config's ``[registries.<name>] token``; they are
handed only to the Registry of that exact index URL, never logged.

Paths are strings spelled as ``str(pathlib.Path(...))`` would spell them (`cache.pathstr`): this
runs at the start of ``check``, where ``pathlib`` would cost ~4 ms to import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cache.pathstr import is_file, joined, spelled
from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO, CRATES_IO_GIT_URL, CRATES_IO_LOCK_SOURCE, CRATES_IO_SPARSE
from query.record import field, record

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from cache.atomic import StrPath


@record
class Unresolved:
    reason: str


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


def _config_files(start: StrPath) -> tuple[list[str], list[str]]:
    """Config files nearest first, then $CARGO_HOME's (each once); and the absent candidates."""
    found: list[str] = []
    absent: list[str] = []
    here = spelled(os.path.realpath(start))
    home = cargo_home()
    for directory in (*(joined(d, ".cargo") for d in _lineage(here)), home):
        for name in ("config.toml", "config"):
            candidate = joined(directory, name)
            if is_file(candidate):
                if os.path.realpath(candidate) not in {os.path.realpath(f) for f in found}:
                    found.append(candidate)
                break
            absent.append(candidate)
    return found, absent


def _read(path: StrPath) -> dict[str, Any]:
    """A cargo config file; a malformed one is an input error, as in cargo (a broken
    ``replace-with`` silently ignored would send requests to crates.io instead of the mirror)."""
    from query.tomlsubset import parse_subset
    from registry.errors import InputError

    try:
        with open(path, "rb") as handle:
            text = handle.read().decode()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read cargo configuration ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: invalid cargo configuration: {exc}") from None
    data = parse_subset(text)  # the usual hand-written subset, without importing tomllib
    if data is not None:
        return data
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid cargo configuration: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: invalid cargo configuration: nested too deeply") from None


def _table(data: Mapping[str, Any], key: str) -> dict[str, dict[str, Any]]:
    value = data.get(key)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, dict)}


def _strip(url: str) -> str:
    return url.removeprefix("registry+")


@record(frozen=False)
class SourceMap:
    """Cargo's ``[source]`` and ``[registries]`` tables, merged nearest-first."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    registries: dict[str, dict[str, Any]] = field(default_factory=dict)
    index_url: str | None = None
    files: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    @classmethod
    def discover(cls, start: StrPath, *, index_url: str | None = None) -> SourceMap:
        """Merge the config files that apply to ``start`` (nearest first, then CARGO_HOME)."""
        files, absent = _config_files(start)
        merged = cls(index_url=index_url, files=files, absent=absent)
        for path in files:
            data = _read(path)
            for name, table in _table(data, "source").items():
                merged.sources.setdefault(name, {}).update(
                    {k: v for k, v in table.items() if k not in merged.sources.get(name, {})}
                )
            for name, table in _table(data, "registries").items():
                merged.registries.setdefault(name, {}).update(
                    {k: v for k, v in table.items() if k not in merged.registries.get(name, {})}
                )
        return merged

    def _name_of(self, url: str) -> str | None:
        for name, table in self.sources.items():
            if isinstance(table.get("registry"), str) and _strip(table["registry"]) == url:
                return name
        for name, table in self.registries.items():
            if isinstance(table.get("index"), str) and _strip(table["index"]) == url:
                return name
        return None

    def _follow(self, name: str, original: str) -> str | Unresolved:
        seen: list[str] = []
        while True:
            if name in seen:
                return Unresolved(
                    f"detected a cycle of replace-with sources: {' -> '.join([*seen, name])}"
                )
            seen.append(name)
            table = self.sources.get(name, {})
            replace = table.get("replace-with")
            if isinstance(replace, str) and replace:
                name = replace
                continue
            if name == CRATES_IO and len(seen) == 1:
                return CRATES_IO_SPARSE
            url = table.get("registry")
            if not isinstance(url, str):
                url = self.registries.get(name, {}).get("index")
            if not isinstance(url, str):
                if name == CRATES_IO:
                    return CRATES_IO_SPARSE
                return Unresolved(
                    f"no sparse index known for {original} (source `{name}` is not a registry)"
                )
            if url.startswith("sparse+"):
                return url
            if _strip(url) == CRATES_IO_GIT_URL:
                return CRATES_IO_SPARSE
            return Unresolved(
                f"no sparse index known for {original} (`{name}` is a git registry: {url})"
            )

    def resolve(self, source: str) -> str | Unresolved:
        """The sparse index URL for a lockfile source string, or why there is none."""
        if source in (CRATES_IO_LOCK_SOURCE, CRATES_IO_SPARSE):
            if self.index_url is not None:
                return self.index_url
            return self._follow(CRATES_IO, source)
        if source.startswith(("registry+", "sparse+")):
            url = _strip(source)
            name = self._name_of(url)
            if name is not None:
                return self._follow(name, source)
            if source.startswith("sparse+"):
                return source
        return Unresolved(f"no sparse index known for {source}")

    def token_for(self, url: str, explicit: str | None) -> str | None:
        """The token for the registry at ``url``: ``explicit`` only for the --index-url one."""
        if explicit is not None and url == (self.index_url or CRATES_IO_SPARSE):
            return explicit
        for name, table in self.registries.items():
            if table.get("index") != url:
                continue
            env = os.environ.get(f"CARGO_REGISTRIES_{name.upper().replace('-', '_')}_TOKEN")
            if env:
                return env
            credentials = _table(_read(joined(cargo_home(), "credentials.toml")), "registries")
            token = credentials.get(name, {}).get("token")
            if isinstance(token, str):
                return token
            token = table.get("token")
            if isinstance(token, str):
                return token
        return None
