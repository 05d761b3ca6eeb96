"""registry/config/settings.py and cargo_config.py: which layer of cargo's configuration a setting
comes from, how each is read, and what ``-v`` says about it.

The order is cargo's documented one (doc/src/reference/config.md, "Hierarchical structure" and
"Environment variables"; src/cargo/util/context/value.rs:111): the command line, then the
environment, then the files from the nearest directory up to the root, then $CARGO_HOME's; in
one directory ``config`` before ``config.toml`` (context/mod.rs:1604). registry's own spellings
(--timeout, REGISTRY_TIMEOUT) sit at the head of their level. tests/test_config_cargo.py asks
cargo itself for the same order.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.cli import run
from registry.config.cargo_config import CargoConfig, env_key
from registry.config.settings import Settings, no_proxy_matches, proxy_for, resolve
from registry.errors import InputError, UsageError
from registry.input_files import parse_config_argument
from registry.options import wants_color

# --- the layers of one setting, highest priority first ---------------------------------------


@dataclass(frozen=True)
class Layer:
    name: str
    value: int  # http.timeout in seconds: each layer its own


#: http.timeout's layers in the documented order: the first one present wins.
ORDER = (
    Layer("--timeout", 5),
    Layer("--config", 6),
    Layer("REGISTRY_TIMEOUT", 7),
    Layer("CARGO_HTTP_TIMEOUT", 8),
    Layer("near config", 9),  # ws/crates/a/.cargo/config (no extension: wins over .toml)
    Layer("near config.toml", 10),  # ws/crates/a/.cargo/config.toml
    Layer("parent config.toml", 11),  # ws/.cargo/config.toml
    Layer("$CARGO_HOME/config.toml", 12),
    Layer("HTTP_TIMEOUT", 13),
)
ORIGINS = {
    "--timeout": "--timeout",
    "--config": "--config http.timeout=6",
    "REGISTRY_TIMEOUT": "REGISTRY_TIMEOUT",
    "CARGO_HTTP_TIMEOUT": "CARGO_HTTP_TIMEOUT",
    "near config": "ws/crates/a/.cargo/config",
    "near config.toml": "ws/crates/a/.cargo/config.toml",
    "parent config.toml": "ws/.cargo/config.toml",
    "$CARGO_HOME/config.toml": "home/config.toml",
    "HTTP_TIMEOUT": "HTTP_TIMEOUT",
}


def _files(tmp_path: Path) -> dict[str, Path]:
    return {
        "near config": tmp_path / "ws" / "crates" / "a" / ".cargo" / "config",
        "near config.toml": tmp_path / "ws" / "crates" / "a" / ".cargo" / "config.toml",
        "parent config.toml": tmp_path / "ws" / ".cargo" / "config.toml",
        "$CARGO_HOME/config.toml": tmp_path / "home" / "config.toml",
    }


def settings_with(tmp_path: Path, present: tuple[Layer, ...]) -> Settings:
    """http.timeout set in exactly the ``present`` layers; the settings a run in ws/crates/a
    gets."""
    files = _files(tmp_path)
    for path in files.values():
        if path.exists():
            path.unlink()
    (tmp_path / "ws" / "crates" / "a").mkdir(parents=True, exist_ok=True)
    environ: dict[str, str] = {}
    given: dict[str, tuple[object, str]] = {}
    cli: list[str] = []
    for layer in present:
        if layer.name in files:
            files[layer.name].parent.mkdir(parents=True, exist_ok=True)
            files[layer.name].write_text(f"[http]\ntimeout = {layer.value}\n")
        elif layer.name == "--config":
            cli.append(f"http.timeout={layer.value}")
        elif layer.name.startswith("-") or layer.name.startswith("REGISTRY_"):
            # the command line's parser keeps one: the flag when both are set (cli/argv.py)
            given.setdefault("timeout", (float(layer.value), layer.name))
        else:
            environ[layer.name] = str(layer.value)
    config = CargoConfig.discover(tmp_path / "ws" / "crates" / "a", cli)
    return resolve(config, environ, given)


def _subsets() -> Iterator[tuple[Layer, ...]]:
    for size in range(len(ORDER) + 1):
        yield from itertools.combinations(ORDER, size)


def test_every_combination_of_layers_takes_the_first_in_cargos_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All 512 combinations of the nine places http.timeout can be set."""
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for present in _subsets():
        settings = settings_with(tmp_path, present)
        if not present:
            assert settings.timeout == 30.0
            assert "timeout" not in settings.origins
            continue
        winner = present[0]  # combinations keep ORDER's order
        assert settings.timeout == winner.value, [layer.name for layer in present]
        origin = settings.origins["timeout"]
        expected = ORIGINS[winner.name]
        assert origin == expected or origin.endswith("/" + expected), (origin, expected)


