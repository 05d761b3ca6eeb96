"""F. The command line fuzzed (hypothesis): every command, every option, the environment
variables, and input files of every kind, against the standard every run must meet:

* no traceback (``registry.cli.run`` returns; nothing escapes it),
* an exit code in {0, 1, 2, 3},
* at most one ``error:`` line (``fetch``'s report: one per crate that failed), and exactly one
  when a run fails without a report (nothing on stdout) and without printing the help; every
  other stderr line is a warning (or, with -v, detail),
* not one byte written outside the cache dir (the whole world is snapshotted around each run).

In-process, so a run costs milliseconds: ``registry.cli.run(argv)`` with its own environment,
working directory, stdout and stderr. Requests go only to 127.0.0.1 (the bundled index served
by a test server, a local index directory, or a port where nothing listens); retry sleeps are
recorded, not slept. The input files are regular files (valid, garbage, binary, empty, 300 MB
sparse), a pipe, /dev/null, a directory and a missing path; /dev/zero, a FIFO and
/dev/stdin need a process of their own: the subprocess cases at the end.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from registry.cli import run
from registry.index.sparse import SparseClient
from registry.options import COMMANDS, FORMATS, GLOBAL_OPTIONS, UNKNOWN_POLICIES, Command
from tests.httpserver import IndexServer
from tests.reliability.support import (
    REPO,
    assert_one_error_line,
    assert_same_tree,
    run_cli,
    snapshot,
)

FIXTURE_INDEX = REPO / "tests" / "fixtures" / "index"
PROJECT = REPO / "tests" / "fixtures" / "projects" / "ripgrep"
#: The environment a run may read, besides each global option's own variable (cargo's own:
#: CARGO_HOME, whose config file may be of any kind, and CARGO_REGISTRIES_<NAME>_{INDEX,TOKEN}).
OTHER_ENV = (
    "REGISTRY_RETRY_SLEEP_MS",
    "REGISTRY_JOBS",
    "_REGISTRY_COMPLETE",
    "http_proxy",
    "CARGO_HOME",
    "CARGO_REGISTRIES_CRATES_IO_TOKEN",
    "CARGO_REGISTRIES_MIRROR_INDEX",
)
#: Each CARGO_HOME a run may be given, by the kind of its ``config.toml``.
CARGO_HOMES = ("plain", "garbage", "binary", "empty", "dir", "huge", "replaced", "missing")


@dataclass
class World:
    """A directory tree for every run: ``work/`` (the cwd: ripgrep's workspace and lockfile),
    ``inputs/`` (files of every kind), ``home/`` (HOME, CARGO_HOME), and the cache dirs a run
    may be given; plus the servers it may talk to."""

    root: Path
    server: IndexServer
    refused: str  # an index URL where nothing listens
    #: The cache dirs a run may be given (the last: $XDG_CACHE_HOME/registry, the default).
    caches: list[Path] = field(default_factory=list)
    #: What a run may write under: each cache dir's own parent, made beforehand (a directory
    #: created in it changes it).
    cache_parents: list[Path] = field(default_factory=list)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(PROJECT, root / "work")
    inputs = root / "inputs"
    inputs.mkdir()
    (inputs / "garbage.toml").write_text('[[package]\nname = "x"\n\x00')
    (inputs / "binary").write_bytes(bytes(range(256)) * 8)
    (inputs / "empty").write_bytes(b"")
    (inputs / "dir").mkdir()
    with (inputs / "huge").open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: no disk, no memory
    (root / "home" / ".cargo").mkdir(parents=True)
    for kind in CARGO_HOMES:
        home = root / "cargo-homes" / kind
        home.mkdir(parents=True)
        config = home / "config.toml"
        if kind == "garbage":
            config.write_text('[source.crates-io]\nreplace-with = \n[[x]\n"\x00')
        elif kind == "binary":
            config.write_bytes(bytes(range(256)) * 8)
        elif kind == "empty":
            config.write_bytes(b"")
        elif kind == "dir":
            config.mkdir()
        elif kind == "huge":
            with config.open("wb") as handle:
                handle.truncate(300 * 1024 * 1024)  # sparse: no disk, no memory
        elif kind == "replaced":  # crates.io replaced by a source that is not there
            config.write_text(
                '[source.crates-io]\nreplace-with = "mirror"\n'
                '[source.mirror]\nregistry = "sparse+http://127.0.0.1:1/"\n'
            )
        elif kind == "missing":
            home.rmdir()
    (root / "cache-is-a-file").write_text("not a directory\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with IndexServer(FIXTURE_INDEX) as server:
        made = World(root, server, f"sparse+http://127.0.0.1:{port}/")
        made.cache_parents = [root / "caches", root / "home" / ".tilde", root / "xdg"]
        made.caches = [
            root / "caches" / "cache",
            root / "caches" / "new" / "deeper",
            root / "home" / ".tilde" / "cache",
            root / "xdg" / "registry",  # the default: $XDG_CACHE_HOME/registry
        ]
        for parent in made.cache_parents:
            parent.mkdir(parents=True)
        yield made


# -- what a run is given ------------------------------------------------------------------------

#: (valid, invalid) values per option or argument name; a valid one is drawn 3 times in 4.
SPECS = (
    ["memchr", "memchr==2.2.1", "memchr@^2", "memchr@>=2.0, <3", "regex==1.3.1", "MEMCHR"],
    [
        "nonexistent-crate",
        "memchr==9.9.9",
        "memchr==not.a.version",
        "memchr@^^2",
        "a/b",
        "../../etc/passwd",
        "\u0455erde",
        "x" * 70,
        "",
        "-",
        "ser de",
        "memchr==1.0.0+build",
    ],
)
TIMEOUTS = (["0.5", "30", "2"], ["nan", "inf", "-inf", "1e300", "-1", "0", "0.05", "3601", "²", ""])
BOOLEANS = (["1", "0", "true", "no", "on"], ["maybe", "", "²"])
PATHS = (
    ["@path:lockfile", "@path:manifest", "@path:pipe", "@path:devnull"],
    [
        "@path:garbage",
        "@path:binary",
        "@path:empty",
        "@path:huge",
        "@path:dir",
        "@path:missing",
    ],
)
# Placeholders, resolved against the world (and a fresh pipe) when the case runs.
INDEX_URLS = (["@local", "@server"], ["@refused", "ftp://x/", "", "http://u:p@127.0.0.1:1/"])
CACHE_DIRS = (["@cache:0", "@cache:1", "~/.tilde/cache"], ["@file"])
VALUES: dict[str, tuple[list[str], list[str]]] = {
    "index_url": INDEX_URLS,
    "cache_dir": CACHE_DIRS,
    "timeout": TIMEOUTS,
    "token": (["t0ken-value"], ["", "a b", "ü"]),
    "fmt": (list(FORMATS), ["xml", ""]),
    "unknown": (list(UNKNOWN_POLICIES), ["maybe"]),
    "lockfile": PATHS,
    "manifest_path": PATHS,
    "spec": SPECS,
    "name": SPECS,
    "names": SPECS,
    "offline": BOOLEANS,
    "older_than": (["30", "0"], ["-1", "x", "nan", "1e400", "9" * 30]),
    "keep": PATHS,
}


@dataclass
class Case:
    """One drawn run: its argv (with placeholders resolved per run) and environment."""

    argv: list[str]
    env: dict[str, str]


def _path(world: World, kind: str, pipes: list[int]) -> str:
    inputs = world.inputs
    if kind == "lockfile":
        return str(world.work / "Cargo.lock")
    if kind == "manifest":
        return str(world.work / "Cargo.toml")
    if kind == "devnull":
        return os.devnull
    if kind == "pipe":
        read, write = os.pipe()
        os.write(write, (world.work / "Cargo.lock").read_bytes()[:60_000])  # fits the buffer
        os.close(write)
        pipes.append(read)
        return f"/dev/fd/{read}"
    return str(
        {
            "garbage": inputs / "garbage.toml",
            "binary": inputs / "binary",
            "empty": inputs / "empty",
            "huge": inputs / "huge",
            "dir": inputs / "dir",
            "missing": inputs / "missing",
        }[kind]
    )


def _resolve(world: World, token: str, pipes: list[int]) -> str:
    flag, eq, value = token.partition("=")
    if eq and flag.startswith("--"):
        return f"{flag}={_resolve(world, value, pipes)}"
    if token.startswith("@path:"):
        return _path(world, token.removeprefix("@path:"), pipes)
    if token == "@local":
        return str(FIXTURE_INDEX)
    if token == "@server":
        return world.server.url
    if token == "@refused":
        return world.refused
    if token.startswith("@cache:"):
        return str(world.caches[int(token.removeprefix("@cache:"))])
    if token == "@file":
        return str(world.root / "cache-is-a-file")
    if token.startswith("@cargo-home:"):
        return str(world.root / "cargo-homes" / token.removeprefix("@cargo-home:"))
    return token


def _values(name: str) -> st.SearchStrategy[str]:
    """What an option's value (or an argument) may be: valid 3 times in 4."""
    valid, invalid = VALUES.get(name, (["x"], [""]))
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(invalid),
    )


