"""Reading the input files (Cargo.lock, Cargo.toml, cargo configuration) from disk into the pure
models of ``query/``: the files edge of the exception tree.

The only place that opens one: every failure becomes one :class:`InputError` line naming the
file (and line/column for TOML syntax errors). Paths may be ``str`` or :class:`os.PathLike`
(no ``pathlib`` import needed here).
"""

from __future__ import annotations

import os

from query import TYPE_CHECKING
from registry.errors import InputError
from registry.options import MAX_INPUT_BYTES

if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from query.lockfile import Lockfile

    StrPath: TypeAlias = "str | os.PathLike[str]"


#: How the messages name a file of each kind: "invalid TOML", "invalid cargo configuration".
TOML = "TOML"
CARGO_CONFIGURATION = "cargo configuration"


def _read_text(path: StrPath, kind: str = TOML) -> str:
    """The UTF-8 text of the file at ``path``, or one clear InputError."""
    noun = "" if kind == TOML else f" {kind}"
    try:
        with open(path, "rb") as file:
            # A regular file's size is known before reading it. A pipe or a device reports 0
            # (/dev/zero never ends), and a file may grow meanwhile: those are read up to the
            # cap, and refused beyond it.
            size = os.fstat(file.fileno()).st_size
            if size <= MAX_INPUT_BYTES:
                raw = file.read(size + 1 if size else MAX_INPUT_BYTES + 1)
                if size and len(raw) > size:
                    raw += file.read(MAX_INPUT_BYTES + 1 - len(raw))
                size = len(raw)
            if size > MAX_INPUT_BYTES:
                raise InputError(
                    f"{path}: too large for a TOML input (over {MAX_INPUT_BYTES >> 20} MiB)"
                )
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read{noun} ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = "" if kind == TOML else f"invalid {kind}: "
        raise InputError(f"{path}: {what}not UTF-8 (byte {exc.start})") from None


def _parse_toml(path: StrPath, text: str, subset: bool, kind: str = TOML) -> dict[str, Any]:
    if subset:
        from query.tomlsubset import parse_subset

        data = parse_subset(text)
        if data is not None:
            return data
        return _parse_toml11(path, text, kind)
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid {kind}: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: invalid {kind}: nested too deeply") from None


def _parse_toml11(path: StrPath, text: str, kind: str) -> dict[str, Any]:
    """The general path for hand-written files: TOML 1.1, as cargo 1.95 reads them (its
    ``toml`` 0.9 parser is ``+spec-1.1.0``: newlines and a trailing comma inside inline tables,
    ``\\e`` and ``\\xHH`` escapes, times without seconds). ``tomli`` >= 2.4 reads TOML 1.1; the
    standard library's ``tomllib`` (3.11) reads only TOML 1.0, and is slower to import and to
    parse (docs/performance.md)."""
    import tomli

    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid {kind}: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: invalid {kind}: nested too deeply") from None


def read_toml(path: StrPath, *, kind: str = TOML) -> tuple[dict[str, Any], str]:
    """Parse a hand-written TOML file (Cargo.toml, cargo configuration); the mapping and its
    text, or one clear InputError. The accelerator :mod:`query.tomlsubset` reads the subset
    such files use; ``tomli`` (TOML 1.1, like cargo) reads anything else and words the errors.
    A UTF-8 byte order mark at the start is skipped, as cargo's lexer skips it; the text
    returned has none (its lines are the file's lines)."""
    text = _read_text(path, kind)
    if text.startswith("\ufeff"):
        text = text[1:]
    return _parse_toml(path, text, True, kind), text


def parse_config_argument(argument: str) -> dict[str, Any]:
    """One ``--config KEY=VALUE`` argument as tables (``http.timeout=60`` ->
    ``{"http": {"timeout": 60}}``), or a UsageError. As in cargo (src/cargo/util/context/
    mod.rs:2341 ``toml_dotted_keys``): one dotted key set to a TOML value that is not an inline
    table; tokens cannot be given this way (mod.rs:1531). Read as TOML 1.1, like the files
    (`_parse_toml11`)."""
    import tomli

    from query.errors import UsageError

    hint = (
        f"--config argument {argument!r} is not a KEY=VALUE expression or an existing file "
        """(e.g. --config http.timeout=60 or --config 'http.proxy="host:3128"')"""
    )
    if (
        "\n" in argument
        or "\r" in argument
        or argument.lstrip().startswith("[")
        or argument.partition("=")[2].lstrip().startswith("{")  # an inline table
    ):
        raise UsageError(hint)
    try:
        data = tomli.loads(argument)
    except (tomli.TOMLDecodeError, RecursionError):
        raise UsageError(hint) from None
    value: Any = data
    keys: list[str] = []
    while isinstance(value, dict):
        if len(value) != 1:
            raise UsageError(hint)
        (key, value), *_ = value.items()
        keys.append(key)
    if keys[0] in ("registry", "registries") and keys[-1] in ("token", "secret-key"):
        raise UsageError(
            f"{'.'.join(keys)} cannot be set through --config for security reasons "
            "(cargo refuses it too): use --token or cargo's credentials"
        )
    return data


def lockfile_text(path: StrPath) -> str:
    """The text of the lockfile at ``path`` (for `load_lockfile`'s ``text``), or one clear
    InputError."""
    return _read_text(path)


def load_lockfile(
    path: StrPath, *, drop_dangling: bool = False, text: str | None = None
) -> Lockfile:
    """Read and model a Cargo.lock (formats v1-v4); ``drop_dangling``: see
    :func:`query.lockfile.lockfile_from_mapping`; ``text``: the file's text, read already
    (`lockfile_text`: a pipe can be read once)."""
    from query.lockfile import REGISTRY_SOURCE_PREFIXES, LockfileError, lockfile_from_mapping
    from query.lockfile_fast import lockfile_from_cargo_text
    from query.names import CrateNameError, validate_crate_name

    if text is None:
        text = _read_text(path)
    # cargo's own layout goes straight from text to model (the accelerator); anything else, or
    # any error, which the general path then words, through tomllib
    lock = lockfile_from_cargo_text(text)
    if lock is None:
        data = _parse_toml(path, text, False)
        try:
            lock = lockfile_from_mapping(data, text, drop_dangling=drop_dangling)
        except LockfileError as exc:
            raise InputError(f"{path}: {exc}") from None
    for package in lock.packages:
        source = package.source
        if source is None or not source.startswith(REGISTRY_SOURCE_PREFIXES):
            continue
        # A registry name no index can hold ("../x", "a/b", NUL, Unicode look-alikes) is
        # malformed input for every command (validate, check, fetch --lockfile), before any
        # request or cache path is made from it.
        try:
            validate_crate_name(package.name)
        except CrateNameError as exc:
            where = f"line {package.line}: " if package.line is not None else ""
            raise InputError(f"{path}: {where}{exc}") from None
    return lock