@pytest.mark.parametrize(
    ("present", "winner"),
    [
        # the rows of cargo's documentation, spelled out
        (("--config", "CARGO_HTTP_TIMEOUT", "near config.toml"), "--config"),
        (
            ("CARGO_HTTP_TIMEOUT", "near config.toml", "$CARGO_HOME/config.toml"),
            "CARGO_HTTP_TIMEOUT",
        ),
        (("near config.toml", "parent config.toml", "$CARGO_HOME/config.toml"), "near config.toml"),
        (("parent config.toml", "$CARGO_HOME/config.toml"), "parent config.toml"),
        (("near config", "near config.toml"), "near config"),
        (("$CARGO_HOME/config.toml", "HTTP_TIMEOUT"), "$CARGO_HOME/config.toml"),
        (("HTTP_TIMEOUT",), "HTTP_TIMEOUT"),
        # registry's own: its flag first of all, its variable after --config
        (("--timeout", "--config"), "--timeout"),
        (("--config", "REGISTRY_TIMEOUT"), "--config"),
        (("REGISTRY_TIMEOUT", "CARGO_HTTP_TIMEOUT"), "REGISTRY_TIMEOUT"),
    ],
)
def test_precedence_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, present: tuple[str, ...], winner: str
) -> None:
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "home"))
    layers = tuple(layer for layer in ORDER if layer.name in present)
    settings = settings_with(tmp_path, layers)
    assert settings.timeout == next(layer.value for layer in ORDER if layer.name == winner)


def test_config_without_extension_hides_config_toml_entirely(tmp_path: Path) -> None:
    """cargo reads one file per directory: with ``config`` there, ``config.toml`` is not read,
    even for keys ``config`` lacks."""
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config").write_text("[net]\nretry = 1\n")
    (tmp_path / ".cargo" / "config.toml").write_text("[http]\ntimeout = 5\n[net]\nretry = 2\n")
    config = CargoConfig.discover(tmp_path)
    assert config.files[0] == str(tmp_path / ".cargo" / "config")
    assert str(tmp_path / ".cargo" / "config.toml") not in config.files + config.absent
    settings = resolve(config, {})
    assert (settings.retry, settings.timeout) == (1, 30.0)


def test_keys_merge_across_files_and_the_last_config_argument_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(
        '[http]\nuser-agent = "home"\n[net]\nretry = 1\n'
    )
    (tmp_path / "p" / ".cargo").mkdir(parents=True)
    (tmp_path / "p" / ".cargo" / "config.toml").write_text("[http]\nmultiplexing = false\n")
    config = CargoConfig.discover(tmp_path / "p", ["net.retry=2", "net.retry=4"])
    settings = resolve(config, {})
    assert (settings.user_agent, settings.retry, settings.multiplexing) == ("home", 4, False)
    assert settings.origins["retry"] == "--config net.retry=4"
    assert settings.origins["user_agent"] == str(tmp_path / "home" / "config.toml")


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("http.cainfo", "CARGO_HTTP_CAINFO"),
        ("http.proxy", "CARGO_HTTP_PROXY"),
        ("http.proxy-cainfo", "CARGO_HTTP_PROXY_CAINFO"),
        ("http.timeout", "CARGO_HTTP_TIMEOUT"),
        ("http.low-speed-limit", "CARGO_HTTP_LOW_SPEED_LIMIT"),
        ("http.multiplexing", "CARGO_HTTP_MULTIPLEXING"),
        ("http.user-agent", "CARGO_HTTP_USER_AGENT"),
        ("net.retry", "CARGO_NET_RETRY"),
        ("net.offline", "CARGO_NET_OFFLINE"),
        ("term.color", "CARGO_TERM_COLOR"),
    ],
)
def test_environment_variable_spelling(key: str, variable: str) -> None:
    """As cargo's documentation lists them (doc/src/reference/environment-variables.md)."""
    assert env_key(key) == variable