@st.composite
def _option(draw: st.DrawFn, option: Any) -> list[str]:
    flag = draw(st.sampled_from(option.flags))
    if option.kind in ("flag", "count"):
        return [flag] * (draw(st.integers(1, 2)) if option.kind == "count" else 1)
    if option.kind == "many":  # --keep A B
        return [flag, *(draw(_values(option.name)) for _ in range(draw(st.integers(1, 3))))]
    value = draw(_values(option.name))
    if flag.startswith("--") and draw(st.booleans()):
        return [f"{flag}={value}"]
    return [flag, value]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    command: Command | str = draw(st.sampled_from([*COMMANDS, *COMMANDS, "", "cache", "nonsense"]))
    before: list[str] = []
    after: list[str] = []
    for option in draw(st.lists(st.sampled_from(GLOBAL_OPTIONS), max_size=4, unique=True)):
        (before if draw(st.booleans()) else after).extend(draw(_option(option)))
    groups: list[list[str]] = []  # an option with its value stays together
    if isinstance(command, str):
        head = [command] if command else []
    else:
        head = command.path.split()
        for option in command.options:
            if draw(st.booleans()):
                groups.append(draw(_option(option)))
        for argument in command.arguments:
            wanted = 1 if argument.required else 0
            count = draw(
                st.integers(0, 3) if argument.many else st.sampled_from([wanted] * 3 + [0, 2])
            )
            groups += [[draw(_values(argument.name))] for _ in range(count)]
    words = [word for group in draw(st.permutations(groups)) for word in group]
    if draw(st.integers(0, 19)) == 0:
        words.append(draw(st.sampled_from(["-h", "--help", "--version", "--", "-x", "--no"])))
    # never crates.io: the index is always one of the world's
    env = {
        "REGISTRY_INDEX_URL": draw(st.sampled_from(["@local", "@server", "@server", "@refused"]))
    }
    for option in GLOBAL_OPTIONS:
        if option.env and option.env != "REGISTRY_INDEX_URL" and draw(st.integers(0, 3)) == 0:
            env[option.env] = draw(_values(option.name))
    if draw(st.integers(0, 3)) == 0:
        env["REGISTRY_RETRY_SLEEP_MS"] = draw(st.sampled_from(["0", "²", "10", "x", "9" * 30]))
    if draw(st.integers(0, 5)) == 0:
        env["REGISTRY_JOBS"] = draw(st.sampled_from(["1", "2", "many"]))
    if draw(st.integers(0, 9)) == 0:
        env["http_proxy"] = "http://127.0.0.1:1/"  # nothing listens: a connect error
    if draw(st.integers(0, 3)) == 0:
        env["CARGO_HOME"] = "@cargo-home:" + draw(st.sampled_from(CARGO_HOMES))
    if draw(st.integers(0, 9)) == 0:
        env["CARGO_REGISTRIES_CRATES_IO_TOKEN"] = draw(st.sampled_from(["t0ken", "", "ü", "a b"]))
    if draw(st.integers(0, 9)) == 0:
        env["CARGO_REGISTRIES_MIRROR_INDEX"] = draw(
            st.sampled_from(["@server", "sparse+http://127.0.0.1:1/", "", "ftp://x/", "²"])
        )
    if draw(st.integers(0, 29)) == 0:
        env["_REGISTRY_COMPLETE"] = draw(
            st.sampled_from(["bash_source", "zsh_source", "fish_source", "bash_complete", "x"])
        )
    return Case([*before, *head, *words, *after], env)


