"""Which sparse index serves a lockfile ``source``: cargo's source replacement (spec §7).

Lockfiles name crates.io as ``registry+https://github.com/rust-lang/crates.io-index`` whatever
protocol fetched it; alternative registries by their index URL. Each such string maps to a
sparse index URL, in this order:

1. crates.io, when ``--index-url`` was given: that URL (like cargo's source replacement);
2. cargo configuration (registry/config/cargo_config.py: ``--config`` arguments, then the
   files): ``[source.<name>] replace-with`` chains and ``[registries.<name>]``;
3. crates.io: ``sparse+https://index.crates.io/``; a ``sparse+`` source: itself;
4. anything else: unresolved, "no sparse index known for <source>".

The same rule picks the run's own index (`SourceMap.own_index`) for ``query``, ``versions``,
``fetch NAME`` and ``cache dir``: crates.io, unless --index-url or a replacement says otherwise.
"""

from __future__ import annotations

from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO, CRATES_IO_GIT_URL, CRATES_IO_LOCK_SOURCE, CRATES_IO_SPARSE
from query.record import Record, field
from registry.config.cargo_config import CargoConfig

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from cache.atomic import StrPath


class Unresolved(Record):
    reason: str


def _strip(url: str) -> str:
    return url.removeprefix("registry+")


class SourceMap(Record):
    """Cargo's ``[source]`` and ``[registries]`` tables, merged nearest-first, and the
    ``--index-url`` source URL when one was given (it replaces crates.io)."""

    config: CargoConfig
    index_url: str | None = None
    sources: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    registries: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    @classmethod
    def discover(
        cls, start: StrPath, *, index_url: str | None = None, cli: Sequence[str] = ()
    ) -> SourceMap:
        """The source mapping that applies to ``start`` (its configuration files, and the
        ``--config`` arguments ``cli``)."""
        return cls.from_config(CargoConfig.discover(start, cli), index_url=index_url)

    @classmethod
    def from_config(cls, config: CargoConfig, *, index_url: str | None = None) -> SourceMap:
        """The source mapping of a configuration already read."""
        return cls(config, index_url, config.tables("source"), config.tables("registries"))

    def own_index(self) -> str:
        """The run's own index, the one ``query``, ``versions`` and ``fetch NAME`` ask: the
        --index-url, else what crates.io resolves to (cargo's source replacement), as cargo
        treats a crate named on its command line (the same rule as a lockfile's crates.io
        packages). UsageError when crates.io is replaced by something that is not a sparse
        index."""
        from query.errors import UsageError

        found = self.resolve(CRATES_IO_LOCK_SOURCE)
        if isinstance(found, Unresolved):
            where = ", ".join(self.files) or "cargo's configuration"
            raise UsageError(
                f"crates.io is replaced in {where}: {found.reason}; registry reads sparse "
                "indexes only: give --index-url"
            )
        return found

    def registry_index(self, name: str) -> str | None:
        """``registries.<name>.index`` as cargo looks it up (`CargoConfig.get`): the --config
        arguments, then ``CARGO_REGISTRIES_<NAME>_INDEX``, then the files nearest first; None
        when it is not configured."""
        import os

        found = self.config.get(f"registries.{name}.index", os.environ)
        if found is None or not isinstance(found.value, str) or not found.value:
            return None
        return found.value

    @property
    def files(self) -> list[str]:
        return self.config.files

    @property
    def absent(self) -> list[str]:
        return self.config.absent

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
        """The token for the registry at ``url``: ``explicit`` (--token) only for the run's own
        index (`own_index`); a named registry's from cargo's places
        (registry/config/tokens.py)."""
        if explicit is not None and url == self.resolve(CRATES_IO_LOCK_SOURCE):
            return explicit
        for name, table in self.registries.items():
            if table.get("index") == url:
                from registry.config.tokens import registry_token

                return registry_token(name, table)
        return None