ENVIRONMENT_VALUES = [
    ("CARGO_NET_OFFLINE", "true", "offline", True),
    ("CARGO_NET_OFFLINE", "false", "offline", False),
    ("CARGO_HTTP_MULTIPLEXING", "false", "multiplexing", False),
    ("CARGO_NET_RETRY", "0", "retry", 0),
    ("CARGO_HTTP_TIMEOUT", "45", "timeout", 45.0),
    ("CARGO_HTTP_LOW_SPEED_LIMIT", "1", "low_speed_limit", 1),
    ("CARGO_HTTP_USER_AGENT", "12", "user_agent", "12"),  # text stays text
    ("CARGO_HTTP_PROXY", "127.0.0.1:3128", "proxy", "127.0.0.1:3128"),
    ("CARGO_HTTP_PROXY", "", "proxy", ""),  # no proxy at all, as libcurl reads ""
    ("CARGO_TERM_COLOR", "never", "color", "never"),
]


@pytest.mark.parametrize(("variable", "text", "field", "value"), ENVIRONMENT_VALUES)
def test_environment_values_read_as_cargo_reads_them(
    tmp_path: Path, variable: str, text: str, field: str, value: object
) -> None:
    settings = resolve(CargoConfig.discover(tmp_path), {variable: text})
    assert getattr(settings, field) == value
    assert settings.origins[field] == variable


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("CARGO_NET_OFFLINE", "1"),  # cargo: "provided string was not `true` or `false`"
        ("CARGO_NET_OFFLINE", "yes"),
        ("CARGO_HTTP_TIMEOUT", "abc"),
        ("CARGO_HTTP_TIMEOUT", "0"),
        ("CARGO_HTTP_TIMEOUT", "1.5"),
        ("CARGO_NET_RETRY", "-1"),
        ("CARGO_NET_RETRY", "101"),
        ("CARGO_HTTP_MULTIPLEXING", "off"),
        ("CARGO_HTTP_LOW_SPEED_LIMIT", "0"),
        ("CARGO_TERM_COLOR", "sometimes"),
    ],
)
def test_a_bad_environment_value_is_one_input_error(
    tmp_path: Path, variable: str, text: str
) -> None:
    with pytest.raises(InputError) as info:
        resolve(CargoConfig.discover(tmp_path), {variable: text})
    message = str(info.value)
    assert message.startswith(f"{variable}: ") and repr(text) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[http]\ntimeout = "30"\n', "http.timeout"),
        ("[http]\ntimeout = 1.5\n", "http.timeout"),
        ("[net]\noffline = 1\n", "net.offline"),
        ("[net]\nretry = true\n", "net.retry"),
        ("[http]\ncainfo = 5\n", "http.cainfo"),
        ('[http]\ncainfo = ""\n', "http.cainfo"),
        ("[http]\nuser-agent = []\n", "http.user-agent"),
        ('[term]\ncolor = "yes"\n', "term.color"),
    ],
)
def test_a_bad_file_value_names_the_file_and_the_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / ".cargo").mkdir()
    path = tmp_path / ".cargo" / "config.toml"
    path.write_text(toml)
    with pytest.raises(InputError) as info:
        resolve(CargoConfig.discover(tmp_path), {})
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_paths_are_relative_to_where_they_were_set(tmp_path: Path) -> None:
    """A file's relative path: to the directory above its ``.cargo``; the environment's and
    --config's: to the current directory (context/path.rs ``resolve_path``)."""
    (tmp_path / "p" / ".cargo").mkdir(parents=True)
    (tmp_path / "p" / ".cargo" / "config.toml").write_text(
        '[http]\ncainfo = "certs/ca.pem"\nproxy-cainfo = "/abs/proxy.pem"\n'
    )
    settings = resolve(CargoConfig.discover(tmp_path / "p"), {})
    assert settings.cainfo == str(tmp_path / "p" / "certs" / "ca.pem")
    assert settings.proxy_cainfo == "/abs/proxy.pem"
    cwd = os.getcwd()
    from_env = resolve(CargoConfig.discover(tmp_path / "p"), {"CARGO_HTTP_CAINFO": "x/ca.pem"})
    assert from_env.cainfo == os.path.join(cwd, "x/ca.pem")