# -- running a case -----------------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


class _Stream(io.TextIOWrapper):
    """A text stream with a ``.buffer`` (the CLI writes raw index lines there), never a TTY."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)

    def text(self) -> str:
        self.flush()
        raw = self.buffer
        assert isinstance(raw, io.BytesIO)
        return raw.getvalue().decode("utf-8", "replace")


def _base_env(world: World) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REGISTRY_", "CARGO_", "_REGISTRY"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    keep.update(
        HOME=str(world.root / "home"),
        CARGO_HOME=str(world.root / "home" / ".cargo"),
        XDG_CACHE_HOME=str(world.root / "xdg"),
        REGISTRY_RETRY_SLEEP_MS="0",
        COLUMNS="100",
    )
    return keep


@contextlib.contextmanager
def _in_world(world: World, env: dict[str, str]) -> Iterator[tuple[_Stream, _Stream]]:
    """The run's environment, cwd, stdout and stderr; retry sleeps recorded, not slept."""
    out, err = _Stream(), _Stream()
    cwd = os.getcwd()
    slept: list[float] = []
    sleep_default = SparseClient.__init__.__kwdefaults__
    with (
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch.dict(sleep_default, {"sleep": slept.append}),
        mock.patch.object(sys, "stdout", out),
        mock.patch.object(sys, "stderr", err),
    ):
        os.chdir(world.work)
        try:
            yield out, err
        finally:
            os.chdir(cwd)


