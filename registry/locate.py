"""Where the project is when no path is given, found as cargo finds it: the nearest
``Cargo.toml`` in the current directory or a parent (cargo 0.96.0,
src/cargo/util/important_paths.rs:6 ``find_root_manifest_for_wd``), and the ``Cargo.lock``
next to its workspace root (core/workspace.rs ``find_root``: :mod:`query.discovery`'s
``Loader.find_root``, the one that ``check`` uses). ``check`` and ``validate`` without a path
start here; ``check``'s warm path (a fingerprint hit) imports only this module of the two.
"""

from __future__ import annotations

import os

from query.cargo_facts import LOCKFILE, MANIFEST


def find_manifest(cwd: str | None = None) -> str:
    """The manifest cargo works on when none is named: the nearest ``Cargo.toml`` in the
    current directory or a parent (cargo 0.96.0, src/cargo/util/important_paths.rs:6
    ``find_root_manifest_for_wd``): ``Cargo.toml`` when it is here (as ``--manifest-path``'s
    default spells it), else the absolute path. InputError, worded as cargo's, when there is
    none."""
    here = os.getcwd() if cwd is None else cwd
    directory = here
    misspelled = False
    while True:
        candidate = os.path.join(directory, MANIFEST)
        if os.path.exists(candidate):
            return MANIFEST if directory == here else candidate
        misspelled = misspelled or os.path.exists(os.path.join(directory, "cargo.toml"))
        up = os.path.dirname(directory)
        if up == directory:
            break
        directory = up
    from registry.errors import InputError

    hint = ", but found cargo.toml: rename it to Cargo.toml" if misspelled else ""
    raise InputError(
        f"could not find `{MANIFEST}` in `{here}` or any parent directory{hint} "
        "(give --manifest-path, or run in a cargo project)"
    )


def find_lockfile() -> str:
    """The lockfile cargo would use here: next to the workspace root of the nearest manifest
    (`find_manifest`, then :meth:`query.discovery.Loader.find_root`, cargo 0.96.0
    src/cargo/core/workspace.rs ``find_root``; ops/lockfile.rs: ``<root>/Cargo.lock``), spelled
    relative to the current directory; ``Cargo.lock`` when no manifest is found (a bare
    lockfile). InputError when a manifest on the way cannot be read, as cargo fails then."""
    from registry.errors import InputError

    try:
        manifest = find_manifest()
    except InputError:
        return LOCKFILE
    from cache.pathstr import spelled
    from query.discovery import Loader
    from query.manifest import ManifestError
    from registry.config.cargo_config import CargoConfig, cargo_home
    from registry.config.source_replacement import SourceMap
    from registry.workspace import CheckInputs, DiskHost

    start = spelled(os.path.abspath(manifest))
    # the manifests are read as cargo reads them (their registries from the configuration)
    sources = SourceMap.from_config(CargoConfig.discover(os.getcwd()))
    try:
        root = Loader(DiskHost(CheckInputs(), sources, cargo_home())).find_root(start)
    except ManifestError as exc:
        raise InputError(f"{exc} (give the lockfile's path)") from None
    return os.path.relpath(os.path.join(os.path.dirname(root or start), LOCKFILE))