def test_ssl_cert_file_and_dir_are_fallbacks_when_they_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    config = CargoConfig.discover(tmp_path)
    env = {"SSL_CERT_FILE": str(ca), "SSL_CERT_DIR": str(tmp_path)}
    settings = resolve(config, env)
    assert (settings.cainfo, settings.capath) == (str(ca), str(tmp_path))
    assert settings.origins["cainfo"] == "SSL_CERT_FILE"
    # openssl-probe ignores a path that does not exist
    missing = resolve(config, {"SSL_CERT_FILE": str(tmp_path / "nope.pem")})
    assert missing.cainfo is None
    # http.cainfo wins over it, from any layer
    other = str(tmp_path / "other.pem")
    assert resolve(config, {**env, "CARGO_HTTP_CAINFO": other}).cainfo == other
    options = resolve(config, env).transport_options()
    assert (options.ca_file, options.ca_path, options.proxy_ca_file) == (
        str(ca),
        str(tmp_path),
        str(ca),  # http.proxy-cainfo falls back to http.cainfo, as in cargo
    )


def test_http_timeout_falls_back_to_http_timeout_unless_it_does_not_parse(tmp_path: Path) -> None:
    config = CargoConfig.discover(tmp_path)
    assert resolve(config, {"HTTP_TIMEOUT": "9"}).timeout == 9.0
    assert resolve(config, {"HTTP_TIMEOUT": "soon"}).timeout == 30.0  # ignored, as cargo does
    # a request's total deadline follows http.timeout as it follows --timeout (issue 13)
    assert resolve(config, {"HTTP_TIMEOUT": "9"}).transport_options().total_timeout == 90.0


def test_defaults_are_cargos(tmp_path: Path) -> None:
    settings = resolve(CargoConfig.discover(tmp_path), {})
    assert settings == Settings()
    assert settings.origins == {}
    options = settings.transport_options()
    assert (options.connect_timeout, options.read_timeout, options.low_speed_limit) == (30, 30, 10)
    assert options.total_timeout == 300
    assert options.http2 and options.proxy is None and options.ca_file is None
    assert settings.retry == 3 and not settings.offline and settings.color == "auto"


# --- --config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("http.timeout=60", {"http": {"timeout": 60}}),
        ('http.proxy="host:3128"', {"http": {"proxy": "host:3128"}}),
        ("net.offline = true", {"net": {"offline": True}}),
        ('source.crates-io.replace-with="m"', {"source": {"crates-io": {"replace-with": "m"}}}),
    ],
)
def test_config_argument_is_one_dotted_key(argument: str, expected: dict[str, object]) -> None:
    assert parse_config_argument(argument) == expected


