"""A cargo workspace read from disk for ``registry check``.

:class:`DiskHost` is the file system side of :mod:`query.discovery` (which holds cargo's rules):
it reads and parses manifests (:func:`registry.input_files.read_toml`), expands member globs and
answers which files exist, and records every file read, directory listed and path found
missing or present in :class:`CheckInputs`, the inputs of the null-build fingerprint.
:func:`config_patches` reads ``[patch]`` out of the cargo configuration files, and
:func:`locate` points a finding at the line of the manifest entry it is about.
"""

from __future__ import annotations

import os
import posixpath

from cache.pathstr import is_dir, is_file, spelled
from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO, CRATES_IO_LOCK_SOURCE
from query.record import Record, field
from query.verdict import Mismatch
from registry.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from query.discovery import ConfigPatch, Loader
    from query.manifest import Workspace
    from registry.config.cargo_config import CargoConfig
    from registry.config.source_replacement import SourceMap

_GLOB_CHARS = frozenset("*?[")


class CheckInputs(Record, frozen=False):
    """What the verdict depended on, for the fingerprint: files read (their bytes), directories
    listed, paths that must stay absent or present, cache files consulted."""

    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    cache_files: list[str] = field(default_factory=list)
    seeded_files: list[str] = field(default_factory=list)
    fresh_until: float | None = None


class DiskHost:
    """:class:`query.discovery.Host` over the file system, recording what it looks at."""

    def __init__(self, inputs: CheckInputs, sources: SourceMap, cargo_home: str) -> None:
        self.inputs = inputs
        self.cargo_home = cargo_home
        self._sources = sources
        self._read: dict[str, Mapping[str, object] | None] = {}
        self._exists: dict[str, bool] = {}
        #: the text of every manifest read, by absolute path (for line numbers)
        self.texts: dict[str, str] = {}

    def read(self, manifest_path: str) -> Mapping[str, object] | None:
        from registry.input_files import read_toml

        if manifest_path in self._read:
            return self._read[manifest_path]
        data: Mapping[str, object] | None = None
        if is_file(manifest_path):
            data, text = read_toml(manifest_path)
            self.inputs.files.append(manifest_path)
            self.texts[manifest_path] = text
        else:
            self.inputs.absent.append(manifest_path)
        self._read[manifest_path] = data
        return data

    def exists(self, path: str) -> bool:
        found = self._exists.get(path)
        if found is None:
            found = self._exists[path] = os.path.exists(path)
            (self.inputs.present if found else self.inputs.absent).append(path)
        return found

    def is_dir(self, path: str) -> bool:
        return is_dir(path)

    def glob(self, pattern: str) -> list[str]:
        """The glob crate's matches of an absolute pattern: ``*``, ``?`` and ``[...]`` within a
        component (dot files included), ``**`` across components; each listed directory is
        recorded."""
        from fnmatch import fnmatchcase

        parts = [p for p in pattern.split("/") if p and p != "."]
        level = ["/"]
        for i, part in enumerate(parts):
            following: list[str] = []
            if part == "**":
                for base in level:
                    following.extend(self._walk(base))
            elif part == "..":
                following = [posixpath.dirname(b) or "/" for b in level]
            elif _GLOB_CHARS.intersection(part):
                for base in level:
                    for name in self._listdir(base):
                        if fnmatchcase(name, part):
                            following.append(posixpath.join(base, name))
            else:
                following = [posixpath.join(b, part) for b in level]
                if i == len(parts) - 1:
                    following = [p for p in following if os.path.lexists(p)]
            level = following
        return sorted(dict.fromkeys(level))

    def _listdir(self, directory: str) -> list[str]:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        self.inputs.dirs.append(directory)
        return names

    def _walk(self, base: str) -> list[str]:
        out = [base]
        for name in self._listdir(base):
            child = posixpath.join(base, name)
            if is_dir(child):
                out.extend(self._walk(child))
        return out

    def registry_index(self, name: str) -> str | None:
        """``registries.<name>.index`` (`SourceMap.registry_index`)."""
        if name == CRATES_IO:
            return "https://github.com/rust-lang/crates.io-index"
        return self._sources.registry_index(name)


