"""A private CA and proxies, as cargo's configuration sets them, against a real nginx over TLS and
HTTP/2, registry next to cargo (the judge).

nginx serves the bundled index over ``listen ... ssl http2`` with a leaf certificate of a
throwaway CA (tests/tlsca.py) that nothing trusts. A project's ``.cargo/config.toml`` replaces
crates.io with that https index, so ``registry query log`` (no --index-url) and ``cargo
generate-lockfile`` go there. Asserted, each way of trusting the CA (``http.cainfo`` in the
project's config with a relative path, ``--config http.cainfo=...``, ``CARGO_HTTP_CAINFO``,
``SSL_CERT_FILE``):

* cargo succeeds, and so does registry, over HTTP/2 (nginx's access log: ``HTTP/2.0``);
* without it both fail, registry with one error line saying to set http.cainfo (exit 3);
* ``http.multiplexing = false``: both speak HTTP/1.1;
* through a proxy (tests/proxy.py) named by ``HTTPS_PROXY`` or ``http.proxy``: both tunnel with
  CONNECT; ``NO_PROXY`` sends both direct; a token for a cleartext http:// index is never handed
  to a proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import IndexServer
from tests.nginx import Nginx, world_readable
from tests.proxy import Proxy
from tests.reliability.support import FIXTURE_INDEX, CliResult, assert_one_error_line, run_cli
from tests.tlsca import TlsFiles, make_ca

pytestmark = pytest.mark.cargo


class Served:
    def __init__(self, nginx: Nginx, tls: TlsFiles) -> None:
        self.nginx = nginx
        self.tls = tls
        self.https = nginx.url(0, "https")

    def access_lines(self) -> list[str]:
        return (self.nginx.prefix / "access.log").read_text().splitlines()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("tls")
    root = work / "index"
    shutil.copytree(FIXTURE_INDEX, root)
    world_readable(root)
    tls = make_ca(work / "ca")
    with Nginx(work / "nginx", 1) as nginx:
        (port,) = nginx.ports
        nginx.start(
            f"""
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tls.cert};
    ssl_certificate_key {tls.key};
    root {root};
  }}
