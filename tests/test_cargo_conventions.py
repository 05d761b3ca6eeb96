"""What a cargo user expects of a tool on the command line, each asked of cargo where cargo has
an answer:

* ``validate`` and ``check`` find the project upward from the current directory: the nearest
  Cargo.toml, its workspace root, the lockfile next to it (``cargo locate-project
  --workspace`` names the root);
* one rule picks the index of every command: crates.io, unless --index-url or cargo's source
  replacement (``[source.crates-io] replace-with``) says otherwise: ``query``, ``versions``,
  ``fetch NAME`` and ``cache dir`` as much as ``validate`` and ``check``;
* ``cargo registry ...`` runs registry (the ``cargo-registry`` console script on PATH);
* global options before or after the subcommand; ``~`` in --cache-dir, REGISTRY_CACHE_DIR and
  the Python API's ``cache_dir=``;
* colours: ``--color``, ``term.color`` / ``CARGO_TERM_COLOR``, ``NO_COLOR``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cache.dirhash import source_dir_name
from registry.cli import run
from tests.checkutil import INDEX, PROJECTS
from tests.httpserver import IndexServer

Cli = Callable[..., tuple[int, str, str]]
RED = "\x1b[31m"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("REGISTRY_RETRY_SLEEP_MS", "0")
    for name in ("REGISTRY_INDEX_URL", "REGISTRY_CACHE_DIR", "REGISTRY_OFFLINE", "REGISTRY_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return invoke


@pytest.fixture
def ripgrep(tmp_path: Path) -> Path:
    target = tmp_path / "ripgrep"
    shutil.copytree(PROJECTS / "ripgrep", target)
    (target / "Cargo.lock").write_bytes((target / "Cargo.lock.v4").read_bytes())
    return target


# --- the project, found upward --------------------------------------------------------------


def cargo_root_manifest(cargo: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    return subprocess.run(
        [cargo, "locate-project", "--workspace", "--message-format", "plain", "--offline"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.cargo
@pytest.mark.parametrize(
    "where", [".", "src", "grep", "grep/src", "grep/examples", "crates-free/deep/dir", "tests"]
)
def test_the_lockfile_is_the_one_of_cargos_workspace_root(
    ripgrep: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set")
        pytest.skip("cargo is not installed")
    from registry.locate import find_lockfile, find_manifest

    start = ripgrep / where
    start.mkdir(parents=True, exist_ok=True)
    located = cargo_root_manifest(cargo, start)
    assert located.returncode == 0, located.stderr
    root = Path(located.stdout.strip()).parent
    monkeypatch.chdir(start)
    assert Path(find_lockfile()).resolve() == root / "Cargo.lock"
    nearest = Path(find_manifest()).resolve()
    assert nearest.parent in (start, *start.parents) and nearest.name == "Cargo.toml"


@pytest.mark.cargo
def test_no_manifest_anywhere_is_an_error_for_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed")
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    located = cargo_root_manifest(cargo, nowhere)
    assert located.returncode != 0
    assert "could not find `Cargo.toml` in" in located.stderr
    monkeypatch.chdir(nowhere)
    code, out, err = cli("--index-url", str(INDEX), "check")
    assert (code, out) == (2, "")
    assert err.startswith("error: could not find `Cargo.toml` in") and len(err.splitlines()) == 1
    # validate falls back on ./Cargo.lock, a bare lockfile: missing here
    code, out, err = cli("--index-url", str(INDEX), "validate")
    assert (code, out) == (2, "")
    assert "Cargo.lock: no such file" in err


@pytest.mark.parametrize("where", ["grep/src", "grep", "src"])
def test_validate_and_check_work_from_inside_the_project(
    ripgrep: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli, tmp_path: Path, where: str
) -> None:
    monkeypatch.chdir(ripgrep / where)
    lock = os.path.relpath(ripgrep / "Cargo.lock")
    common = ("--index-url", str(INDEX), "--cache-dir", str(tmp_path / "c"))
    code, out, err = cli(*common, "validate")
    assert code == 0, err
    assert out.startswith(f"{lock}: sound (65 packages checked, 10 skipped)")
    for extra in ((), ("--no-fingerprint",)):
        code, out, err = cli(*common, "check", *extra)
        assert code == 0, err
        assert "up to date (65 packages checked, 10 skipped)" in out
    # and a problem found from a subdirectory names the root's lockfile
    text = (ripgrep / "Cargo.lock").read_text()
    (ripgrep / "Cargo.lock").write_text(
        text.replace('name = "regex"\nversion = "1.', 'name = "regex"\nversion = "9.', 1)
    )
    code, out, err = cli(*common, "validate")
    assert code == 1 and out.startswith(f"{lock}: ")


# --- one rule for the index of every command ------------------------------------------------


@pytest.fixture
def mirrored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IndexServer]:
    """The current directory is a project whose .cargo/config.toml replaces crates.io by a
    served copy of the bundled index."""
    with IndexServer(INDEX) as mirror:
        project = tmp_path / "proj"
        (project / ".cargo").mkdir(parents=True)
        (project / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "mirror"\n\n'
            f'[source.mirror]\nregistry = "sparse+{mirror.url}"\n'
        )
        monkeypatch.chdir(project)
        yield mirror


def test_every_command_asks_the_replacement(
    mirrored: IndexServer, cli: Cli, tmp_path: Path
) -> None:
    cache = ("--cache-dir", str(tmp_path / "c"))
    code, out, err = cli(*cache, "query", "log")
    assert code == 0, err
    assert out.startswith("log 0.4.")
    assert {r.rel for r in mirrored.requests} == {"config.json", "3/l/log"}
    for args in (("query", "serde==1.0.102"), ("versions", "cfg-if"), ("fetch", "memchr")):
        mirrored.clear_requests()
        code, out, err = cli(*cache, *args)
        assert code == 0, (args, err)
        assert mirrored.requests, args
    code, out, err = cli(*cache, "cache", "dir")
    expected = tmp_path / "c" / "registry" / "index" / source_dir_name("sparse+" + mirrored.url)
    assert (code, out) == (0, f"{expected}\n")
    # --index-url wins over the replacement, as it does for validate
    mirrored.clear_requests()
    code, out, err = cli(*cache, "--index-url", str(INDEX), "query", "log")
    assert code == 0 and mirrored.requests == []


def test_the_warm_exact_query_answers_from_the_replacements_cache(
    mirrored: IndexServer, tmp_path: Path
) -> None:
    """A subprocess (the accelerator `warm_exact` runs there): offline, the exact query is
    answered from the mirror's cache entry that ``fetch`` wrote."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_CACHE_DIR"] = str(tmp_path / "c")

    def registry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "registry", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert registry("fetch", "serde").returncode == 0
    mirrored.clear_requests()
    done = registry("--offline", "query", "serde==1.0.102")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("serde 1.0.102") and mirrored.requests == []


