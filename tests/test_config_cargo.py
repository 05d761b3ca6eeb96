"""cargo's configuration, asked of cargo: registry takes each setting from the layer cargo takes it
from, and obeys net.retry and net.offline as cargo does.

The probe is ``http.user-agent``: both tools send it with every request, so the served index
(tests/httpserver.py, which logs every request) shows which layer won, for cargo
(``cargo generate-lockfile`` of a one-dependency project) and for registry (``registry fetch
log`` in the same directory, with the same files and variables, no --index-url: crates.io is
replaced in $CARGO_HOME/config.toml, so this also shows ``fetch NAME`` obeying source
replacement). Each row also states the winner cargo's documentation gives, so a row that stopped
testing anything is noticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import Fault, IndexServer
from tests.reliability.support import FIXTURE_INDEX, CliResult, assert_one_error_line, run_cli

pytestmark = pytest.mark.cargo


@pytest.fixture(scope="module")
def cargo() -> str:
    path = shutil.which("cargo")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: these tests must run")
        pytest.skip("cargo is not installed (set CI=1 to make this a failure)")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[IndexServer]:
    with IndexServer(FIXTURE_INDEX) as running:
        yield running


class World:
    """$HOME (with $CARGO_HOME = ~/.cargo replacing crates.io by the served index) and a
    project ``ws/crates/a`` depending on ``log``."""

    def __init__(self, root: Path, server: IndexServer, cargo: str) -> None:
        self.root = root
        self.server = server
        self.cargo_bin = cargo
        self.home = root / "home"
        self.cargo_home = self.home / ".cargo"
        self.cargo_home.mkdir(parents=True)
        self.project = root / "ws" / "crates" / "a"
        (self.project / "src").mkdir(parents=True)
        (self.project / "src" / "lib.rs").write_text("")
        (self.project / "Cargo.toml").write_text(
            '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nlog = "0.4"\n'
        )
        self.replacement = (
            '[source.crates-io]\nreplace-with = "mirror"\n\n'
            f'[source.mirror]\nregistry = "sparse+{server.url}"\n'
        )
        self.runs = 0

    def files(self) -> dict[str, Path]:
        return {
            "near config": self.project / ".cargo" / "config",
            "near config.toml": self.project / ".cargo" / "config.toml",
            "parent config.toml": self.root / "ws" / ".cargo" / "config.toml",
            "$CARGO_HOME/config.toml": self.cargo_home / "config.toml",
        }

    def set_layers(self, layers: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """Write http.user-agent into the file layers named; the --config arguments and the
        variables for the others."""
        for name, path in self.files().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            text = self.replacement if name == "$CARGO_HOME/config.toml" else ""
            if name in layers:
                text += f'\n[http]\nuser-agent = "{layers[name]}"\n' if layers[name] else "\n"
                path.write_text(text)
            elif name == "$CARGO_HOME/config.toml":
                path.write_text(text)
            elif path.exists():
                path.unlink()
        cli = [f'http.user-agent="{layers["--config"]}"'] if "--config" in layers else []
        env = (
            {"CARGO_HTTP_USER_AGENT": layers["CARGO_HTTP_USER_AGENT"]}
            if "CARGO_HTTP_USER_AGENT" in layers
            else {}
        )
        return cli, env

    def cargo(
        self, *args: str, env: dict[str, str] | None = None, keep_lock: bool = False
    ) -> subprocess.CompletedProcess[str]:
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CARGO_", "REGISTRY_", "SSL_CERT"))
            and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        # rustup's proxy finds its toolchains under the real home
        rustup = os.environ.get("RUSTUP_HOME") or os.path.expanduser("~/.rustup")
        environ.update(
            HOME=str(self.home),
            RUSTUP_HOME=rustup,
            CARGO_HOME=str(self.cargo_home),
            CARGO_TERM_COLOR="never",
            __CARGO_TEST_FIXED_RETRY_SLEEP_MS="0",
            **(env or {}),
        )
        if not keep_lock:
            (self.project / "Cargo.lock").unlink(missing_ok=True)
        return subprocess.run(
            [self.cargo_bin, *args],
            cwd=self.project,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def registry(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        self.runs += 1
        cache = self.root / f"registry-cache-{self.runs}"
        return run_cli(
            ["--cache-dir", str(cache), *args], home=self.home, cwd=self.project, env=env
        )

    def agents(self) -> set[str]:
        found = {r.header("user-agent") or "" for r in self.server.requests}
        self.server.clear_requests()
        return found


@pytest.fixture
def world(tmp_path: Path, server: IndexServer, cargo: str) -> World:
    server.clear_requests()
    return World(tmp_path, server, cargo)


#: (layers, the winner cargo's documentation gives): the command line, the environment, then the
#: files nearest first ($CARGO_HOME's last); ``config`` before ``config.toml`` in a directory.
ROWS = [
    ({"$CARGO_HOME/config.toml": "home"}, "home"),
    ({"$CARGO_HOME/config.toml": "home", "parent config.toml": "parent"}, "parent"),
    (
        {
            "$CARGO_HOME/config.toml": "home",
            "parent config.toml": "parent",
            "near config.toml": "near",
        },
        "near",
    ),
    ({"near config.toml": "near-toml", "near config": "near-plain"}, "near-plain"),
    ({"near config.toml": "near", "CARGO_HTTP_USER_AGENT": "env"}, "env"),
    ({"CARGO_HTTP_USER_AGENT": "env", "--config": "cli", "near config": "near"}, "cli"),
    ({"--config": "cli", "$CARGO_HOME/config.toml": "home"}, "cli"),
]


@pytest.mark.parametrize(
    ("layers", "winner"), ROWS, ids=[w + str(len(layers)) for layers, w in ROWS]
)
def test_user_agent_comes_from_the_layer_cargo_takes_it_from(
    world: World, layers: dict[str, str], winner: str
) -> None:
    cli, env = world.set_layers(layers)
    done = world.cargo("generate-lockfile", *(a for c in cli for a in ("--config", c)), env=env)
    assert done.returncode == 0, done.stderr
    assert world.agents() == {winner}
    result = world.registry(*(a for c in cli for a in ("--config", c)), "fetch", "log", env=env)
    assert result.code == 0, result.stderr
    assert world.agents() == {winner}


def test_config_without_extension_hides_config_toml_for_both(world: World) -> None:
    """``.cargo/config`` without the key and ``.cargo/config.toml`` with it: cargo reads only
    the first, so neither tool sends the configured agent."""
    world.set_layers({"near config": "", "near config.toml": "ignored"})
    done = world.cargo("generate-lockfile")
    assert done.returncode == 0, done.stderr
    (theirs,) = world.agents()
    assert theirs.startswith("cargo/")
    result = world.registry("fetch", "log")
    assert result.code == 0, result.stderr
    (ours,) = world.agents()
    assert ours.startswith("registry/")


@pytest.mark.parametrize(
    ("how", "env", "toml"),
    [
        ("CARGO_NET_OFFLINE", {"CARGO_NET_OFFLINE": "true"}, ""),
        ("net.offline", {}, "[net]\noffline = true\n"),
    ],
)
def test_net_offline_makes_no_request_in_either(
    world: World, how: str, env: dict[str, str], toml: str
) -> None:
    world.set_layers({})
    (world.project / ".cargo").mkdir(exist_ok=True)
    (world.project / ".cargo" / "config.toml").write_text(toml)
    done = world.cargo("generate-lockfile", env=env)
    assert done.returncode != 0  # nothing cached: cargo cannot resolve log offline
    assert world.server.requests == []
    result = world.registry("fetch", "log", env=env)
    assert result.code == 3, (how, result.stderr)
    assert "offline" in result.stderr
    assert world.server.requests == []


def test_a_bad_cargo_net_offline_is_refused_by_both(world: World) -> None:
    world.set_layers({})
    done = world.cargo("generate-lockfile", env={"CARGO_NET_OFFLINE": "1"})
    assert done.returncode != 0 and "CARGO_NET_OFFLINE" in done.stderr
    result = world.registry("fetch", "log", env={"CARGO_NET_OFFLINE": "1"})
    assert_one_error_line(result, "CARGO_NET_OFFLINE", "'1'", code=2)


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_net_retry_is_the_number_of_retries_for_both(world: World, retries: int) -> None:
    world.set_layers({})
    env = {"CARGO_NET_RETRY": str(retries)}
    world.server.faults["3/l/log"] = [Fault.status(503) for _ in range(10)]
    done = world.cargo("generate-lockfile", env=env)
    assert done.returncode != 0
    theirs = len(world.server.requests_for("3/l/log"))
    world.server.clear_requests()
    world.server.faults["3/l/log"] = [Fault.status(503) for _ in range(10)]
    result = world.registry("fetch", "log", env=env)
    assert result.code == 3, result.stderr
    ours = len(world.server.requests_for("3/l/log"))
    world.server.faults.pop("3/l/log", None)
    assert theirs == ours == retries + 1


def test_a_patch_given_with_config_is_read_by_both(world: World) -> None:
    """``[patch]`` through ``--config KEY=VALUE`` (a relative path starts at the current
    directory), as cargo reads it: a lockfile made without the patch is stale for both under
    it, one made with it is up to date for both under it and stale without it."""
    world.set_layers({})
    vendored = world.project / "vendor" / "log"
    (vendored / "src").mkdir(parents=True)
    (vendored / "src" / "lib.rs").write_text("")
    (vendored / "Cargo.toml").write_text(
        '[package]\nname = "log"\nversion = "0.4.99"\nedition = "2021"\n'
    )
    patch = ("--config", 'patch.crates-io.log.path="vendor/log"')
    locked = ("update", "--workspace", "--locked", "--offline")

    def verdicts(*config: str) -> tuple[bool, int]:
        done = world.cargo(*locked, *config, keep_lock=True)
        result = world.registry(*config, "check")
        assert result.code in (0, 1), result.stderr
        return done.returncode == 0, result.code

    done = world.cargo("generate-lockfile")
    assert done.returncode == 0, done.stderr
    assert verdicts() == (True, 0)
    assert verdicts(*patch) == (False, 1)
    done = world.cargo("generate-lockfile", *patch)
    assert done.returncode == 0, done.stderr
    assert 'version = "0.4.99"' in (world.project / "Cargo.lock").read_text()
    assert verdicts(*patch) == (True, 0)
    assert verdicts() == (False, 1)


@pytest.mark.parametrize("where", ["CARGO_REGISTRIES_ALT_INDEX", "--config"])
def test_a_registry_index_is_looked_up_as_cargo_does(world: World, where: str) -> None:
    """``registries.alt.index`` from the environment or --config wins over the files' (cargo's
    order): cargo locks ``log`` from the served index, and check agrees that the lock is up to
    date, though the file names an index that does not answer."""
    world.set_layers({})
    (world.project / "Cargo.toml").write_text(
        '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nlog = { version = "0.4", registry = "alt" }\n'
    )
    (world.project / ".cargo").mkdir(exist_ok=True)
    (world.project / ".cargo" / "config.toml").write_text(
        '[registries.alt]\nindex = "sparse+http://127.0.0.1:9/"\n'
    )
    served = f"sparse+{world.server.url}"
    env = {"CARGO_REGISTRIES_ALT_INDEX": served} if where != "--config" else {}
    config = ("--config", f'registries.alt.index="{served}"') if where == "--config" else ()
    done = world.cargo("generate-lockfile", *config, env=env)
    assert done.returncode == 0, done.stderr
    assert f'source = "{served}' in (world.project / "Cargo.lock").read_text()
    done = world.cargo(
        "update", "--workspace", "--locked", "--offline", *config, env=env, keep_lock=True
    )
    assert done.returncode == 0, done.stderr
    result = world.registry(*config, "check", env=env)
    assert (result.code, result.stderr) == (0, ""), result.stdout
    # without the override, both go to the file's index: the lock names another source
    done = world.cargo("update", "--workspace", "--locked", "--offline", keep_lock=True)
    assert done.returncode != 0
    result = world.registry("check")
    assert result.code != 0
