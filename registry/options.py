"""Every option of the ``registry`` command line, in one table, and `RunOptions`, the record that
carries a run's global options into every command.

::

    global option        env                  default
    --index-url URL      REGISTRY_INDEX_URL   not given: crates.io (or cargo's source replacement)
    --cache-dir DIR      REGISTRY_CACHE_DIR   $XDG_CACHE_HOME/registry (~/.cache/registry)
    --offline            REGISTRY_OFFLINE     off
    --refresh                                 off
    --timeout SECONDS    REGISTRY_TIMEOUT     30
    --token TOKEN        REGISTRY_TOKEN       none
    --config KEY=VALUE                        none (repeatable; cargo's --config)
    --color WHEN                              auto (or term.color, CARGO_TERM_COLOR)
    -q, --quiet                               off
    -v, --verbose                             0 (repeat for more)

The command line's one parser (:mod:`registry.cli.argv`) and its help, shell completion and
progress bar (:mod:`registry.cli.app`, built with click) both read `GLOBAL_OPTIONS` and
`COMMANDS`; an option's ``parse`` function is its only validation. A value given on the command
line wins over the environment, which wins over the default; `RunOptions.origins` records
which options were set and how. --offline, --timeout and --color stand for cargo's net.offline,
http.timeout and term.color, which cargo's configuration may also set
(:mod:`registry.config.settings`). Standard library only: this is on every path, including the
warm ones.
"""

from __future__ import annotations

import os
import sys

from query import TYPE_CHECKING
from query.record import Record, field

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

#: The output formats of ``validate`` and ``check`` (--format), the default first.
FORMATS = ("human", "json", "github", "sarif")
#: What a package that could not be checked does to the exit code (--unknown), the default
#: first: ``error`` (exit 3), ``warn`` (shown, exit 0), ``ignore``.
UNKNOWN_POLICIES = ("error", "warn", "ignore")
#: --timeout's default, in seconds: also the Python API's (`registry.api.Registry`).
DEFAULT_TIMEOUT = 30.0
#: The accepted --timeout range, in seconds.
TIMEOUT_RANGE = (0.1, 3600.0)
#: --color's choices (cargo's)
COLORS = ("auto", "always", "never")
#: A request's total deadline is this many times --timeout (5 minutes by default): however
#: steadily a server trickles bytes, a transfer ends by then (and is not retried).
TOTAL_TIMEOUT_FACTOR = 10
#: The largest input file (Cargo.lock, Cargo.toml, cargo configuration) read, in bytes; the
#: same cap holds for a pipe or a device, which are read only up to it.
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: The largest response body (decoded) or local index file read, in bytes.
MAX_BODY_BYTES = 256 * 1024 * 1024

# what an option takes
FLAG = "flag"  # --offline: on when given
COUNT = "count"  # -v: how many times given
VALUE = "value"  # --format FORMAT or --format=FORMAT
MANY = "many"  # --keep A B, --keep A --keep B: every value, in order (a tuple)
EACH = "each"  # --config A --config B: one value per flag, every one in order (a tuple)


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/registry``, else ``~/.cache/registry``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "registry")


def wants_color(choice: str, isatty: bool, environ: Mapping[str, str]) -> bool:
    """Whether ``choice`` (--color or term.color: auto, always, never) means colours on a
    stream. For auto, anstream's rule, as cargo's shell applies it (anstream/src/auto.rs
    ``choice``): CLICOLOR_FORCE set (not empty) forces them; else a terminal, with NO_COLOR
    unset or empty, CLICOLOR not 0, and TERM set and not dumb (or CLICOLOR set, or CI set)."""
    if choice != "auto":
        return choice == "always"
    if environ.get("CLICOLOR_FORCE"):
        return True
    clicolor = environ.get("CLICOLOR")
    term = environ.get("TERM")
    return (
        isatty
        and not environ.get("NO_COLOR")
        and clicolor != "0"
        and ((term is not None and term != "dumb") or clicolor is not None or "CI" in environ)
    )


# -- value parsers: each returns the value or raises ValueError saying what is wrong --------------

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def parse_bool(text: str) -> bool:
    """A boolean environment variable, as cargo and click read one."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def parse_timeout(text: str) -> float:
    low, high = TIMEOUT_RANGE
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not low <= value <= high:  # NaN compares false, and the infinities are out of range
        raise ValueError(f"{text!r} is not a number of seconds from {low:g} to {high:g}")
    return value


def parse_directory(text: str) -> str:
    """A directory path (``~`` expanded): it may be missing, but not a file."""
    path = os.path.expanduser(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{text!r} is a file, not a directory")
    return path


def parse_file(text: str) -> str:
    """A file path: it may be missing (the command says so), but not a directory."""
    if os.path.isdir(text):
        raise ValueError(f"{text!r} is a directory, not a file")
    return text


def parse_days(text: str) -> int:
    """A whole number of days, 0 or more."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise ValueError(f"{text!r} is not a whole number of days (0 to 999999)")
    return int(value)