def test_a_replacement_that_is_no_sparse_index_is_one_error_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "vendored"
    (project / ".cargo").mkdir(parents=True)
    config = project / ".cargo" / "config.toml"
    config.write_text(
        '[source.crates-io]\nreplace-with = "vendored-sources"\n\n'
        '[source.vendored-sources]\ndirectory = "vendor"\n'
    )
    monkeypatch.chdir(project)
    code, out, err = cli("--cache-dir", str(tmp_path / "c"), "query", "log")
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith("error: crates.io is replaced in ") and str(config) in line
    assert "vendored-sources" in line and "--index-url" in line


# --- cargo registry ... ---------------------------------------------------------------------


def test_cargo_entry_drops_the_subcommand_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import registry.__main__ as entry_module

    seen: list[list[str]] = []
    monkeypatch.setattr(entry_module, "entry", lambda: seen.append(sys.argv[1:]))
    for argv, expected in (
        (["cargo-registry", "registry", "query", "x"], ["query", "x"]),
        (["cargo-registry", "registry"], []),
        (["cargo-registry", "query", "x"], ["query", "x"]),  # run directly: nothing to drop
    ):
        monkeypatch.setattr(sys, "argv", list(argv))
        entry_module.cargo_entry()
        assert seen.pop() == expected


