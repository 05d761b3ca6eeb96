"""The settings a run takes from cargo's configuration (:mod:`registry.config.cargo_config`), each
with where it came from (``registry -v`` prints them).

::

    key                    registry's own             then                default
    net.offline            --offline, REGISTRY_OFFLINE                    false
    http.timeout           --timeout, REGISTRY_TIMEOUT HTTP_TIMEOUT       30 (seconds)
    http.low-speed-limit                                                  10 (bytes/s)
    net.retry                                                             3
    http.multiplexing                                                     true (HTTP/2)
    http.user-agent                                                       registry/<version>
    http.cainfo                                       SSL_CERT_FILE       libcurl's CA bundle
    http.proxy-cainfo                                                     http.cainfo
    http.proxy                                        libcurl: http_proxy, HTTPS_PROXY,
                                                      ALL_PROXY, NO_PROXY (and lower case)
    term.color             --color                                        auto

Each setting is taken from the first of: registry's own flag; ``--config KEY=VALUE``;
registry's own environment variable; cargo's (``CARGO_`` and the key, ``CARGO_HTTP_CAINFO``);
cargo's configuration files, nearest first; the fallback variable; the default. That is
cargo's order (command line, environment, files: src/cargo/util/context/value.rs:111), with
registry's own spellings ahead of cargo's at each level. Where cargo reads each (0.96.0):

* http.* : src/cargo/util/network/http.rs:55 ``configure_http_handle`` (proxy, cainfo,
  proxy-cainfo, user-agent) and :193 ``HttpTimeout::new`` (timeout, then ``HTTP_TIMEOUT``,
  low-speed-limit); http.multiplexing: src/cargo/sources/registry/http_remote.rs:267 (false:
  HTTP/1.1, network/mod.rs:73);
* net.retry: src/cargo/util/network/retry.rs:98; net.offline: context/mod.rs:1182;
* term.color: context/mod.rs:1172 (anstream's "auto": colours on a terminal, unless NO_COLOR
  or TERM=dumb; CLICOLOR=0 turns them off, CLICOLOR_FORCE on);
* ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``: cargo's libcurl takes its CA file and directory from
  openssl-probe, which reads these two first (when the path exists); ``http.cainfo`` wins.

Values from the environment are read as cargo reads them (context/mod.rs:851): ``true`` and
``false`` are booleans, digits a number, anything else text. A value of the wrong type is one
input error naming where it was set (exit 2). Not read: ``http.check-revoke`` (Windows'
schannel only), ``http.ssl-version``, ``http.debug``, git's ``http.proxy``.
"""

from __future__ import annotations

import os

from query import TYPE_CHECKING
from query.record import Record, field
from registry import USER_AGENT
from registry.config.cargo_config import CLI, ENV, CargoConfig, Found
from registry.errors import InputError
from registry.options import DEFAULT_TIMEOUT, TIMEOUT_RANGE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from cache.atomic import StrPath
    from registry.options import RunOptions
    from registry.transport.base import TransportOptions

#: --color and term.color
COLOR_CHOICES = ("auto", "always", "never")
#: net.retry's accepted range (cargo takes any u32; more than this would hang a run for hours)
MAX_RETRIES = 100
DEFAULT = "default"


def _typed(found: Found) -> Any:
    """A value as cargo reads it: the environment's text typed as in context/mod.rs:872."""
    if found.level != ENV:
        return found.value
    text = found.value
    if text in ("true", "false"):
        return text == "true"
    digits = text[1:] if text.startswith("-") else text
    return int(text) if digits.isdigit() and digits.isascii() else text


def _boolean(value: Any, found: Found) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, found {_shown(found)}")


def _seconds(value: Any, found: Found) -> float:
    low, high = TIMEOUT_RANGE
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    raise ValueError(f"expected whole seconds from 1 to {high:g}, found {_shown(found)}")


def _bytes_per_second(value: Any, found: Found) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**32 - 1:
        return value
    raise ValueError(f"expected a number of bytes per second (at least 1), found {_shown(found)}")


def _retries(value: Any, found: Found) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_RETRIES:
        return value
    raise ValueError(f"expected a number of retries from 0 to {MAX_RETRIES}, found {_shown(found)}")


def _text(value: Any, found: Found) -> str:
    if found.level == ENV:
        return str(found.value)  # the variable's text, whatever it looks like
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, found {_shown(found)}")


