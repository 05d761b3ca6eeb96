"""A cargo workspace read from disk for ``registry check``: the root manifest (found upward from
the given one), the members (globbed member directories listed), path packages, and every file
and directory listing the answer depends on (`CheckInputs`, for the null-build fingerprint).
The model itself is pure: :mod:`query.manifest`.
"""

from __future__ import annotations

import os
import re

from cache.pathstr import is_dir, is_file, joined, spelled
from query import TYPE_CHECKING
from query.cargo_facts import CRATES_IO, CRATES_IO_LOCK_SOURCE
from query.record import Record, field
from query.verdict import Mismatch
from registry.errors import InputError
from registry.input_files import read_toml

if TYPE_CHECKING:
    from typing import Any

    from query.manifest import Workspace
    from registry.config.source_replacement import SourceMap

_GLOB = re.compile(r"[*?\[]")


class CheckInputs(Record, frozen=False):
    """What the verdict depended on, for the fingerprint."""

    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    cache_files: list[str] = field(default_factory=list)
    seeded_files: list[str] = field(default_factory=list)
    fresh_until: float | None = None


def find_root(manifest: str) -> tuple[str, dict[str, Any], str]:
    """The workspace root manifest, parsed: ``manifest`` unless a parent's [workspace]
    claims it. (path, mapping, text), so the root is read once."""
    data, text = read_toml(manifest)
    if "workspace" in data:
        return manifest, data, text
    parent = os.path.realpath(os.path.dirname(manifest) or ".")
    while os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
        candidate = os.path.join(parent, "Cargo.toml")
        if is_file(candidate):
            try:
                parent_data, parent_text = read_toml(candidate)
            except InputError:
                continue
            if "workspace" in parent_data:
                return candidate, parent_data, parent_text
    return manifest, data, text


def _glob_dirs(root: str, patterns: list[str], inputs: CheckInputs) -> list[str]:
    """Candidate member directories for glob patterns, recording each listed directory."""
    found: set[str] = set()
    for pattern in patterns:
        parts = pattern.strip("/").split("/")
        static: list[str] = []
        for part in parts:
            if _GLOB.search(part):
                break
            static.append(part)
        depth = len(parts) - len(static)
        if depth == 0:
            continue
        level = ["/".join(static)] if static else ["."]
        for _ in range(depth):
            next_level: list[str] = []
            for rel in level:
                directory = joined(root, rel)
                try:
                    names = sorted(os.listdir(directory))
                except OSError:
                    continue
                inputs.dirs.append(directory)
                for name in names:
                    if is_dir(os.path.join(directory, name)):
                        next_level.append(name if rel == "." else f"{rel}/{name}")
            level = next_level
        found.update(level)
    return sorted(found)


def registry_sources(sources: SourceMap) -> Any:
    """What :func:`query.nullbuild.check_workspace` asks: the lockfile source string of a
    manifest's registry name (None: crates.io), or None when no such registry is configured."""

    def lookup(name: str | None) -> str | None:
        if name is None or name == CRATES_IO:
            return CRATES_IO_LOCK_SOURCE
        index = sources.registries.get(name, {}).get("index")
        if not isinstance(index, str):
            return None
        return index if index.startswith(("sparse+", "registry+")) else "registry+" + index

    return lookup


def locate(mismatch: Mismatch, texts: dict[str, str]) -> Mismatch:
    """Point a manifest mismatch at the line that declares its dependency, when found."""
    if mismatch.line is not None or mismatch.file not in texts:
        return mismatch
    name = mismatch.message.split(" ", 1)[0]
    text = texts[mismatch.file]
    pattern = re.compile(
        rf"^\s*(?:{re.escape(name)}\s*=|\[.*dependencies\.{re.escape(name)}\])", re.M
    )
    match = pattern.search(text)
    if match is None:
        return mismatch
    line = text.count("\n", 0, match.start()) + 1
    return Mismatch(mismatch.code, mismatch.message, mismatch.file, line)


class LoadedWorkspace(Record):
    """A workspace read from disk: its root manifest's path and directory, the model, the text
    of each manifest (by its path relative to the root, for line numbers) and the inputs read."""

    root_manifest: str
    root: str
    workspace: Workspace
    texts: dict[str, str]
    inputs: CheckInputs


def load_workspace(manifest_path: str) -> LoadedWorkspace:
    """Find the workspace root of ``manifest_path`` and read every manifest of it."""
    from query.manifest import ManifestError, discover_workspace, workspace_members

    inputs = CheckInputs()
    root_manifest, root_data, root_text = find_root(spelled(manifest_path))
    root = os.path.dirname(root_manifest) or "."
    texts: dict[str, str] = {}

    def read(rel_dir: str) -> dict[str, Any]:
        path = root_manifest if rel_dir == "." else joined(root, rel_dir, "Cargo.toml")
        if rel_dir == ".":
            data, text = root_data, root_text
        else:
            data, text = read_toml(path)
        inputs.files.append(path)
        texts["Cargo.toml" if rel_dir == "." else f"{rel_dir}/Cargo.toml"] = text
        return data

    root_data = read(".")
    try:
        members, _exclude = workspace_members(root_data)
        globbed = [m for m in members if _GLOB.search(m)]
        existing = _glob_dirs(root, globbed, inputs) if globbed else []
        workspace = discover_workspace(root_data, read, existing)
    except ManifestError as exc:
        raise InputError(f"{root}: {exc}") from None
    return LoadedWorkspace(root_manifest, root, workspace, texts, inputs)
