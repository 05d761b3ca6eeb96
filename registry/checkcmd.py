"""The ``check`` command's work, shared by the click command and the fast path.

Order: the fingerprint record (unless ``--refresh``/``--no-fingerprint``), else the full check,
whose printed output and exit code are then stored for the next run.
"""

from __future__ import annotations

import sys

from registry import __version__


class CheckRequest:
    """The options of one ``check`` run (a plain class: dataclasses cost ~13 ms to import, and
    this is on the fingerprint-hit path). ``index_url`` is set only when given explicitly: it
    then replaces crates.io for lockfile entries."""

    __slots__ = (
        "cache_dir",
        "deny_yanked",
        "fmt",
        "index_url",
        "manifest_path",
        "no_fingerprint",
        "offline",
        "quiet",
        "refresh",
        "timeout",
        "token",
        "unknown",
    )

    def __init__(
        self,
        manifest_path: str,
        *,
        fmt: str = "human",
        unknown: str = "error",
        deny_yanked: bool = False,
        no_fingerprint: bool = False,
        cache_dir: str | None = None,
        offline: bool = False,
        refresh: bool = False,
        token: str | None = None,
        index_url: str | None = None,
        quiet: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.manifest_path = manifest_path
        self.fmt = fmt
        self.unknown = unknown
        self.deny_yanked = deny_yanked
        self.no_fingerprint = no_fingerprint
        self.cache_dir = cache_dir
        self.offline = offline
        self.refresh = refresh
        self.token = token
        self.index_url = index_url
        self.quiet = quiet
        self.timeout = timeout


def warn(request: CheckRequest, message: str) -> None:
    if not request.quiet:
        sys.stderr.write(f"warning: {message}\n")


def execute(request: CheckRequest) -> tuple[str, int]:
    """(text to print, exit code) of ``registry check``."""
    from registry.paths import default_cache_dir

    color = request.fmt == "human" and sys.stdout.isatty()
    cache_root = request.cache_dir or default_cache_dir()
    if not request.no_fingerprint:
        from registry import fingerprint

        options = fingerprint.check_options(
            manifest=request.manifest_path,
            fmt=request.fmt,
            unknown=request.unknown,
            deny_yanked=request.deny_yanked,
            offline=request.offline,
            index_url=request.index_url,
            quiet=request.quiet,
            color=color,
            token_given=request.token is not None,
        )
        key = fingerprint.record_key(request.manifest_path, options)
        if not request.refresh:
            hit = fingerprint.try_replay(
                cache_root, key, __version__, options, offline=request.offline
            )
            if hit is not None:
                return hit

    from registry.nullcheck import run_check
    from registry.report import render
    from registry.validation import Settings

    settings = Settings(
        cache_dir=request.cache_dir,
        offline=request.offline,
        refresh=request.refresh,
        token=request.token,
        index_url=request.index_url,
        deny_yanked=request.deny_yanked,
        warn=lambda message: warn(request, message),
        timeout=request.timeout,
    )
    verdict, inputs = run_check(request.manifest_path, settings, request.unknown)
    text = render(verdict, request.fmt, color=color, quiet=request.quiet, tool_version=__version__)
    # An unknown (a cache file missing offline, a server or auth error) depends on state the
    # record does not capture: such a verdict is never replayed.
    if not request.no_fingerprint and not verdict.unknowns:
        problem = fingerprint.store(
            cache_root,
            key,
            version=__version__,
            options=options,
            files=inputs.files,
            dirs=inputs.dirs,
            absent=inputs.absent,
            cache_files=inputs.cache_files,
            fresh_until=inputs.fresh_until,
            output=text,
            exit_code=verdict.exit_code,
        )
        if problem:
            warn(request, problem)
    return text, verdict.exit_code
