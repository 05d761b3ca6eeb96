"""The warm paths of ``registry query NAME==VERSION`` and ``registry check``, without click.

A null build asks exact questions of a warm cache, so this path costs about one interpreter
start: it parses the few arguments it knows, finds ``\\0<version>\\0`` in one cache file and
deserializes that single line with the stdlib ``json`` (for one blob it is faster to import than
orjson: ~8 ms against ~25 ms, measured here).

It answers only when the answer cannot differ from the full CLI's: an exact query, a sparse
index, and either ``--offline`` or a cache entry still fresh by the server's ``max-age``.
Anything else (another option, a miss, a corrupt entry, a mismatched blob) returns None and the
full CLI runs, producing the same output or the proper error. Output comes from
``registry.render``, which the full CLI uses too.

``check`` in the plain CI shape (``[--offline] check [--manifest-path P] [--format F]
[--unknown U] [--deny-yanked] [--no-fingerprint]``) runs ``registry.checkcmd`` directly: the
fingerprint hit then costs an interpreter start plus hashing the inputs (click alone would
add ~35 ms), and the full check shares exactly the click command's code.

``fetch [NAMES] [--lockfile P]`` (with ``--refresh``, ``--offline``, ``-q``) runs
``registry.fetchcmd`` directly unless a progress bar is to be drawn (stderr is a terminal).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off", ""})


def _env_flag(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None:
        return False
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _globals(args: Sequence[str], command: str) -> tuple[dict[str, str], int] | None:
    """Global options before ``command``: their values and the command's index, else None."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == command:
            return values, i
        if arg in ("--offline", "-q", "--quiet", "--refresh"):
            values[arg.lstrip("-")[:1]] = "1"
        elif arg in ("--index-url", "--cache-dir") and i + 1 < len(args):
            values[arg] = args[i + 1]
            i += 1
        elif arg.startswith(("--index-url=", "--cache-dir=")):
            key, _, value = arg.partition("=")
            values[key] = value
        else:
            return None
        i += 1
    return None


_CHECK_CHOICES = {
    "--format": ("human", "json", "github", "sarif"),
    "--unknown": ("error", "warn", "ignore"),
}


def try_fast_check(args: Sequence[str]) -> int | None:
    """Run ``check`` without click when the arguments have the plain CI shape."""
    found = _globals(args, "check")
    if found is None:
        return None
    values, at = found
    env_offline = _env_flag("REGISTRY_OFFLINE")
    if env_offline is None or ("r" in values and ("o" in values or env_offline)):
        return None  # --offline with --refresh: the full CLI says they contradict
    options: dict[str, str] = {}
    flags: set[str] = set()
    rest = list(args[at + 1 :])
    while rest:
        arg = rest.pop(0)
        key, eq, value = arg.partition("=")
        if key in ("--manifest-path", *_CHECK_CHOICES):
            if not eq:
                if not rest:
                    return None
                value = rest.pop(0)
            if key in _CHECK_CHOICES and value not in _CHECK_CHOICES[key]:
                return None
            options[key] = value
        elif arg in ("--deny-yanked", "--no-fingerprint"):
            flags.add(arg)
        else:
            return None

    from registry.checkcmd import CheckRequest, execute
    from registry.guard import guarded

    usable, explicit = _explicit_index_url(values)
    timeout = _timeout()
    if not usable or timeout is None:
        return None
    request = CheckRequest(
        manifest_path=options.get("--manifest-path", "Cargo.toml"),
        fmt=options.get("--format", "human"),
        unknown=options.get("--unknown", "error"),
        deny_yanked="--deny-yanked" in flags,
        no_fingerprint="--no-fingerprint" in flags,
        cache_dir=values.get("--cache-dir") or os.environ.get("REGISTRY_CACHE_DIR") or None,
        offline="o" in values or env_offline,
        refresh="r" in values,
        token=os.environ.get("REGISTRY_TOKEN") or None,
        index_url=explicit,
        quiet="q" in values,
        timeout=timeout,
    )

    def action() -> int:
        text, code = execute(request)
        if text:
            sys.stdout.write(text + "\n")
        return code

    return guarded(action)


def _explicit_index_url(values: dict[str, str]) -> tuple[bool, str | None]:
    """(usable, URL): the source URL of an explicitly given --index-url (flag or env), None
    when none was given; not usable when it does not parse (the full CLI then reports it)."""
    from registry.errors import UsageError
    from registry.source import parse_index_url

    index_url = values.get("--index-url") or os.environ.get("REGISTRY_INDEX_URL")
    if not index_url:
        return True, None
    try:
        return True, parse_index_url(index_url).url
    except UsageError:
        return False, None


def _timeout() -> float | None:
    """REGISTRY_TIMEOUT as the full CLI reads it, or None when the full CLI must refuse it."""
    try:
        timeout = float(os.environ.get("REGISTRY_TIMEOUT") or 30.0)
    except ValueError:
        return None
    return timeout if timeout >= 0.1 else None


