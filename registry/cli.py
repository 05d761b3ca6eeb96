"""The ``registry`` command line (click). Commands are thin: parse, call the API, print.

Exit codes (also in ``--help`` and the README)::

    0  answered
    1  not found: no such crate, no matching version (validate/check: problems found)
    2  bad usage or input
    3  could not answer: network, auth, offline and not cached, unreadable cache entry

Every error is one line on stderr, ``error: <what>: <what to do>``; no tracebacks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from query.cargo_facts import CRATES_IO_SPARSE
from registry import __version__
from registry.errors import EXIT_USAGE
from registry.options import RunOptions

UNKNOWN_POLICIES = ("error", "warn", "ignore")

if TYPE_CHECKING:
    from query.verdict import Verdict
    from registry.validation import Settings

EPILOG = """\b
Exit codes:
  0  answered (validate/check: sound, up to date)
  1  not found (validate/check: problems found)
  2  bad usage or input
  3  could not answer (network, auth, offline and not cached)
"""


class Options(RunOptions):
    """Global options, resolved once and handed to each command."""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="registry")
@click.option(
    "--index-url",
    envvar="REGISTRY_INDEX_URL",
    show_envvar=True,
    default=CRATES_IO_SPARSE,
    show_default=True,
    help="Sparse index URL (sparse+https://, https://), file:// URL or local index directory. "
    "Also replaces crates.io for lockfile entries.",
)
@click.option(
    "--cache-dir",
    envvar="REGISTRY_CACHE_DIR",
    show_envvar=True,
    type=click.Path(file_okay=False),
    help="Cache root [default: $XDG_CACHE_HOME/registry]. ~/.cargo shares cargo's own cache.",
)
@click.option(
    "--offline",
    envvar="REGISTRY_OFFLINE",
    show_envvar=True,
    is_flag=True,
    help="Never touch the network; answer from the cache only.",
)
@click.option("--refresh", is_flag=True, help="Revalidate every index file used.")
@click.option(
    "--timeout",
    envvar="REGISTRY_TIMEOUT",
    show_envvar=True,
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to connect, and seconds a transfer may stall, before it fails (and retries).",
)
@click.option(
    "--token",
    envvar="REGISTRY_TOKEN",
    show_envvar=True,
    help="Registry token, sent verbatim in Authorization to the registry's own host only.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only results and errors.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.pass_context
def main(
    ctx: click.Context,
    index_url: str,
    cache_dir: str | None,
    offline: bool,
    refresh: bool,
    timeout: float,
    token: str | None,
    quiet: bool,
    verbose: int,
) -> None:
    """Query a cargo sparse registry index through cargo's own summaries cache."""
    if offline and refresh:
        raise click.UsageError("--offline and --refresh contradict each other")
    ctx.obj = Options(
        index_url, cache_dir, offline, refresh, token or None, quiet, verbose, timeout
    )


@main.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True, help="Print the raw index line(s) as JSON.")
@click.option("--all", "all_versions", is_flag=True, help="Every matching version, oldest first.")
@click.pass_obj
def query(opts: Options, spec: str, as_json: bool, all_versions: bool) -> None:
    """Look up a crate: NAME (newest), NAME==VERSION (exact) or NAME@REQ (cargo requirement)."""
    from query.spec import parse_query_spec
    from registry.render import render_entry, render_versions

    parsed = parse_query_spec(spec)
    with opts.registry() as reg:
        if parsed.exact is not None:  # the exact key (build metadata counts), --all or not
            entries = [reg.get(parsed.name, parsed.exact)]
        elif all_versions:
            entries = reg.query_all(parsed.name, parsed.requirement)
        else:
            entries = [reg.query(parsed.name, parsed.requirement)]
        opts.report(reg)
    if as_json:
        out = sys.stdout.buffer
        for entry in entries:
            out.write(entry.raw.rstrip(b"\r") + b"\n")
        out.flush()
    elif all_versions:
        click.echo(render_versions((e.vers, e.yanked) for e in entries))
    else:
        import orjson

        click.echo(render_entry(orjson.loads(entries[0].raw)))


@main.command()
@click.argument("name")
@click.pass_obj
def versions(opts: Options, name: str) -> None:
    """Every published version of NAME, yanked ones marked."""
    from query.names import validate_crate_name
    from registry.render import render_versions

    validate_crate_name(name)
    with opts.registry() as reg:
        rows = reg.versions(name)
        opts.report(reg)
    click.echo(render_versions((r.version, r.yanked) for r in rows))


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--lockfile",
    type=click.Path(dir_okay=False),
    help="Fetch every registry package named in this Cargo.lock (each from its own index).",
)
@click.pass_context
def fetch(ctx: click.Context, names: tuple[str, ...], lockfile: str | None) -> None:
    """Warm the cache for NAMES (and/or a lockfile's packages), concurrently."""
    from registry.fetchcmd import FetchRequest, execute

    if not names and not lockfile:
        raise click.UsageError("give crate names or --lockfile")
    opts: Options = ctx.obj
    request = FetchRequest(
        names,
        lockfile,
        index_url=opts.index_url,
        explicit_index_url=_explicit_index_url(ctx),
        cache_dir=opts.cache_dir,
        offline=opts.offline,
        refresh=opts.refresh,
        token=opts.token,
        quiet=opts.quiet,
        verbose=opts.verbose,
        timeout=opts.timeout,
    )
    progress = _progress_bar if sys.stderr.isatty() and not opts.quiet else None
    code = execute(request, progress)
    if code:
        sys.exit(code)