"""
        )
        yield Served(nginx, tls)


@pytest.fixture(scope="module")
def cargo() -> str:
    path = shutil.which("cargo")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: these tests must run")
        pytest.skip("cargo is not installed (set CI=1 to make this a failure)")
    return path


class Project:
    """A one-dependency project whose ``.cargo/config.toml`` replaces crates.io by ``index``,
    with $HOME (and $CARGO_HOME in it) of its own."""

    def __init__(self, root: Path, index: str, cargo: str, extra_config: str = "") -> None:
        self.root = root
        self.cargo_bin = cargo
        self.home = root / "home"
        (self.home / ".cargo").mkdir(parents=True)
        self.dir = root / "p"
        (self.dir / "src").mkdir(parents=True)
        (self.dir / "src" / "lib.rs").write_text("")
        (self.dir / "Cargo.toml").write_text(
            '[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nlog = "0.4"\n'
        )
        (self.dir / ".cargo").mkdir()
        self.config = self.dir / ".cargo" / "config.toml"
        self.config.write_text(
            '[source.crates-io]\nreplace-with = "mirror"\n\n'
            f'[source.mirror]\nregistry = "sparse+{index}"\n\n' + extra_config
        )
        self.runs = 0

    def cargo(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CARGO_", "REGISTRY_", "SSL_CERT"))
            and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        environ.update(
            HOME=str(self.home),
            RUSTUP_HOME=os.environ.get("RUSTUP_HOME") or os.path.expanduser("~/.rustup"),
            CARGO_HOME=str(self.home / ".cargo"),
            CARGO_TERM_COLOR="never",
            CARGO_NET_RETRY="0",
            **(env or {}),
        )
        shutil.rmtree(self.home / ".cargo" / "registry", ignore_errors=True)
        (self.dir / "Cargo.lock").unlink(missing_ok=True)
        return subprocess.run(
            [self.cargo_bin, "generate-lockfile", *args],
            cwd=self.dir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def registry(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        self.runs += 1
        cache = self.root / f"cache-{self.runs}"
        return run_cli(
            ["--cache-dir", str(cache), *args],
            home=self.home,
            cwd=self.dir,
            env={"CARGO_NET_RETRY": "0", **(env or {})},
        )


def _since(served: Served, seen: int) -> list[str]:
    return served.access_lines()[seen:]


def _protocols(lines: list[str], agent: str) -> set[str]:
    found = set()
    for line in lines:
        if f'"{agent}' in line:
            found.add(line.split('"')[1].rsplit(" ", 1)[-1])
    return found


TRUST = ["http.cainfo", "--config", "CARGO_HTTP_CAINFO", "SSL_CERT_FILE"]


def _trusting(how: str, tls: TlsFiles, project_root: Path) -> tuple[str, list[str], dict[str, str]]:
    """(extra config, command line --config arguments, variables) that trust the test CA."""
    if how == "http.cainfo":  # relative: to the directory above .cargo, as cargo reads it
        shutil.copy(tls.ca, project_root / "p-ca.pem")
        return '[http]\ncainfo = "../p-ca.pem"\n', [], {}
    if how == "--config":
        return "", [f'http.cainfo="{tls.ca}"'], {}
    return "", [], {how: str(tls.ca)}


@pytest.mark.parametrize("how", TRUST)
def test_a_private_ca_trusted_as_cargo_trusts_it(
    served: Served, cargo: str, tmp_path: Path, how: str
) -> None:
    tmp_path.mkdir(exist_ok=True)
    extra, cli, env = _trusting(how, served.tls, tmp_path)
    project = Project(tmp_path, served.https, cargo, extra)
    config_args = [a for c in cli for a in ("--config", c)]

    seen = len(served.access_lines())
    done = project.cargo(*config_args, env=env)
    assert done.returncode == 0, done.stderr
    assert _protocols(_since(served, seen), "cargo/") == {"HTTP/2.0"}

    seen = len(served.access_lines())
    result = project.registry(*config_args, "query", "log", env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("log ")
    result = project.registry(*config_args, "fetch", "log", "cfg-if", env=env)
    assert result.code == 0, result.stderr
    assert _protocols(_since(served, seen), "registry/") == {"HTTP/2.0"}


def test_without_the_ca_both_fail_and_registry_says_what_to_do(
    served: Served, cargo: str, tmp_path: Path
) -> None:
    project = Project(tmp_path, served.https, cargo)
    done = project.cargo()
    assert done.returncode != 0 and "certificate" in done.stderr.lower()
    result = project.registry("query", "log")
    line = assert_one_error_line(result, "certificate", code=3)
    assert "set http.cainfo" in line and "CARGO_HTTP_CAINFO" in line


def test_multiplexing_off_speaks_http1_in_both(served: Served, cargo: str, tmp_path: Path) -> None:
    extra = f'[http]\ncainfo = "{served.tls.ca}"\nmultiplexing = false\n'
    project = Project(tmp_path, served.https, cargo, extra)
    seen = len(served.access_lines())
    done = project.cargo()
    assert done.returncode == 0, done.stderr
    assert _protocols(_since(served, seen), "cargo/") == {"HTTP/1.1"}
    seen = len(served.access_lines())
    result = project.registry("fetch", "log", "cfg-if")
    assert result.code == 0, result.stderr
    assert _protocols(_since(served, seen), "registry/") == {"HTTP/1.1"}


@pytest.mark.parametrize("how", ["HTTPS_PROXY", "https_proxy", "http.proxy", "CARGO_HTTP_PROXY"])
def test_a_proxy_tunnels_both(served: Served, cargo: str, tmp_path: Path, how: str) -> None:
    with Proxy() as proxy:
        extra = f'[http]\ncainfo = "{served.tls.ca}"\n'
        env: dict[str, str] = {}
        if how == "http.proxy":
            extra += f'proxy = "{proxy.url}"\n'
        else:
            env[how] = proxy.url
        project = Project(tmp_path, served.https, cargo, extra)
        authority = served.https.removeprefix("https://").rstrip("/")
        done = project.cargo(env=env)
        assert done.returncode == 0, done.stderr
        assert {(r.method, r.target) for r in proxy.requests} == {("CONNECT", authority)}
        proxy.clear()
        result = project.registry("fetch", "log", env=env)
        assert result.code == 0, result.stderr
        assert {(r.method, r.target) for r in proxy.requests} == {("CONNECT", authority)}
        # NO_PROXY: both go direct
        proxy.clear()
        done = project.cargo(env={**env, "NO_PROXY": "127.0.0.1"})
        assert done.returncode == 0, done.stderr
        result = project.registry("fetch", "log", env={**env, "NO_PROXY": "127.0.0.1"})
        assert result.code == 0, result.stderr
        assert proxy.requests == []


def test_http_proxy_for_a_cleartext_index_in_both(cargo: str, tmp_path: Path) -> None:
    with IndexServer(FIXTURE_INDEX) as server, Proxy() as proxy:
        project = Project(tmp_path, server.url, cargo, f'[http]\nproxy = "{proxy.url}"\n')
        done = project.cargo()
        assert done.returncode == 0, done.stderr
        theirs = {r.target for r in proxy.requests}
        assert f"{server.url}3/l/log" in theirs  # absolute-form: through the proxy
        proxy.clear()
        result = project.registry("fetch", "log")
        assert result.code == 0, result.stderr
        assert f"{server.url}3/l/log" in {r.target for r in proxy.requests}


def test_a_token_for_a_cleartext_index_never_goes_through_a_proxy(tmp_path: Path) -> None:
    secret = "s3cret-token-value"
    with IndexServer(FIXTURE_INDEX) as server, Proxy() as proxy:
        args = ["--index-url", server.url, "--cache-dir", str(tmp_path / "c"), "query", "log"]
        home = tmp_path / "home"
        for env in ({"http_proxy": proxy.url}, {"CARGO_HTTP_PROXY": proxy.url}):
            result = run_cli(args, home=home, env={**env, "REGISTRY_TOKEN": secret})
            assert_one_error_line(result, "proxy", "in clear text", "NO_PROXY", code=2)
            assert secret not in result.stderr
            assert proxy.requests == [] and server.requests == []
        # excluded from the proxy: straight to the registry, which gets it (not auth-required:
        # the token stays home, as cargo's does)
        result = run_cli(
            args,
            home=home,
            env={"http_proxy": proxy.url, "NO_PROXY": "127.0.0.1", "REGISTRY_TOKEN": secret},
        )
        assert result.code == 0, result.stderr
        assert proxy.requests == [] and server.requests
        # and without a token the proxy is used
        server.clear_requests()
        result = run_cli(args, home=home, env={"http_proxy": proxy.url})
        assert result.code == 0, result.stderr
        assert proxy.requests and all(r.header("authorization") is None for r in proxy.requests)


def test_the_httpx_transport_takes_the_same_trust_store(served: Served) -> None:
    from registry.transport.base import HttpRequest, HttpResponse, TransportError, TransportOptions
    from registry.transport.httpx import HttpxTransport

    request = [HttpRequest(served.https + "config.json")]
    with HttpxTransport(TransportOptions(ca_file=str(served.tls.ca))) as trusting:
        (answer,) = trusting.perform(request)
    assert isinstance(answer, HttpResponse) and answer.status == 200
    with HttpxTransport(TransportOptions()) as plain:
        (refused,) = plain.perform(request)
    assert isinstance(refused, TransportError) and refused.kind == "tls"


def test_the_httpx_transport_takes_the_same_proxy(tmp_path: Path) -> None:
    """http.proxy for the httpx transport: the proxy sees the request, unless NO_PROXY names
    the host (as libcurl honours it with a proxy set)."""
    from registry.transport.base import HttpRequest, HttpResponse, TransportOptions
    from registry.transport.httpx import HttpxTransport

    with IndexServer(FIXTURE_INDEX) as server, Proxy() as proxy:
        request = [HttpRequest(server.url + "config.json")]
        with HttpxTransport(TransportOptions(proxy=proxy.url)) as through:
            (answer,) = through.perform(request)
        assert isinstance(answer, HttpResponse) and answer.status == 200
        assert [r.target for r in proxy.requests] == [server.url + "config.json"]
        proxy.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NO_PROXY", "127.0.0.1")
            with HttpxTransport(TransportOptions(proxy=proxy.url)) as direct:
                (answer,) = direct.perform(request)
        assert isinstance(answer, HttpResponse) and answer.status == 200
        assert proxy.requests == []


def test_the_python_api_takes_cargos_settings(served: Served, tmp_path: Path) -> None:
    """``Registry(settings=Settings.from_cargo(project))``: the project's http.cainfo."""
    from registry import Registry
    from registry.config.settings import Settings
    from registry.errors import NetworkError

    project = tmp_path / "p"
    (project / ".cargo").mkdir(parents=True)
    (project / ".cargo" / "config.toml").write_text(f'[http]\ncainfo = "{served.tls.ca}"\n')
    url = "sparse+" + served.https
    with Registry(url, tmp_path / "c1", settings=Settings.from_cargo(project)) as reg:
        assert reg.get("log", "0.4.8").vers == "0.4.8"
    with Registry(url, tmp_path / "c2") as plain, pytest.raises(NetworkError) as info:
        plain.get("log", "0.4.8")
    assert "http.cainfo" in str(info.value)