def parse_token(text: str) -> str | None:
    return text or None


class Option(Record):
    """One option: its spellings, the name its value is stored under, and how it is read."""

    flags: tuple[str, ...]
    name: str
    help: str
    kind: str = VALUE
    env: str | None = None
    default: Any = None
    choices: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    metavar: str = ""


class Argument(Record):
    """A positional argument; ``many`` takes every remaining one (a tuple)."""

    name: str
    required: bool = True
    default: str | None = None
    many: bool = False
    parse: Callable[[str], object] | None = None


class Command(Record):
    """A command (``query``) or a command of a group (``cache dir``: ``group="cache"``)."""

    name: str
    help: str
    arguments: tuple[Argument, ...] = ()
    options: tuple[Option, ...] = ()
    group: str | None = None

    @property
    def path(self) -> str:
        return f"{self.group} {self.name}" if self.group else self.name


GLOBAL_OPTIONS = (
    Option(
        ("--index-url",),
        "index_url",
        "Sparse index URL (sparse+https://, https://), file:// URL or local index directory. "
        "When given, it also replaces crates.io for lockfile entries [default: crates.io, or "
        "its replacement in cargo's configuration].",
        env="REGISTRY_INDEX_URL",
        metavar="URL",
    ),
    Option(
        ("--cache-dir",),
        "cache_dir",
        "Cache root [default: $XDG_CACHE_HOME/registry]. ~/.cargo shares cargo's own cache.",
        env="REGISTRY_CACHE_DIR",
        parse=parse_directory,
        metavar="DIR",
    ),
    Option(
        ("--offline",),
        "offline",
        "Never touch the network; answer from the cache only (also: net.offline, "
        "CARGO_NET_OFFLINE).",
        kind=FLAG,
        env="REGISTRY_OFFLINE",
        default=False,
        parse=parse_bool,
    ),
    Option(
        ("--refresh",), "refresh", "Revalidate every index file used.", kind=FLAG, default=False
    ),
    Option(
        ("--timeout",),
        "timeout",
        "Seconds to connect, and seconds a transfer may stall, before it fails (and retries) "
        "(also: http.timeout, CARGO_HTTP_TIMEOUT). "
        f"A request ends within {TOTAL_TIMEOUT_FACTOR} x SECONDS in total, however slowly the "
        "server sends.",
        env="REGISTRY_TIMEOUT",
        default=DEFAULT_TIMEOUT,
        parse=parse_timeout,
        metavar="SECONDS",
    ),
    Option(
        ("--token",),
        "token",
        "Registry token, sent verbatim in Authorization to the registry's own host only.",
        env="REGISTRY_TOKEN",
        parse=parse_token,
        metavar="TOKEN",
    ),
    Option(
        ("--config",),
        "config",
        "A cargo configuration value, KEY=VALUE in TOML (http.timeout=60, "
        "'http.proxy=\"host:3128\"'), or a configuration file; wins over the environment and "
        "cargo's configuration files. Repeatable.",
        kind=EACH,
        default=(),
        metavar="KEY=VALUE",
    ),
    Option(
        ("--color",),
        "color",
        "Colours in validate/check's human output [default: term.color, CARGO_TERM_COLOR, "
        "else auto: on a terminal, unless NO_COLOR is set].",
        choices=COLORS,
        metavar="WHEN",
    ),
    Option(("-q", "--quiet"), "quiet", "Print only results and errors.", kind=FLAG, default=False),
    Option(
        ("-v", "--verbose"),
        "verbose",
        "More detail on stderr, with where each setting of cargo's configuration came from.",
        kind=COUNT,
        default=0,
    ),
)

_REPORT_OPTIONS = (
    Option(
        ("--format",),
        "fmt",
        "Output format (exit codes are the same for all).",
        default=FORMATS[0],
        choices=FORMATS,
        metavar="FORMAT",
    ),
    Option(
        ("--unknown",),
        "unknown",
        "What a package that could not be checked does to the exit code.",
        default=UNKNOWN_POLICIES[0],
        choices=UNKNOWN_POLICIES,
        metavar="POLICY",
    ),
    Option(
        ("--deny-yanked",),
        "deny_yanked",
        "Treat yanked versions as errors, not warnings.",
        kind=FLAG,
        default=False,
    ),
)