def run_case(world: World, case: Case) -> Ran:
    pipes: list[int] = []
    try:
        argv = [_resolve(world, word, pipes) for word in case.argv]
        env = {**_base_env(world)}
        env.update({k: _resolve(world, v, pipes) for k, v in case.env.items()})
        with _in_world(world, env) as (out, err):
            code = run(argv)  # nothing may escape: an exception here fails the test
        return Ran(code, out.text(), err.text())
    finally:
        for fd in pipes:
            os.close(fd)


def check_standard(case: Case, ran: Ran) -> None:
    where = f"argv={case.argv} env={case.env}\nstdout={ran.stdout[:500]}\nstderr={ran.stderr}"
    assert ran.code in (0, 1, 2, 3), where
    assert "Traceback" not in ran.stderr and "Traceback" not in ran.stdout, where
    lines = ran.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    # fetch's report (its summary on stdout) has one error line per crate that failed
    # (registry/commands/fetch.py); every other run says at most one
    if not ("fetch" in case.argv and ran.stdout.strip()):
        assert len(errors) <= 1, where
    helped = ran.stdout.startswith("Usage:")
    completing = "_REGISTRY_COMPLETE" in case.env
    if ran.code != 0 and not ran.stdout.strip() and not completing:
        assert len(errors) == 1, where
    if ran.code == 2 and not helped and not completing:
        assert len(errors) == 1, where
    verbose = any(word in ("-v", "--verbose") or word.startswith("-v") for word in case.argv)
    if not verbose and not completing:
        for line in lines:
            assert line.startswith(("error: ", "warning: ", "Blocking waiting")), where


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_cli_fuzz(world: World, case: Case) -> None:
    before = snapshot(world.root, exclude=world.cache_parents)
    ran = run_case(world, case)
    check_standard(case, ran)
    assert_same_tree(before, snapshot(world.root, exclude=world.cache_parents))
    command = next((w for w in case.argv if w in COMMAND_WORDS), "(none)")
    event(f"{command}: exit {ran.code}")  # pytest --hypothesis-show-statistics


COMMAND_WORDS = {command.path.split()[-1] for command in COMMANDS}