def _path(value: Any, found: Found) -> str:
    """A path relative to where it was set: the directory above a file's ``.cargo``, the
    current directory for the environment and ``--config`` (context/path.rs:40
    ``ConfigRelativePath::resolve_path``)."""
    text = _text(value, found)
    if not text:
        raise ValueError("expected a path, found an empty string")
    return os.path.join(found.root, text)


def _color(value: Any, found: Found) -> str:
    if isinstance(value, str) and value in COLOR_CHOICES:
        return value
    raise ValueError(f"expected auto, always or never, found {_shown(found)}")


def _shown(found: Found) -> str:
    value = found.value
    return repr(value) if isinstance(value, str) else str(value).lower()


class _Row(Record):
    key: str  # cargo's dotted key
    name: str  # the `Settings` field
    parse: Callable[[Any, Found], Any]
    option: str | None = None  # registry's own option (`RunOptions`), when it has one
    fallback: str | None = None  # the variable read when nothing else sets it


_ROWS = (
    _Row("net.offline", "offline", _boolean, option="offline"),
    _Row("http.timeout", "timeout", _seconds, option="timeout", fallback="HTTP_TIMEOUT"),
    _Row("http.low-speed-limit", "low_speed_limit", _bytes_per_second),
    _Row("net.retry", "retry", _retries),
    _Row("http.multiplexing", "multiplexing", _boolean),
    _Row("http.user-agent", "user_agent", _text),
    _Row("http.cainfo", "cainfo", _path),  # then SSL_CERT_FILE: see `resolve`
    _Row("http.proxy-cainfo", "proxy_cainfo", _path),
    _Row("http.proxy", "proxy", _text),
    _Row("term.color", "color", _color, option="color"),
)


