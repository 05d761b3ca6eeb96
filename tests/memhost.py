"""An in-memory :class:`query.discovery.Host` for unit tests: manifests as TOML text by
absolute directory. Every package directory also holds ``src/lib.rs`` (so it has a target)
unless its text says otherwise through ``files``."""

from __future__ import annotations

import posixpath
import tomllib
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from query.discovery import ConfigPatch, Loader, discover
from query.manifest import Workspace


class MemoryHost:
    def __init__(
        self,
        manifests: Mapping[str, str],
        *,
        base: str = "/ws",
        files: Iterable[str] = (),
        dirs: Iterable[str] = (),
        registries: Mapping[str, str] | None = None,
        cargo_home: str = "/home/user/.cargo",
    ) -> None:
        """``manifests`` maps a directory (absolute, or relative to ``base``) to its
        Cargo.toml text; ``files`` and ``dirs`` are more paths that exist (same rule)."""
        self.base = base
        self.manifests = {self.abs(d): text for d, text in manifests.items()}
        self.files = {self.abs(f) for f in files}
        self.files |= {posixpath.join(d, "src", "lib.rs") for d in self.manifests}
        self.dirs = {self.abs(d) for d in dirs} | set(self.manifests)
        for known in list(self.dirs) + list(self.files):
            parent = known
            while parent != "/":
                parent = posixpath.dirname(parent)
                self.dirs.add(parent)
        self.cargo_home = cargo_home
        self.registries = dict(registries or {})
        self.read_paths: list[str] = []

    def abs(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.base, path))

    def read(self, manifest_path: str) -> Mapping[str, object] | None:
        self.read_paths.append(manifest_path)
        text = self.manifests.get(posixpath.dirname(manifest_path))
        return None if text is None else tomllib.loads(text)

    def glob(self, pattern: str) -> list[str]:
        parts = [p for p in pattern.split("/") if p and p != "."]
        candidates = self.dirs | self.files
        return sorted(p for p in candidates if _match(parts, [x for x in p.split("/") if x]))

    def is_dir(self, path: str) -> bool:
        return posixpath.normpath(path) in self.dirs

    def exists(self, path: str) -> bool:
        path = posixpath.normpath(path)
        if path.endswith("/Cargo.toml"):
            return posixpath.dirname(path) in self.manifests
        return path in self.dirs or path in self.files

    def registry_index(self, name: str) -> str | None:
        return self.registries.get(name)

    def discover(
        self, start: str = ".", config_patches: Iterable[ConfigPatch] = ()
    ) -> tuple[Workspace, Loader]:
        return discover(
            self,
            posixpath.join(self.abs(start), "Cargo.toml"),
            config_patches=tuple(config_patches),
            base=self.base,
        )


def _match(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _match(rest, path[1:])


def workspace(manifests: Mapping[str, str], **kw: object) -> Workspace:
    """The workspace of ``manifests["."]`` (see :class:`MemoryHost`)."""
    return MemoryHost(manifests, **kw).discover()[0]  # type: ignore[arg-type]
