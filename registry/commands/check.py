"""``registry check``: is Cargo.lock still what cargo would write for the manifests?

It answers what ``cargo update --workspace --locked --offline`` answers, without cargo::

    fingerprint record (cache/fingerprint.py) ── holds ──> replay its output and exit code
        │ missing, stale, --refresh or --no-fingerprint
        v
    full_check: the workspace from disk (registry/workspace.py), the lockfile, the cargo
    configuration, then query.nullbuild's rules and every locked registry package judged like
    ``validate`` (registry/commands/validate.py)
        │
        v
    the printed text and exit code, stored as a record for the next run (not when something
    could not be checked: that depends on state the record does not capture)
"""

from __future__ import annotations

import os

from query import TYPE_CHECKING
from registry.commands import Outcome

if TYPE_CHECKING:
    from query.verdict import Verdict
    from registry.config.settings import Settings
    from registry.options import RunOptions
    from registry.workspace import CheckInputs


def run(
    options: RunOptions,
    manifest_path: str | None,
    fmt: str,
    unknown: str,
    deny_yanked: bool,
    no_fingerprint: bool,
) -> Outcome:
    """Check the workspace of ``manifest_path``; None: of the nearest Cargo.toml in the current
    directory or a parent, as cargo finds it (`registry.locate.find_manifest`)."""
    from registry import __version__

    if manifest_path is None:
        from registry.locate import find_manifest

        manifest_path = find_manifest()
    cache_root = options.cache_root
    if not no_fingerprint:
        import sys

        from cache import fingerprint

        # Only what the command line and the environment say: cargo's configuration files
        # are among the record's inputs, so a change there is a miss.
        offline = options.offline_hint(os.environ)
        record_options = fingerprint.check_options(
            manifest=manifest_path,
            fmt=fmt,
            unknown=unknown,
            deny_yanked=deny_yanked,
            offline=offline,
            index_url=options.index_url,  # as given: the record's key, never parsed here
            quiet=options.quiet,
            color=options.color_key(sys.stdout.isatty(), os.environ) if fmt == "human" else "",
            token_given=options.token is not None,
            config=options.config,
        )
        key = fingerprint.record_key(manifest_path, record_options)
        if not options.refresh:
            hit = fingerprint.try_replay(
                cache_root, key, __version__, record_options, offline=offline
            )
            if hit is not None:
                text, code = hit
                options.info(f"answered from the null-build fingerprint in {cache_root}")
                return Outcome(code, text + "\n" if text else "")

    from registry.commands import use_color, verdict_text

    verdict, inputs, settings = full_check(options, manifest_path, deny_yanked, unknown)
    text = verdict_text(verdict, fmt, options.quiet, use_color(fmt, settings))
    if not no_fingerprint and not verdict.unknowns:
        problem = fingerprint.store(
            cache_root,
            key,
            version=__version__,
            options=record_options,
            files=inputs.files,
            dirs=inputs.dirs,
            absent=inputs.absent,
            present=inputs.present,
            cache_files=inputs.cache_files,
            seeded_files=inputs.seeded_files,
            fresh_until=inputs.fresh_until,
            output=text.removesuffix("\n"),
            exit_code=verdict.exit_code,
            offline=settings.offline,
        )
        if problem:
            options.warn(problem)
    return Outcome(verdict.exit_code, text)


def _explicit_index_url(options: RunOptions) -> str | None:
    """The --index-url's source URL when one was given: it then replaces crates.io."""
    if options.index_url is None:
        return None
    from registry.config.index_url import parse_index_url

    return parse_index_url(options.index_url).url


def full_check(
    options: RunOptions, manifest_path: str, deny_yanked: bool, unknown_policy: str
) -> tuple[Verdict, CheckInputs, Settings]:
    """The verdict of the null-build check, every input it depended on, and the settings of
    cargo's configuration it ran with.

    Like cargo, the configuration (source replacement, registries, ``[patch]``, the network
    settings) is read from the current directory upwards, ``$CARGO_HOME`` and the ``--config``
    arguments; the workspace is found from the manifest; every manifest cargo would load is
    loaded, and refused as cargo refuses it (exit 2) before the lock is compared."""
    from cache.pathstr import is_file, joined
    from query.discovery import activate, check_patches
    from query.lockfile import without_packages
    from query.manifest import ManifestError
    from query.nullbuild import check_features, check_workspace, local_entries
    from query.verdict import Mismatch, Verdict
    from registry.commands.validate import judge_lockfile
    from registry.config.cargo_config import CargoConfig, cargo_home
    from registry.config.settings import run_settings
    from registry.config.source_replacement import SourceMap
    from registry.errors import InputError
    from registry.input_files import load_lockfile
    from registry.workspace import CheckInputs, load_workspace, locate, registry_sources

    inputs = CheckInputs()
    config = CargoConfig.discover(os.getcwd(), options.config)
    inputs.files.extend(config.files)
    inputs.files.extend(arg.file for arg in config.cli if arg.file)
    inputs.absent.extend(config.absent)
    sources = SourceMap.from_config(config, index_url=_explicit_index_url(options))
    settings = run_settings(options, config)
    loaded = load_workspace(manifest_path, sources, config, inputs, cargo_home())
    workspace = loaded.workspace
    try:
        activate(workspace)
        check_patches(workspace)
    except ManifestError as exc:
        raise InputError(str(exc)) from None
    lock_path = joined(loaded.root, "Cargo.lock")
    lock_name = os.path.relpath(lock_path)
    if not is_file(lock_path):
        inputs.absent.append(lock_path)
        mismatch = Mismatch(
            "member-missing",
            f"{lock_name} does not exist: cargo would create it (run cargo generate-lockfile)",
            lock_name,
        )
        verdict = Verdict("check", lock_name, (), (mismatch,), 0, unknown_policy)
        return verdict, inputs, settings
    lock = load_lockfile(lock_path, drop_dangling=True)
    inputs.files.append(lock_path)
    # read as cargo reads it against this workspace: path entries of packages that no longer
    # exist are dropped, with every edge to them
    _, dropped = local_entries(workspace, lock)
    if dropped:
        lock = without_packages(lock, dropped)

    judgement = judge_lockfile(
        lock, lock_path, options, deny_yanked, sources=sources, summaries=True, settings=settings
    )
    keys: list[tuple[str, ...] | None] = []
    try:
        found = check_workspace(
            workspace, lock, registry_sources(sources), lock_name=lock_name, keys=keys
        )
    except ManifestError as exc:
        raise InputError(str(exc)) from None
    # optional dependencies turned on or off by features (needs the index entries)
    found += check_features(
        workspace, lock, {}, lock_name=lock_name, summaries=judgement.summaries, keys=keys
    )
    texts = {workspace.display(path): text for path, text in loaded.texts.items()}
    mismatches: list[Mismatch] = []
    seen: set[tuple[str, str, str | None]] = set()
    for mismatch, key in zip(found, keys, strict=True):
        # one finding per dependency, however many tables repeat it
        ident = (mismatch.code, mismatch.message, mismatch.file)
        if ident in seen:
            continue
        seen.add(ident)
        mismatches.append(locate(mismatch, key, texts.get(mismatch.file or "")))
    inputs.cache_files.extend(judgement.files_consulted)
    inputs.seeded_files.extend(judgement.seeded_files)
    inputs.fresh_until = judgement.fresh_until
    verdict = Verdict(
        "check",
        lock_name,
        tuple(judgement.results),
        tuple(mismatches),
        judgement.skipped,
        unknown_policy,
    )
    return verdict, inputs, settings