# -- cases chosen by hand: what was once a traceback, or the help squashed into one line --------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "NaN", "-1", "0", "3601", "²"])
@pytest.mark.parametrize("how", ["option", "env"])
def test_timeout_out_of_range_is_one_error_line(world: World, value: str, how: str) -> None:
    argv = ["query", "memchr"] + (["--timeout", value] if how == "option" else [])
    env = {"REGISTRY_INDEX_URL": "@server"}
    if how == "env":
        env["REGISTRY_TIMEOUT"] = value
    case = Case(argv, env)
    ran = run_case(world, case)
    check_standard(case, ran)
    assert ran.code == 2
    assert "--timeout" in ran.stderr and "number of seconds" in ran.stderr


@pytest.mark.parametrize(("argv", "group"), [([], ""), (["cache"], "cache")])
def test_bare_command_prints_the_help(world: World, argv: list[str], group: str) -> None:
    """Bare ``registry`` and ``registry cache``: the normal help on stdout, exit 2 (nothing
    was run), not an ``error:`` line."""
    ran = run_case(world, Case(argv, {}))
    assert ran.code == 2
    assert ran.stderr == ""
    assert ran.stdout.startswith(f"Usage: registry {group}".rstrip())
    assert "Commands:" in ran.stdout
    if not group:
        assert "Limits:" in ran.stdout  # every limit is in the help


# -- input files a process of its own must read -------------------------------------------------

#: (argv, expected exit code, what the one error line names) per input kind.
DEVICE_CASES = {
    "validate-dev-zero": (["validate", "/dev/zero"], 2, "/dev/zero"),
    "check-dev-zero": (["check", "--manifest-path", "/dev/zero"], 2, "/dev/zero"),
    "fetch-lockfile-dev-zero": (["fetch", "--lockfile", "/dev/zero"], 2, "/dev/zero"),
    "validate-dev-null": (["validate", "/dev/null"], 0, None),
    "validate-dir": (["validate", "."], 2, "directory"),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CASES))
def test_device_input_in_a_process(world: World, tmp_path: Path, name: str) -> None:
    """/dev/zero never ends: it is read up to the 256 MiB cap and refused (bounded memory);
    /dev/null is an empty lockfile; a directory is one error line."""
    argv, code, needle = DEVICE_CASES[name]
    before = snapshot(world.root, exclude=world.cache_parents)
    cache = tmp_path / "cache"
    result = run_cli(
        ["--index-url", str(FIXTURE_INDEX), "--cache-dir", str(cache), *argv],
        home=tmp_path / "home",
        cwd=world.work,
    )
    if needle is None:
        assert result.code == code, result.stderr
        assert result.stderr == ""
    else:
        assert_one_error_line(result, needle, code=code)
    assert result.maxrss_kib < 400 * 1024  # the cap, not all the memory there is
    assert_same_tree(before, snapshot(world.root, exclude=world.cache_parents))


def validate_argv(tmp_path: Path, lockfile: str) -> list[str]:
    """``validate LOCKFILE`` against the fixture index, with a cache of its own."""
    return [
        "--index-url",
        str(FIXTURE_INDEX),
        "--cache-dir",
        str(tmp_path / "c"),
        "validate",
        lockfile,
    ]


def test_fifo_lockfile_in_a_process(world: World, tmp_path: Path) -> None:
    """A named pipe is read to its end like a file (its writer here: a thread)."""
    fifo = tmp_path / "lock.fifo"
    os.mkfifo(fifo)
    data = (world.work / "Cargo.lock").read_bytes()

    def writer() -> None:
        with fifo.open("wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = run_cli(validate_argv(tmp_path, str(fifo)), home=tmp_path / "home")
    finally:
        thread.join(60)
    assert result.code == 0, result.stderr
    assert "sound" in result.stdout


def test_stdin_lockfile_in_a_process(world: World, tmp_path: Path) -> None:
    """``registry validate /dev/stdin < Cargo.lock``: a pipe as the input (its size unknown)."""
    with (world.work / "Cargo.lock").open("rb") as lockfile:
        result = run_cli(
            validate_argv(tmp_path, "/dev/stdin"), home=tmp_path / "home", stdin=lockfile.fileno()
        )
    assert result.code == 0, result.stderr
    assert "sound" in result.stdout
