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
    from registry.options import RunOptions
    from registry.workspace import CheckInputs


def run(
    options: RunOptions,
    manifest_path: str,
    fmt: str,
    unknown: str,
    deny_yanked: bool,
    no_fingerprint: bool,
) -> Outcome:
    from registry import __version__
    from registry.commands import use_color

    cache_root = options.cache_root
    if not no_fingerprint:
        from cache import fingerprint

        record_options = fingerprint.check_options(
            manifest=manifest_path,
            fmt=fmt,
            unknown=unknown,
            deny_yanked=deny_yanked,
            offline=options.offline,
            index_url=options.index_url,  # as given: the record's key, never parsed here
            quiet=options.quiet,
            color=use_color(fmt),
            token_given=options.token is not None,
        )
        key = fingerprint.record_key(manifest_path, record_options)
        if not options.refresh:
            hit = fingerprint.try_replay(
                cache_root, key, __version__, record_options, offline=options.offline
            )
            if hit is not None:
                text, code = hit
                options.info(f"answered from the null-build fingerprint in {cache_root}")
                return Outcome(code, text + "\n" if text else "")

    from registry.commands import verdict_text

    verdict, inputs = full_check(options, manifest_path, deny_yanked, unknown)
    text = verdict_text(verdict, fmt, options.quiet)
    if not no_fingerprint and not verdict.unknowns:
        problem = fingerprint.store(
            cache_root,
            key,
            version=__version__,
            options=record_options,
            files=inputs.files,
            dirs=inputs.dirs,
            absent=inputs.absent,
            cache_files=inputs.cache_files,
            seeded_files=inputs.seeded_files,
            fresh_until=inputs.fresh_until,
            output=text.removesuffix("\n"),
            exit_code=verdict.exit_code,
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
) -> tuple[Verdict, CheckInputs]:
    """The verdict of the null-build check, and every input it depended on."""
    from cache.pathstr import is_file, joined
    from query.nullbuild import check_features, check_workspace
    from query.verdict import Mismatch, Verdict
    from registry.commands.validate import judge_lockfile
    from registry.config.source_replacement import SourceMap
    from registry.input_files import load_lockfile
    from registry.workspace import load_workspace, locate, registry_sources

    loaded = load_workspace(manifest_path)
    inputs = loaded.inputs
    lock_path = joined(loaded.root, "Cargo.lock")
    lock_name = os.path.relpath(lock_path)
    if not is_file(lock_path):
        inputs.absent.append(lock_path)
        mismatch = Mismatch(
            "member-missing",
            f"{lock_name} does not exist: cargo would create it (run cargo generate-lockfile)",
            lock_name,
        )
        return Verdict("check", lock_name, (), (mismatch,), 0, unknown_policy), inputs
    lock = load_lockfile(lock_path)
    inputs.files.append(lock_path)

    sources = SourceMap.discover(loaded.root, index_url=_explicit_index_url(options))
    inputs.files.extend(str(p) for p in sources.files)
    inputs.absent.extend(str(p) for p in sources.absent)

    judgement = judge_lockfile(
        lock, lock_path, options, deny_yanked, sources=sources, summaries=True
    )
    workspace = loaded.workspace
    found = check_workspace(workspace, lock, registry_sources(sources), lock_name=lock_name)
    # optional dependencies turned on or off by features (needs the index entries)
    found += check_features(workspace, lock, {}, lock_name=lock_name, summaries=judgement.summaries)
    mismatches = [locate(m, loaded.texts) for m in found]
    relative = os.path.relpath(loaded.root)
    if relative != ".":
        mismatches = [
            Mismatch(m.code, m.message, os.path.join(relative, m.file), m.line)
            if m.file and m.file != lock_name
            else m
            for m in mismatches
        ]
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
    return verdict, inputs