@pytest.mark.cargo
def test_cargo_runs_registry_as_a_subcommand(tmp_path: Path) -> None:
    cargo = shutil.which("cargo")
    script = Path(sys.executable).parent / "cargo-registry"
    if cargo is None or not script.exists():
        if os.environ.get("CI"):
            pytest.fail("cargo, or the cargo-registry script (pip install -e .), is missing")
        pytest.skip("cargo or the cargo-registry console script is missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["PATH"] = f"{script.parent}{os.pathsep}{env.get('PATH', '')}"

    def cargo_registry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [cargo, "registry", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    from registry import __version__

    done = cargo_registry("--version")
    assert (done.returncode, done.stdout) == (0, f"registry, version {__version__}\n")
    cache = str(tmp_path / "c")
    done = cargo_registry(
        "--index-url", str(INDEX), "--cache-dir", cache, "query", "serde==1.0.102"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("serde 1.0.102\n")
    done = cargo_registry(
        "query", "serde==1.0.102", "--index-url", str(INDEX), "-q", "--cache-dir", cache
    )
    assert done.returncode == 0 and done.stdout.startswith("serde 1.0.102\n")
    done = cargo_registry("no-such-command")
    assert done.returncode == 2 and done.stderr.startswith("error: no such command")


# --- global options anywhere; ~ ---------------------------------------------------------------


def test_global_options_after_the_subcommand(cli: Cli, tmp_path: Path) -> None:
    before = cli(
        "-q", "--index-url", str(INDEX), "--cache-dir", str(tmp_path / "c"), "fetch", "log"
    )
    after = cli("fetch", "-q", "log", "--index-url", str(INDEX), "--cache-dir", str(tmp_path / "c"))
    assert before == after == (0, "", "")
    verbose = cli("fetch", "log", "-v", f"--index-url={INDEX}", "--cache-dir", str(tmp_path / "c"))
    assert verbose[0] == 0 and "1 crates:" in verbose[1] and verbose[2]


def test_tilde_is_expanded_in_the_cache_dir_everywhere(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    expected = home / "cache" / "registry" / "index"
    code, out, _ = cli("--index-url", str(INDEX), "--cache-dir", "~/cache", "cache", "dir")
    assert code == 0 and out.startswith(f"{expected}/")
    monkeypatch.setenv("REGISTRY_CACHE_DIR", "~/cache")
    code, out, _ = cli("--index-url", str(INDEX), "cache", "dir")
    assert code == 0 and out.startswith(f"{expected}/")

    from registry import Registry

    with Registry(str(INDEX), cache_dir="~/api-cache") as reg:
        assert reg.cache_root == home / "api-cache"
        assert reg.get("serde", "1.0.102").vers == "1.0.102"
    assert (home / "api-cache" / "registry").is_dir()
    assert not (tmp_path / "~").exists()


# --- colours ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "environ", "config", "colored"),
    [
        ((), {}, "", False),  # not a terminal
        (("--color", "always"), {}, "", True),
        (("--color", "always"), {"NO_COLOR": "1"}, "", True),
        (("--color", "never"), {"CARGO_TERM_COLOR": "always"}, "", False),
        ((), {"CARGO_TERM_COLOR": "always"}, "", True),
        ((), {"CARGO_TERM_COLOR": "always"}, 'color = "never"', True),
        ((), {}, 'color = "always"', True),
        (("--config", 'term.color="always"'), {"CARGO_TERM_COLOR": "never"}, "", True),
        ((), {"CLICOLOR_FORCE": "1"}, "", True),
        ((), {"CLICOLOR_FORCE": "1", "CARGO_TERM_COLOR": "never"}, "", False),
    ],
)
def test_colours_of_validate_and_check(
    ripgrep: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Cli,
    tmp_path: Path,
    args: tuple[str, ...],
    environ: dict[str, str],
    config: str,
    colored: bool,
) -> None:
    text = (ripgrep / "Cargo.lock").read_text()
    (ripgrep / "Cargo.lock").write_text(
        text.replace('name = "regex"\nversion = "1.', 'name = "regex"\nversion = "9.', 1)
    )
    if config:
        (ripgrep / ".cargo").mkdir()
        (ripgrep / ".cargo" / "config.toml").write_text(f"[term]\n{config}\n")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ripgrep)
    common = ("--index-url", str(INDEX), "--cache-dir", str(tmp_path / "c"), *args)
    for command in (("validate",), ("check",), ("check",)):  # the second check: a replay
        code, out, _ = cli(*common, *command)
        assert code == 1
        assert (RED in out) is colored, (command, out)
        code, out, _ = cli(*common, *command, "--format", "json")
        assert "\x1b" not in out


def test_the_token_goes_to_the_replacement_that_is_the_runs_index(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--token is for the run's own index: crates.io's replacement when there is one (an
    auth-required mirror), never another host."""
    import json

    index = tmp_path / "private-index"
    shutil.copytree(INDEX, index)
    config = json.loads((index / "config.json").read_text())
    (index / "config.json").write_text(json.dumps({**config, "auth-required": True}))
    token = "Bearer mirror-token"
    with IndexServer(index, auth_token=token) as mirror:
        project = tmp_path / "proj"
        (project / ".cargo").mkdir(parents=True)
        (project / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "mirror"\n\n'
            f'[source.mirror]\nregistry = "sparse+{mirror.url}"\n'
        )
        monkeypatch.chdir(project)
        cache = ("--cache-dir", str(tmp_path / "c"))
        code, out, err = cli(*cache, "query", "log")
        assert code == 3 and "token" in err
        code, out, err = cli(*cache, "--token", token, "query", "log")
        assert code == 0, err
        assert out.startswith("log 0.4.")
        assert all(r.header("authorization") in (None, token) for r in mirror.requests)