def _progress_bar(total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    bar = click.progressbar(length=total, label="Fetching index files", file=sys.stderr)

    def advance(count: int) -> None:
        bar.update(min(count, total - bar.pos))

    return advance, bar.render_finish


FORMATS = ("human", "json", "github", "sarif")


def _explicit_index_url(ctx: click.Context) -> str | None:
    """The --index-url source URL when it was actually given (flag or env), else None: only
    then does it replace crates.io for lockfile entries."""
    from registry.source import parse_index_url

    root = ctx.find_root()
    source = root.get_parameter_source("index_url")
    if source in (click.core.ParameterSource.DEFAULT, None):
        return None
    value = root.params.get("index_url")
    return parse_index_url(str(value)).url if value else None


def _settings(ctx: click.Context, opts: Options, deny_yanked: bool) -> Settings:
    from registry.validation import Settings

    return Settings(
        cache_dir=opts.cache_dir,
        offline=opts.offline,
        refresh=opts.refresh,
        token=opts.token,
        index_url=_explicit_index_url(ctx),
        deny_yanked=deny_yanked,
        warn=opts.warn,
        timeout=opts.timeout,
    )


def _emit(opts: Options, verdict: Verdict, fmt: str) -> None:
    from registry.report import render

    text = render(
        verdict,
        fmt,
        color=fmt == "human" and sys.stdout.isatty(),
        quiet=opts.quiet,
        tool_version=__version__,
    )
    if text:
        click.echo(text)
    sys.exit(verdict.exit_code)


def report_options(func: Any) -> Any:
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="human",
        show_default=True,
        help="Output format (exit codes are the same for all).",
    )(func)
    func = click.option(
        "--unknown",
        type=click.Choice(UNKNOWN_POLICIES),
        default="error",
        show_default=True,
        help="What a package that could not be checked does to the exit code.",
    )(func)
    return click.option(
        "--deny-yanked", is_flag=True, help="Treat yanked versions as errors, not warnings."
    )(func)


@main.command()
@click.argument("lockfile", default="Cargo.lock", type=click.Path(dir_okay=False))
@report_options
@click.pass_context
def validate(ctx: click.Context, lockfile: str, fmt: str, unknown: str, deny_yanked: bool) -> None:
    """Check every registry package of LOCKFILE against its index.

    Exists, version exists, checksum equals the index cksum, not yanked, dependencies
    consistent. Path and git packages are skipped.
    """
    from query.verdict import Verdict
    from registry.validation import validate_path

    opts: Options = ctx.obj
    report = validate_path(Path(lockfile), _settings(ctx, opts, deny_yanked))
    verdict = Verdict(
        command="validate",
        lockfile=lockfile,
        packages=tuple(report.results),
        skipped=report.skipped,
        unknown_policy=unknown,
    )
    _emit(opts, verdict, fmt)


@main.command()
@click.option(
    "--manifest-path",
    default="Cargo.toml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The workspace (or member) manifest; the lockfile next to the workspace root is checked.",
)
@report_options
@click.option(
    "--no-fingerprint", is_flag=True, help="Always run the full check (no stored verdict)."
)
@click.pass_context
def check(
    ctx: click.Context,
    manifest_path: str,
    fmt: str,
    unknown: str,
    deny_yanked: bool,
    no_fingerprint: bool,
) -> None:
    """Is Cargo.lock still up to date with the manifests? (cargo's null build, without cargo)

    Answers what `cargo update --workspace --locked --offline` answers: every requirement of
    every member is satisfied by the lock, members match, nothing stale is left, and every
    locked registry package validates. An unchanged rerun answers from a stored fingerprint.
    """
    from registry.checkcmd import CheckRequest, execute

    opts: Options = ctx.obj
    text, code = execute(
        CheckRequest(
            manifest_path=manifest_path,
            fmt=fmt,
            unknown=unknown,
            deny_yanked=deny_yanked,
            no_fingerprint=no_fingerprint,
            cache_dir=opts.cache_dir,
            offline=opts.offline,
            refresh=opts.refresh,
            token=opts.token,
            index_url=_explicit_index_url(ctx),
            quiet=opts.quiet,
            timeout=opts.timeout,
        )
    )
    if text:
        click.echo(text)
    sys.exit(code)


@main.group()
def cache() -> None:
    """Inspect or clean the cache."""


@cache.command("dir")
@click.pass_obj
def cache_dir(opts: Options) -> None:
    """Print the cache directory of the selected index."""
    reg = opts.registry()
    click.echo(str(reg.store.dir))


@cache.command("stats")
@click.pass_obj
def cache_stats(opts: Options) -> None:
    """Files and bytes per registry in the cache."""
    reg = opts.registry()
    stats = reg.store.stats()
    if not stats:
        click.echo(f"{reg.cache_root}: empty")
        return
    for dir_name, row in sorted(stats.items()):
        click.echo(f"{dir_name}: {row['files']} files, {row['bytes']} bytes")


@cache.command("clean")
@click.pass_obj
def cache_clean(opts: Options) -> None:
    """Remove every cached index (cargo's lock is respected)."""
    reg = opts.registry()
    freed = reg.store.clean()
    if not opts.quiet:
        click.echo(f"removed {freed} bytes from {reg.cache_root}")


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and turn every error into its exit code and one line."""
    from registry.guard import guarded

    return guarded(lambda: _run_click(argv))


def _run_click(argv: Sequence[str] | None) -> int:
    try:
        main.main(
            args=list(argv) if argv is not None else None,
            prog_name="registry",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.ClickException as exc:
        # One line, like every other error (click's own form is a multi-line usage block).
        message = " ".join(exc.format_message().split())
        hint = " (see registry --help)" if isinstance(exc, click.UsageError) else ""
        click.echo(f"error: {message}{hint}", err=True)
        return EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
    except click.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