class Settings(Record):
    """What a run takes from cargo's configuration; ``origins`` says where each setting that is
    not at its default came from (a flag, a variable, ``--config ...`` or a file's path)."""

    offline: bool = False
    timeout: float = DEFAULT_TIMEOUT
    low_speed_limit: int = 10
    retry: int = 3
    multiplexing: bool = True
    user_agent: str = USER_AGENT
    cainfo: str | None = None
    capath: str | None = None  # SSL_CERT_DIR
    proxy: str | None = None
    proxy_cainfo: str | None = None
    color: str = "auto"
    origins: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_cargo(
        cls,
        start: StrPath = ".",
        *,
        config: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """The settings cargo's configuration gives a run in ``start`` (its files, nearest
        first, then $CARGO_HOME's), ``config`` the ``--config`` arguments: what the command
        line uses, for the Python API (``Registry(settings=Settings.from_cargo())``)."""
        return resolve(
            CargoConfig.discover(start, config), os.environ if environ is None else environ
        )

    def transport_options(self) -> TransportOptions:
        """The transport's knobs for these settings."""
        from registry.options import TOTAL_TIMEOUT_FACTOR
        from registry.transport.base import TransportOptions

        return TransportOptions(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            total_timeout=TOTAL_TIMEOUT_FACTOR * self.timeout,
            low_speed_limit=self.low_speed_limit,
            http2=self.multiplexing,
            user_agent=self.user_agent,
            ca_file=self.cainfo,
            ca_path=self.capath,
            proxy=self.proxy,
            proxy_ca_file=self.proxy_cainfo or self.cainfo,
        )

    def describe(self) -> list[str]:
        """One line per setting not at its default: ``key = value (from where)``. A proxy's
        credentials are never shown."""
        lines = []
        for row in (*_ROWS, _Row("SSL_CERT_DIR", "capath", _path)):
            origin = self.origins.get(row.name)
            if origin is None:
                continue
            value = getattr(self, row.name)
            if row.name == "proxy" and value:
                from registry.config.index_url import redacted

                value = redacted(value)
            shown = str(value).lower() if isinstance(value, bool) else value
            if isinstance(value, float) and value.is_integer():
                shown = int(value)
            lines.append(f"{row.key} = {shown} (from {origin})")
        return lines


def resolve(
    config: CargoConfig,
    environ: Mapping[str, str],
    given: Mapping[str, tuple[Any, str]] | None = None,
) -> Settings:
    """The settings from ``config`` and ``environ``; ``given`` are registry's own options that
    were set, by `Settings` field: (value, where: a flag such as ``--offline`` or a variable
    such as ``REGISTRY_OFFLINE``). InputError for a value of the wrong type."""
    given = given or {}
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for row in _ROWS:
        picked = _pick(row, config, environ, given)
        if picked is not None:
            values[row.name], origins[row.name] = picked
    for name, variable in (("cainfo", "SSL_CERT_FILE"), ("capath", "SSL_CERT_DIR")):
        # openssl-probe takes them only when the path exists (probe_from_env)
        path = environ.get(variable)
        if name not in values and path and os.path.exists(path):
            values[name], origins[name] = path, variable
    return Settings(**values, origins=origins)


def _pick(
    row: _Row,
    config: CargoConfig,
    environ: Mapping[str, str],
    given: Mapping[str, tuple[Any, str]],
) -> tuple[Any, str] | None:
    """(value, where) of one setting, or None: at its default."""
    own = given.get(row.option) if row.option else None
    if own is not None and own[1].startswith("-"):  # registry's own flag
        return own
    found = config.get(row.key, environ)
    if found is not None and found.level == CLI:
        return _parsed(row, found)
    if own is not None:  # registry's own variable
        return own
    if found is not None:
        return _parsed(row, found)
    if row.fallback:
        text = environ.get(row.fallback, "")
        if text.isdigit() and TIMEOUT_RANGE[0] <= int(text) <= TIMEOUT_RANGE[1]:
            # HTTP_TIMEOUT: cargo ignores a value that does not parse (network/http.rs:204)
            return float(int(text)), row.fallback
    return None


def _parsed(row: _Row, found: Found) -> tuple[Any, str]:
    try:
        return row.parse(_typed(found), found), found.origin
    except ValueError as exc:
        raise InputError(f"{found.origin}: {row.key}: {exc}") from None


def given_options(options: RunOptions) -> dict[str, tuple[Any, str]]:
    """Registry's own options of this run that were set, by setting: (value, the flag or
    variable that set it). A value set without a recorded origin (a `RunOptions` built by a
    program) counts as given on the command line when it is not the default."""
    from registry.options import RunOptions

    defaults = RunOptions.defaults()
    given = {}
    for name in ("offline", "timeout", "color"):
        value = getattr(options, name)
        where = options.origins.get(name)
        if where is None and value != getattr(defaults, name):
            where = "--" + name
        if where is not None:
            given[name] = (value, where)
    return given


def run_settings(options: RunOptions, config: CargoConfig) -> Settings:
    """The run's settings from ``config``; with -v, where each came from (stderr)."""
    settings = resolve(config, os.environ, given_options(options))
    for line in settings.describe():
        options.info(line)
    return settings


# -- which proxy libcurl uses for a URL (for the token check of `registry.api.Registry`) -----------


def proxy_for(url: str, proxy: str | None, environ: Mapping[str, str]) -> str | None:
    """The proxy libcurl sends a request for ``url`` through, or None: ``proxy`` (http.proxy;
    "" is none) when set, else the scheme's variable (``http_proxy`` -- lower case only, as
    curl reads it -- or ``https_proxy``/``HTTPS_PROXY``), else ``all_proxy``/``ALL_PROXY``;
    either way not for a host ``no_proxy``/``NO_PROXY`` names (`no_proxy_matches`)."""
    from registry.config.index_url import url_origin

    scheme, host, _port = url_origin(url)
    if proxy is None:
        names = ("http_proxy",) if scheme == "http" else ("https_proxy", "HTTPS_PROXY")
        for name in (*names, "all_proxy", "ALL_PROXY"):
            if environ.get(name):
                proxy = environ[name]
                break
    if not proxy:
        return None
    exclusions = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    return None if no_proxy_matches(host, exclusions) else proxy


def no_proxy_matches(host: str, exclusions: str) -> bool:
    """Whether libcurl's ``no_proxy`` list ``exclusions`` (comma or space separated: ``*``, host
    names matching themselves and their subdomains, a leading dot ignored, IP addresses and
    CIDR ranges) covers ``host`` (libcurl lib/noproxy.c ``Curl_check_noproxy``)."""
    host = host.strip("[]").rstrip(".").lower()
    for raw in exclusions.replace(",", " ").split():
        entry = raw.strip().lower()
        if entry == "*":
            return True
        name = entry.lstrip(".").rstrip(".")
        if not name:
            continue
        if host == name or host.endswith("." + name):
            return True
        if any(c.isdigit() for c in name) and (":" in name or name[0].isdigit()):
            import ipaddress

            try:
                network = ipaddress.ip_network(name.strip("[]"), strict=False)
                if ipaddress.ip_address(host) in network:
                    return True
            except ValueError:
                continue
    return False