@pytest.mark.parametrize(
    "argument",
    [
        "",
        "http.timeout",
        "http.proxy=host:3128",  # not a TOML value: cargo wants the quotes too
        "[http]\ntimeout=1",
        "http = {timeout = 1}",
        "a=1\nb=2",
        "http.timeout=1 # comment\n",
    ],
)
def test_config_argument_that_is_not_key_value_is_a_usage_error(argument: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config_argument(argument)
    assert "KEY=VALUE" in str(info.value)


@pytest.mark.parametrize(
    "argument", ['registry.token="t"', 'registries.mine.token="t"', 'registries.m.secret-key="k"']
)
def test_config_argument_never_carries_a_token(argument: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config_argument(argument)
    assert "security" in str(info.value) and '"t"' not in str(info.value)


def test_config_argument_naming_a_file_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "net.toml").write_text('[net]\nretry = 7\n[http]\ncainfo = "ca.pem"\n')
    monkeypatch.chdir(tmp_path)
    settings = resolve(CargoConfig.discover(tmp_path, ["extra/net.toml"]), {})
    assert settings.retry == 7
    assert settings.origins["retry"] == f"--config {tmp_path / 'extra' / 'net.toml'}"
    # cargo's Definition::Cli(Some(path)).root(): the directory above the file's directory
    assert settings.cainfo == str(tmp_path / "ca.pem")


# --- colours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "isatty", "environ", "expected"),
    [
        ("always", False, {}, True),
        ("always", False, {"NO_COLOR": "1"}, True),  # the command line wins over NO_COLOR
        ("never", True, {"TERM": "xterm", "CLICOLOR_FORCE": "1"}, False),
        ("auto", True, {"TERM": "xterm"}, True),
        ("auto", False, {"TERM": "xterm"}, False),
        ("auto", True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
        ("auto", True, {"TERM": "xterm", "NO_COLOR": ""}, True),  # empty: not set
        ("auto", True, {"TERM": "dumb"}, False),
        ("auto", True, {}, False),  # no TERM: no colours (anstyle-query)
        ("auto", True, {"CI": "true"}, True),
        ("auto", True, {"TERM": "xterm", "CLICOLOR": "0"}, False),
        ("auto", False, {"CLICOLOR_FORCE": "1"}, True),
        ("auto", False, {"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, True),
    ],
)
def test_color_choice_follows_anstream(
    choice: str, isatty: bool, environ: dict[str, str], expected: bool
) -> None:
    assert wants_color(choice, isatty, environ) is expected


# --- proxies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "exclusions", "expected"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "localhost,127.0.0.1", True),
        ("127.0.0.1", "127.0.0.0/8", True),
        ("10.1.2.3", "127.0.0.0/8", False),
        ("index.example.com", "example.com", True),
        ("index.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("badexample.com", "example.com", False),
        ("anything", "*", True),
        ("example.com", "", False),
        ("example.com", "other.org example.com", True),
        ("::1", "::1", True),
    ],
)
def test_no_proxy_matches_as_libcurl_does(host: str, exclusions: str, expected: bool) -> None:
    assert no_proxy_matches(host, exclusions) is expected


@pytest.mark.parametrize(
    ("url", "configured", "environ", "expected"),
    [
        ("http://r.example/", None, {}, None),
        ("http://r.example/", "p:1", {}, "p:1"),
        ("http://r.example/", "", {"http_proxy": "e:1"}, None),  # "" turns the variables off
        ("http://r.example/", None, {"http_proxy": "e:1"}, "e:1"),
        ("http://r.example/", None, {"HTTP_PROXY": "e:1"}, None),  # curl: lower case only
        ("https://r.example/", None, {"HTTPS_PROXY": "e:2"}, "e:2"),
        ("http://r.example/", None, {"ALL_PROXY": "e:3"}, "e:3"),
        ("http://r.example/", "p:1", {"NO_PROXY": "r.example"}, None),
        ("http://r.example/", None, {"http_proxy": "e:1", "no_proxy": "*"}, None),
    ],
)
def test_proxy_for_a_url(
    url: str, configured: str | None, environ: dict[str, str], expected: str | None
) -> None:
    assert proxy_for(url, configured, environ) == expected


# --- the command line: -v provenance, errors -----------------------------------------------


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return invoke


def test_verbose_says_where_each_setting_came_from(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.reliability.support import FIXTURE_INDEX

    (tmp_path / ".cargo").mkdir()
    config = tmp_path / ".cargo" / "config.toml"
    config.write_text(
        '[http]\ncainfo = "/x/ca.pem"\nproxy = "http://user:secret@proxy.example:3128"\n'
        "[net]\nretry = 1\n"
    )
    monkeypatch.setenv("CARGO_HTTP_USER_AGENT", "ua-from-env")
    args = ("--index-url", str(FIXTURE_INDEX), "--cache-dir", str(tmp_path / "c"))
    code, out, err = cli(*args, "-v", "--offline", "query", "serde==1.0.102")
    assert code == 0 and out.startswith("serde 1.0.102")
    lines = err.splitlines()
    assert f"http.cainfo = /x/ca.pem (from {config})" in lines
    assert f"net.retry = 1 (from {config})" in lines
    assert "http.user-agent = ua-from-env (from CARGO_HTTP_USER_AGENT)" in lines
    assert "net.offline = true (from --offline)" in lines
    assert f"http.proxy = http://***@proxy.example:3128 (from {config})" in lines
    assert "secret" not in err
    # without -v: not a word
    code, out, err = cli(*args, "--offline", "query", "serde==1.0.102")
    assert code == 0 and err == ""


def test_a_bad_setting_is_one_error_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    from tests.reliability.support import FIXTURE_INDEX

    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text('[http]\ntimeout = "soon"\n')
    code, out, err = cli(
        "--index-url", str(FIXTURE_INDEX), "--cache-dir", str(tmp_path / "c"), "query", "serde"
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: {tmp_path / '.cargo' / 'config.toml'}: http.timeout: expected whole seconds "
        "from 1 to 3600, found 'soon'"
    ]


def test_config_argument_errors_are_usage_errors(cli: Cli) -> None:
    code, out, err = cli("--config", "http.timeout", "query", "serde")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "KEY=VALUE" in err


def test_registry_options_stand_for_cargos_keys(tmp_path: Path) -> None:
    """--offline/REGISTRY_OFFLINE, --timeout/REGISTRY_TIMEOUT, --color: what the parser says
    was set, and how; REGISTRY_OFFLINE=0 turns off a net.offline of the files."""
    from registry.cli.argv import parse
    from registry.config.settings import given_options

    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text(
        '[net]\noffline = true\n[http]\ntimeout = 9\n[term]\ncolor = "always"\n'
    )
    config = CargoConfig.discover(tmp_path)
    plain = parse(["query", "x"], {}).options
    assert plain.origins == {}
    assert resolve(config, {}, given_options(plain)) == Settings(
        offline=True, timeout=9.0, color="always"
    )
    options = parse(
        ["--timeout", "5", "query", "x", "--color", "never"],
        {"REGISTRY_TIMEOUT": "7", "REGISTRY_OFFLINE": "0"},
    ).options
    assert options.origins == {
        "timeout": "--timeout",
        "offline": "REGISTRY_OFFLINE",
        "color": "--color",
    }
    settings = resolve(config, {}, given_options(options))
    assert (settings.offline, settings.timeout, settings.color) == (False, 5.0, "never")
    assert settings.origins == {
        "offline": "REGISTRY_OFFLINE",
        "timeout": "--timeout",
        "color": "--color",
    }
    repeated = parse(["--config", "a.b=1", "query", "x", "--config", "c.d=2"], {}).options
    assert repeated.config == ("a.b=1", "c.d=2")


def test_options_built_by_a_program_count_as_given(tmp_path: Path) -> None:
    """A `RunOptions` made without the parser (no origins): a value off its default is taken
    as the command line's, so offline=True stays offline whatever the files say."""
    from query.record import replace
    from registry.config.settings import given_options
    from registry.options import RunOptions

    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text("[net]\noffline = false\n")
    options = replace(RunOptions.defaults(), offline=True, timeout=5.0)
    assert given_options(options) == {"offline": (True, "--offline"), "timeout": (5.0, "--timeout")}
    settings = resolve(CargoConfig.discover(tmp_path), {}, given_options(options))
    assert (settings.offline, settings.timeout) == (True, 5.0)
    assert options.offline_hint({}) is True
    assert RunOptions.defaults().offline_hint({"CARGO_NET_OFFLINE": "true"}) is True