def try_fast_fetch(args: Sequence[str]) -> int | None:
    """Run ``fetch [NAMES] [--lockfile P]`` without click when no progress bar is drawn."""
    found = _globals(args, "fetch")
    if found is None:
        return None
    values, at = found
    env_offline = _env_flag("REGISTRY_OFFLINE")
    offline = "o" in values or bool(env_offline)
    if env_offline is None or ("r" in values and offline):
        return None
    quiet = "q" in values
    if not quiet and sys.stderr.isatty():
        return None  # the click command draws the progress bar
    names: list[str] = []
    lockfile: str | None = None
    rest = list(args[at + 1 :])
    while rest:
        arg = rest.pop(0)
        if arg == "--lockfile" and rest and lockfile is None:
            lockfile = rest.pop(0)
        elif arg.startswith("--lockfile=") and lockfile is None:
            lockfile = arg.partition("=")[2]
        elif arg.startswith("-") or not arg:
            return None
        else:
            names.append(arg)
    usable, explicit = _explicit_index_url(values)
    timeout = _timeout()
    if (not names and not lockfile) or not usable or timeout is None:
        return None

    from query.cargo_facts import CRATES_IO_SPARSE
    from registry.fetchcmd import FetchRequest, execute
    from registry.guard import guarded

    request = FetchRequest(
        tuple(names),
        lockfile,
        index_url=values.get("--index-url")
        or os.environ.get("REGISTRY_INDEX_URL")
        or CRATES_IO_SPARSE,
        explicit_index_url=explicit,
        cache_dir=values.get("--cache-dir") or os.environ.get("REGISTRY_CACHE_DIR") or None,
        offline=offline,
        refresh="r" in values,
        token=os.environ.get("REGISTRY_TOKEN") or None,
        quiet=quiet,
        timeout=timeout,
    )
    return guarded(lambda: execute(request))


def _parse(args: Sequence[str]) -> tuple[dict[str, str], bool, str, bool] | None:
    """(global values, offline, spec, as_json) for the one shape handled here, else None."""
    found = _globals(args, "query")
    if found is None:
        return None
    values, at = found
    rest = list(args[at + 1 :])
    as_json = "--json" in rest
    rest = [a for a in rest if a != "--json"]
    if len(rest) != 1 or rest[0].startswith("-"):
        return None
    return values, "o" in values, rest[0], as_json


def try_fast_query(args: Sequence[str]) -> int | None:
    """Answer a warm exact query and return 0, or return None to defer to the full CLI."""
    parsed = _parse(args)
    if parsed is None:
        return None
    values, offline, spec_text, as_json = parsed
    if "r" in values:
        return None  # --refresh revalidates: the full CLI
    env_offline = _env_flag("REGISTRY_OFFLINE")
    if env_offline is None:
        return None
    offline = offline or env_offline

    from query.spec import QuerySpecError, parse_query_spec

    try:
        spec = parse_query_spec(spec_text)
    except QuerySpecError:
        return None
    if spec.exact is None:
        return None

    from cache.format import CacheFormatError, find_exact
    from query.cargo_facts import CRATES_IO_SPARSE
    from query.names import index_path
    from registry.errors import UsageError
    from registry.paths import default_cache_dir
    from registry.source import SPARSE, parse_index_url

    index_url = (
        values.get("--index-url") or os.environ.get("REGISTRY_INDEX_URL") or CRATES_IO_SPARSE
    )
    cache_dir = values.get("--cache-dir") or os.environ.get("REGISTRY_CACHE_DIR")
    try:
        source = parse_index_url(index_url)
    except UsageError:
        return None
    if source.kind != SPARSE:
        return None
    root = cache_dir or default_cache_dir()
    index_dir = os.path.join(root, "registry", "index", source.dir_name)
    rel = index_path(spec.name)
    if not offline:
        from cache.freshness import is_fresh, read_max_age

        fresh = read_max_age(os.path.join(index_dir, ".registry", "fresh", rel))
        if fresh is None or not is_fresh(fresh[0], fresh[1], time.time()):
            return None
    from cache.integrity import FOREIGN, INTACT, VERIFIED, check_file

    try:
        with open(os.path.join(index_dir, ".cache", rel), "rb", buffering=0) as handle:
            data = handle.readall()
            # Bytes we wrote that changed since are never trusted (the full CLI refetches or
            # says so); a file cargo rewrote is used offline, as the full CLI does.
            state = check_file(data, handle.fileno(), index_dir, rel)
        blob = find_exact(data, spec.exact)
    except (OSError, CacheFormatError):
        return None
    if blob is None:
        return None
    if state not in (VERIFIED, INTACT) and not (offline and state == FOREIGN):
        return None

    from registry.jsonline import UNDECIDED, loads_plain

    # Parsed as the full CLI does, or deferred to it when only orjson may judge the line.
    entry = loads_plain(blob)
    if entry is UNDECIDED:
        return None
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("name"), str)
        or entry["name"].lower() != spec.name.lower()
        or entry.get("vers") != spec.exact
    ):
        return None
    if as_json:
        sys.stdout.buffer.write(blob.rstrip(b"\r") + b"\n")
        sys.stdout.buffer.flush()
    else:
        from registry.render import render_entry

        sys.stdout.write(render_entry(entry) + "\n")
    return 0