def config_patches(config: CargoConfig) -> list[ConfigPatch]:
    """The ``[patch]`` tables of cargo's configuration (the ``--config`` arguments, then the
    files nearest first: `CargoConfig.layers`), merged as cargo merges them: key by key down to
    each entry's fields, the higher layer winning; a relative ``path`` starts at the layer's
    root, the directory holding the file's ``.cargo`` (for ``$CARGO_HOME/config.toml``:
    ``$CARGO_HOME``'s parent; for ``--config KEY=VALUE``: the current directory),
    ``Definition::root`` in cargo (``util/context/value.rs``)."""
    from query.discovery import ConfigPatch

    merged: dict[tuple[str, str], tuple[dict[str, object], dict[str, str], str]] = {}
    order: list[tuple[str, str]] = []
    for origin, layer_root, data in config.layers():
        patch = data.get("patch")
        if not isinstance(patch, dict):
            continue
        root = os.path.abspath(layer_root)
        for key, entries in patch.items():
            if not isinstance(entries, dict):
                raise InputError(f"{origin}: `patch.{key}` must be a table")
            for name, value in entries.items():
                spec = {"version": value} if isinstance(value, str) else value
                if not isinstance(spec, dict):
                    raise InputError(
                        f"{origin}: `patch.{key}.{name}` must be a version string or a table"
                    )
                slot = merged.get((key, name))
                if slot is None:
                    slot = merged[(key, name)] = ({}, {}, origin)
                    order.append((key, name))
                fields, roots, _ = slot
                for item, item_value in spec.items():
                    if item not in fields:
                        fields[item] = item_value
                        roots[item] = root
    return [
        ConfigPatch(
            key, name, merged[(key, name)][0], merged[(key, name)][1], merged[(key, name)][2]
        )
        for key, name in order
    ]


def registry_sources(sources: SourceMap) -> Any:
    """What :func:`query.nullbuild.check_workspace` asks: the lockfile source string of a
    manifest's registry name (None: crates.io), or None when no such registry is configured."""

    def lookup(name: str | None) -> str | None:
        if name is None or name == CRATES_IO:
            return CRATES_IO_LOCK_SOURCE
        index = sources.registry_index(name)
        if index is None:
            return None
        return index if index.startswith(("sparse+", "registry+")) else "registry+" + index

    return lookup


def locate(mismatch: Mismatch, key: Sequence[str] | None, text: str | None) -> Mismatch:
    """Point a manifest finding at the line where ``key`` (a dependency's key path) is defined
    in the manifest ``text`` (found by :func:`query.toml_lines.key_lines`)."""
    if mismatch.line is not None or key is None or text is None:
        return mismatch
    from query.toml_lines import key_lines

    line = key_lines(text).get(tuple(key))
    if line is None:
        return mismatch
    return Mismatch(mismatch.code, mismatch.message, mismatch.file, line)


class LoadedWorkspace(Record):
    """A workspace read from disk: its root manifest's path and directory, the model, the
    loader (cargo's package cache), the text of each manifest read (by absolute path, for line
    numbers) and the inputs read."""

    root_manifest: str
    root: str
    workspace: Workspace
    loader: Loader
    texts: dict[str, str]
    inputs: CheckInputs


def load_workspace(
    manifest_path: str,
    sources: SourceMap,
    config: CargoConfig,
    inputs: CheckInputs,
    cargo_home: str,
) -> LoadedWorkspace:
    """Find the workspace of ``manifest_path`` and read every manifest cargo would read."""
    from query.discovery import discover
    from query.manifest import ManifestError

    start = spelled(os.path.abspath(manifest_path))
    host = DiskHost(inputs, sources, cargo_home)
    if not is_file(start):
        raise InputError(f"{manifest_path}: no such file")
    patches = config_patches(config)
    try:
        workspace, loader = discover(host, start, config_patches=patches, base=spelled(os.getcwd()))
    except ManifestError as exc:
        raise InputError(str(exc)) from None
    root = workspace.root.path
    return LoadedWorkspace(
        posixpath.join(root, "Cargo.toml"), root, workspace, loader, host.texts, inputs
    )