COMMANDS = (
    Command(
        "query",
        "Look up a crate: NAME (newest), NAME==VERSION (exact) or NAME@REQ (cargo requirement).",
        (Argument("spec"),),
        (
            Option(
                ("--json",),
                "as_json",
                "Print the raw index line(s) as JSON.",
                kind=FLAG,
                default=False,
            ),
            Option(
                ("--all",),
                "all_versions",
                "Every matching version, oldest first.",
                kind=FLAG,
                default=False,
            ),
        ),
    ),
    Command(
        "versions", "Every published version of NAME, yanked ones marked.", (Argument("name"),)
    ),
    Command(
        "fetch",
        "Warm the cache for NAMES (and/or a lockfile's packages), concurrently.",
        (Argument("names", required=False, many=True),),
        (
            Option(
                ("--lockfile",),
                "lockfile",
                "Fetch every registry package named in this Cargo.lock (each from its own index).",
                parse=parse_file,
                metavar="PATH",
            ),
        ),
    ),
    Command(
        "validate",
        "Check every registry package of LOCKFILE against its index [default: the Cargo.lock "
        "of the workspace of the nearest Cargo.toml here or in a parent directory].\n\n"
        "Exists, version exists, checksum equals the index cksum, not yanked, dependencies "
        "consistent. Path and git packages are skipped.",
        (Argument("lockfile", required=False, parse=parse_file),),
        _REPORT_OPTIONS,
    ),
    Command(
        "check",
        "Is Cargo.lock still up to date with the manifests? (cargo's null build, without "
        "cargo)\n\nAnswers what `cargo update --workspace --locked --offline` answers: every "
        "requirement of every member is satisfied by the lock, members match, nothing stale "
        "is left, and every locked registry package validates. An unchanged rerun answers "
        "from a stored fingerprint.",
        (),
        (
            Option(
                ("--manifest-path",),
                "manifest_path",
                "The workspace (or member) manifest; the lockfile next to the workspace root "
                "is checked [default: the nearest Cargo.toml here or in a parent directory].",
                parse=parse_file,
                metavar="PATH",
            ),
            *_REPORT_OPTIONS,
            Option(
                ("--no-fingerprint",),
                "no_fingerprint",
                "Always run the full check (no stored verdict).",
                kind=FLAG,
                default=False,
            ),
        ),
    ),
    Command("dir", "Print the cache directory of the selected index.", group="cache"),
    Command("stats", "Files and bytes per registry in the cache.", group="cache"),
    Command(
        "clean",
        "Remove every index cache (cargo's lock is respected). In a CARGO_HOME, cargo's git "
        "index clones, downloaded crates and sources are kept.",
        group="cache",
    ),
    Command(
        "prune",
        "Remove index entries not used for DAYS days and/or not needed by the given "
        "lockfiles.\n\nWith both options, an entry goes when it is old and no lockfile needs "
        "it. An entry's last use is the later of its access and modification times (registry "
        "refreshes the access time once a day when it uses an entry). Safe while other "
        "processes, cargo included, use the cache.",
        (),
        (
            Option(
                ("--older-than",),
                "older_than",
                "Remove entries not used for this many days.",
                parse=parse_days,
                metavar="DAYS",
            ),
            Option(
                ("--keep",),
                "keep",
                "Keep the entries these Cargo.lock files need (one or more; repeatable).",
                kind=MANY,
                default=(),
                parse=parse_file,
                metavar="LOCKFILE",
            ),
        ),
        group="cache",
    ),
)

GROUPS = {"cache": "Inspect, clean or prune the cache."}


class RunOptions(Record):
    """The global options of one run. ``index_url`` and ``cache_dir`` are what was given (flag or
    environment), None when nothing was: the index is then crates.io's (or what cargo's source
    replacement names), the cache `default_cache_dir()`."""

    index_url: str | None
    cache_dir: str | None
    offline: bool
    refresh: bool
    timeout: float
    token: str | None
    quiet: bool
    verbose: int
    config: tuple[str, ...] = ()
    color: str | None = None
    #: the options that were set, by name: the flag (``--offline``) or variable
    #: (``REGISTRY_OFFLINE``) that set each
    origins: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def defaults(cls) -> RunOptions:
        """Every option at its default (no command line, no environment)."""
        return cls(**{o.name: o.default for o in GLOBAL_OPTIONS})

    @property
    def cache_root(self) -> str:
        return self.cache_dir or default_cache_dir()

    def offline_hint(self, environ: Mapping[str, str]) -> bool:
        """Offline by the command line or the environment alone (cargo's configuration files
        may still say so: :mod:`registry.config.settings`): ``--offline`` /
        ``REGISTRY_OFFLINE``, else ``CARGO_NET_OFFLINE=true``. ``--config`` arguments are not
        read here (the warm paths defer when there are any)."""
        if self.offline or "offline" in self.origins:
            return self.offline
        return environ.get("CARGO_NET_OFFLINE") == "true"

    def color_key(self, isatty: bool, environ: Mapping[str, str]) -> str:
        """What the colours of validate/check's output depend on besides cargo's configuration
        files (term.color): for the null-build fingerprint's key, whose inputs hold the files."""
        auto = wants_color("auto", isatty, environ)
        return f"{self.color}|{environ.get('CARGO_TERM_COLOR')}|{auto}"

    def warn(self, message: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"warning: {message}\n")
            sys.stderr.flush()

    def status(self, message: str) -> None:
        """A line about what the run is waiting for (cargo's "Blocking waiting for file lock
        on package cache"), at once; not with -q."""
        if not self.quiet:
            sys.stderr.write(f"{message}\n")
            sys.stderr.flush()

    def info(self, message: str) -> None:
        if self.verbose:
            sys.stderr.write(f"{message}\n")
            sys.stderr.flush()
