#!/usr/bin/env python3
"""Benchmark ``registry`` against cargo 1.95 on a local sparse index (stdlib only).

Run with the venv's interpreter (it is the one timed, with its ``registry`` console script)::

    /work/venv/bin/python scripts/bench.py [--runs N] [--projects ripgrep,nushell] \
        [--out docs/benchmarks.md]

What it does:

1. Byte-compiles the package dirs (``registry``, ``cache``, ``query``; found through the venv's
   interpreter) with ``python -m compileall -q`` so start-up is timed with bytecode, as a user
   has it (the environment may set PYTHONDONTWRITEBYTECODE=1, which stops imports writing it).
2. Unpacks the crates.io index snapshot into ``<workdir>/index`` (reused when present) and
   serves it with nginx on 127.0.0.1: one HTTP/1.1 port and one cleartext HTTP/2
   (prior-knowledge) port. nginx runs in the foreground as our child, its pid file, logs and
   temp dirs inside the work dir; it is stopped at the end, on Ctrl-C and on errors.
3. Per project: a fresh copy of the fixture, CARGO_HOMEs whose ``config.toml`` replaces
   crates.io by the local sparse index, and ``registry`` cache dirs; then hyperfine (``-N``,
   warmups, ``--export-json``; ``--prepare`` empties the caches of cold runs) times cargo and
   registry side by side, and in the cold-fetch and revalidation scenarios also
   ``scripts/floor.py``: the least a Python process fetching through pycurl takes for the
   same files (see its docstring). Every hyperfine run has the work dir as cwd and the same
   environment for both sides; paths are absolute (``--manifest-path``), so no
   ``sh -c 'cd …'`` wrapper.
4. Prints a markdown table of medians and ratios (registry / baseline), with the machine facts,
   load averages before/after and the date, and writes it to ``--out`` if given.

The CLI has no switch for cleartext HTTP/2 (``TransportOptions.h2c_prior_knowledge`` is not
exposed), so the HTTP/2 row runs the same ``registry.__main__.main`` through ``python -c`` with
``default_transport`` wrapped to set that option; nginx's h2c port answers nothing else, so a
successful run is an HTTP/2 run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import gzip
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # tests.nginx, tests.tlsca: the one nginx runner and CA maker
    sys.path.insert(0, str(REPO))

from tests.nginx import Nginx, nginx_binary  # noqa: E402
from tests.tlsca import make_ca  # noqa: E402

FLOOR = REPO / "scripts" / "floor.py"
LATENCY_PROXY = REPO / "scripts" / "latency_proxy.py"
DEFAULT_SNAPSHOT = Path("/work/shared/data/crates-io-index-2019-11-10.tar.xz")
DEFAULT_WORKDIR = Path("/tmp/registry-bench")
DEFAULT_PROJECTS = REPO / "tests" / "fixtures" / "projects"
# --projects names are looked up in --fixtures, then here (the ~800-package workspace).
EXTRA_PROJECTS = REPO / "scripts"
PACKAGES = ("registry", "cache", "query")

# Targets: registry median / baseline median (None: no target, shown for information).
TARGET_COLD = 0.5
TARGET_REVALIDATE = 0.3
TARGET_NULL = {"ripgrep": 0.7, "nushell": 0.35}
TARGET_FINGERPRINT = 0.5  # of registry's own full check
TARGET_QUERY_SECONDS = 0.050  # absolute median
# Network profiles (issue 15): the ~800-package workspace at 40 ms over TLS + HTTP/2.
TARGET_NETWORK = {("workspace800", 40.0): (0.35, 0.2)}  # (cold, revalidation)

KEEP_MARKER = "<!-- notes below this line are kept when bench.py rewrites the file -->"
BASELINE_MARK = "[baseline]"

LOOPBACK = "loopback"
TLS = "tls"


@dataclass(frozen=True)
class Profile:
    """``loopback``: every scenario over cleartext HTTP/1.1 (and h2c) on 127.0.0.1, no added
    latency. ``tls:RTT``: the fetch scenarios over TLS + HTTP/2 + gzip with ``RTT`` ms added by
    scripts/latency_proxy.py (none for 0)."""

    kind: str
    rtt_ms: float = 0.0

    @staticmethod
    def parse(text: str) -> Profile:
        kind, _, rtt = text.strip().partition(":")
        if kind == LOOPBACK and not rtt:
            return Profile(LOOPBACK)
        if kind == TLS:
            return Profile(TLS, float(rtt or 0))
        raise ValueError(f"unknown profile {text!r} (loopback, tls:RTT_MS)")

    @property
    def label(self) -> str:
        if self.kind == LOOPBACK:
            return "loopback HTTP/1.1"
        return f"TLS+HTTP/2+gzip, {self.rtt_ms:g} ms RTT"

    @property
    def spec(self) -> str:
        return LOOPBACK if self.kind == LOOPBACK else f"{TLS}:{self.rtt_ms:g}"


def shim(**fields: object) -> str:
    """``python -c`` code running registry's CLI with ``TransportOptions`` fields set (a frozen
    record: a copy with them replaced) where the CLI has no switch for them, through the
    console script's own entry point (`registry.__main__.entry`: it leaves without the
    interpreter's teardown, as the installed ``registry`` does)."""
    return (
        "import registry.transport.base as b;"
        "from query.record import replace;"
        "f=b.default_transport;"
        "T=b.TransportOptions;"
        f"b.default_transport=lambda o=None,*a:f(replace(o or T(),**{fields!r}),*a);"
        "from registry.__main__ import entry;"
        "entry()"
    )


H2_SHIM = shim(h2c_prior_knowledge=True)


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise BenchError(
            f"command failed ({proc.returncode}): {shlex.join(cmd)}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
        )
    return proc


def q(*parts: object) -> str:
    """One hyperfine command line (hyperfine -N splits it with POSIX shell-words rules)."""
    return shlex.join(str(p) for p in parts)


# --------------------------------------------------------------------------- setup


def compile_packages(python: str) -> list[str]:
    code = (
        "import importlib.util as u,os;"
        f"print('\\n'.join(os.path.dirname(u.find_spec(n).origin) for n in {PACKAGES!r}))"
    )
    dirs = run([python, "-c", code], cwd=Path("/")).stdout.split()  # not this checkout's
    run([python, "-m", "compileall", "-q", *dirs])
    return dirs


def stale_sources(dirs: list[str]) -> list[str]:
    """Sources whose .pyc is missing or out of date (others may be editing the tree)."""
    stale = []
    for d in dirs:
        for src in sorted(Path(d).rglob("*.py")):
            pyc = Path(importlib.util.cache_from_source(str(src)))
            try:
                head = pyc.read_bytes()[:16]
                st = src.stat()
            except OSError:
                stale.append(str(src))
                continue
            mtime = int.from_bytes(head[8:12], "little")
            size = int.from_bytes(head[12:16], "little")
            if int.from_bytes(head[4:8], "little") & 1:  # hash-based pyc: trust compileall
                continue
            if mtime != int(st.st_mtime) & 0xFFFFFFFF or size != st.st_size & 0xFFFFFFFF:
                stale.append(str(src))
    return stale


def source_digest(dirs: list[str]) -> str:
    h = hashlib.sha256()
    for d in dirs:
        for src in sorted(Path(d).rglob("*.py")):
            h.update(str(src).encode() + b"\0" + src.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def git_state() -> str:
    head = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", *PACKAGES], check=False
    ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    return f"{head or '?'}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def unpack_snapshot(snapshot: Path, workdir: Path) -> Path:
    index = workdir / "index"
    if (index / "config.json").is_file():
        log(f"reusing unpacked index {index}")
        return index
    log(f"unpacking {snapshot} into {index} …")
    staging = workdir / "index.unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(snapshot, "r:xz") as tar:
        tar.extractall(staging, filter="data")
    roots = [p for p in staging.iterdir() if p.is_dir()]
    root = roots[0] if len(roots) == 1 and not (staging / "config.json").exists() else staging
    if not (root / "config.json").is_file():
        raise BenchError(f"{snapshot}: no config.json at the top of the archive")
    root.rename(index)
    shutil.rmtree(staging, ignore_errors=True)
    # nginx workers may run as another user (nobody): make the tree world-readable.
    for dirpath, _dirs, _files in os.walk(index):
        os.chmod(dirpath, 0o755)
    return index


def precompress(index: Path) -> None:
    """Put a gzip copy next to every index file, for nginx's ``gzip_static`` (the TLS port).

    A CDN such as index.crates.io's keeps compressed copies and compresses nothing per request,
    on machines of its own. nginx compressing ~13 MB per cold workspace800 run on the fly
    (``gzip on``) spent its CPU on the same two cores as the clients under test, and the
    responses of the later connections arrived up to a round trip late. Done once per
    unpacked snapshot (a marker file records it)."""
    marker = index / ".precompressed"
    if marker.exists():
        return
    log(f"gzip copies of the index files for gzip_static (once) in {index} …")
    for dirpath, dirs, files in os.walk(index):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.endswith(".gz") or name.startswith("."):
                continue
            path = Path(dirpath) / name
            data = path.read_bytes()
            target = path.with_name(name + ".gz")
            target.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
            st = path.stat()
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    marker.write_text("gzip copies made\n")


class Servers:
    """nginx (tests/nginx.py) serving the index on three ports, and latency relays in front of
    its TLS port (scripts/latency_proxy.py), all children of this process.

    Ports: HTTP/1.1 (cleartext), h2c (prior knowledge) and TLS with HTTP/2 by ALPN and gzip, with
    a certificate from a throwaway CA (tests/tlsca.py) that cargo and registry are told to
    trust. The loopback profile uses the first two as before; a network profile uses the TLS
    port, directly for 0 ms or through a relay adding its round-trip time."""

    def __init__(self, workdir: Path, root: Path, python: str) -> None:
        self.workdir = workdir
        self.python = python
        self.tls = make_ca(workdir / "tls")
        self.nginx = Nginx(workdir / "nginx", 3, workers=2, access_log=False)
        self.relays: dict[float, tuple[subprocess.Popen[bytes], int]] = {}
        http1, h2c, _tls = self.nginx.ports
        self.http1 = f"sparse+http://127.0.0.1:{http1}/"
        self.h2c = f"sparse+http://127.0.0.1:{h2c}/"
        self.root = root

    def start(self) -> None:
        http1, h2c, tls = self.nginx.ports
        self.nginx.start(
            f"""
  server {{ listen 127.0.0.1:{http1}; default_type text/plain; root {self.root}; }}
  server {{ listen 127.0.0.1:{h2c} http2; default_type text/plain; root {self.root}; }}
  server {{
    listen 127.0.0.1:{tls} ssl http2;
    default_type text/plain;
    ssl_certificate {self.tls.cert};
    ssl_certificate_key {self.tls.key};
    # what index.crates.io speaks; nginx 1.22's default is TLSv1-TLSv1.2 (TLS 1.2: a
    # handshake costs 2 round trips instead of 1)
    ssl_protocols TLSv1.2 TLSv1.3;
    gzip on;
    gzip_types *;
    gzip_static on;  # the copies made by precompress(): nothing compressed per request
    root {self.root};
  }}
"""
        )
        log(f"nginx: HTTP/1.1, h2c and TLS on ports {self.nginx.ports}")

    def url(self, profile: Profile) -> str:
        """The sparse index URL of a profile (starting its relay on first use)."""
        if profile.kind == LOOPBACK:
            return self.http1
        port = self.nginx.ports[2]
        if profile.rtt_ms > 0:
            port = self.relay(profile.rtt_ms)
        return f"sparse+https://127.0.0.1:{port}/"

    def relay(self, rtt_ms: float) -> int:
        if rtt_ms not in self.relays:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(1024)
            proc = subprocess.Popen(
                [
                    self.python,
                    str(LATENCY_PROXY),
                    "--listen",
                    f"fd:{sock.fileno()}",
                    "--to",
                    f"127.0.0.1:{self.nginx.ports[2]}",
                    "--rtt-ms",
                    f"{rtt_ms:g}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=[sock.fileno()],
                start_new_session=True,
            )
            port = int(sock.getsockname()[1])
            sock.close()  # the relay holds its own copy
            self.relays[rtt_ms] = (proc, port)
            log(f"latency relay pid {proc.pid}: {rtt_ms:g} ms RTT on {port}")
        return self.relays[rtt_ms][1]

    def stop(self) -> None:
        for proc, _port in self.relays.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.nginx.stop()
        log("nginx and relays stopped")


# --------------------------------------------------------------------------- measuring


@dataclass
class Stat:
    name: str
    command: str
    median: float
    mean: float
    stddev: float
    low: float
    high: float
    runs: int


@dataclass
class Row:
    scenario: str
    project: str
    base: Stat
    ours: Stat
    target: float | None
    note: str = ""
    absolute: bool = False  # target is an absolute registry median (seconds)

    @property
    def ratio(self) -> float:
        return self.ours.median / self.base.median

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.absolute:
            return self.ours.median <= self.target
        return self.ratio <= self.target


@dataclass
class Context:
    python: str
    registry: str
    cargo: str
    hyperfine: str
    workdir: Path
    runs: int
    warmup: int
    rounds: int
    env: dict[str, str]
    dirs: list[str]
    project: str = ""
    stats: list[tuple[str, Stat]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # --baseline: another install's console script, timed next to ours in every registry command
    baseline: str | None = None
    baseline_python: str | None = None
    baseline_dirs: list[str] = field(default_factory=list)
    # whether the baseline has the modules the shim patches (an install from before the
    # restructure has neither registry.transport.base nor query.record)
    baseline_shims: bool = False

    @property
    def trash(self) -> Path:
        """Where `set_aside` moves emptied caches until `empty_trash`."""
        return self.workdir / "trash"


def baseline_twin(ctx: Context, command: str) -> str | None:
    """A registry command run by the --baseline install instead (None: not a registry one)."""
    if ctx.baseline is None or ctx.baseline_python is None:
        return None
    if command.startswith(q(ctx.registry)):
        return command.replace(q(ctx.registry), q(ctx.baseline), 1)
    shimmed = q(ctx.python, "-c") + " " + shlex.quote(H2_SHIM)[:40]
    if command.startswith(shimmed) and ctx.baseline_shims:
        return command.replace(q(ctx.python), q(ctx.baseline_python), 1)
    return None


def hyperfine(
    ctx: Context, label: str, cmds: list[tuple[str, str, str | None]], env: dict[str, str]
) -> dict[str, Stat]:
    """Time (name, command, prepare) triples side by side; statistics by name.

    The runs are split into ``ctx.rounds`` hyperfine invocations whose command order alternates
    (hyperfine runs all of one command, then the next), so a change of background load biases
    neither side; each round has its own warmups. Statistics are over all rounds' times.
    """
    if ctx.baseline is not None:
        # the same registry command from the baseline install, in the same rounds
        cmds = cmds + [
            (f"{name} {BASELINE_MARK}", twin, prepare)
            for name, command, prepare in cmds
            if (twin := baseline_twin(ctx, command)) is not None
        ]
    per_round = [ctx.runs // ctx.rounds + (i < ctx.runs % ctx.rounds) for i in range(ctx.rounds)]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cmds}
    log(f"hyperfine {label}: " + ", ".join(n for n, _, _ in cmds))
    for rnd, runs in enumerate(r for r in per_round if r > 0):
        order = cmds if rnd % 2 == 0 else cmds[::-1]
        out = ctx.workdir / "results" / f"{label}.round{rnd + 1}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [ctx.hyperfine, "-N", "--style", "basic", "--warmup", str(ctx.warmup)]
        argv += ["--runs", str(max(runs, 2)), "--export-json", str(out)]
        if any(p for _, _, p in order):
            for _, _, prepare in order:
                argv += ["--prepare", prepare or "true"]
        for name, command, _ in order:
            argv += ["--command-name", name, command]
        empty_trash(ctx.trash)
        for attempt in range(1, 4):
            # Bytecode must be current for the whole round: the tree may be edited meanwhile,
            # and with PYTHONDONTWRITEBYTECODE=1 a stale .pyc is recompiled on every run.
            run([ctx.python, "-m", "compileall", "-q", *ctx.dirs])
            if ctx.baseline_python is not None:
                run([ctx.baseline_python, "-m", "compileall", "-q", *ctx.baseline_dirs])
            proc = subprocess.run(
                argv,
                env=env,
                cwd=ctx.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                # a command failed (seen: cargo's HTTP/2 transfers stalling until its
                # low-speed timeout, with and without the relay): the round once more, noted
                if attempt == 3 or "non-zero exit code" not in proc.stdout:
                    raise BenchError(f"hyperfine {label} failed:\n{proc.stdout[-4000:]}")
                started = [ln for ln in proc.stdout.splitlines() if ln.startswith("Benchmark")]
                failed = started[-1] if started else "?"
                ctx.warnings.append(f"{label}: a run failed ({failed}); the round was run again")
                log(ctx.warnings[-1])
                continue
            stale = stale_sources(ctx.dirs)
            if not stale:
                break
            msg = f"{label}: sources edited during the runs ({', '.join(stale)})"
            if attempt == 3:
                ctx.warnings.append(msg + "; kept the third attempt")
            else:
                log(msg + "; recompiling and measuring again")
        empty_trash(ctx.trash)
        data = json.loads(out.read_text())
        for (name, _, _), res in zip(order, data["results"], strict=True):
            times[name] += res["times"]
    stats: dict[str, Stat] = {}
    for name, command, _ in cmds:
        t = times[name]
        st = Stat(
            name,
            command,
            statistics.median(t),
            statistics.fmean(t),
            statistics.stdev(t) if len(t) > 1 else 0.0,
            min(t),
            max(t),
            len(t),
        )
        stats[name] = st
        ctx.stats.append((ctx.project, st))
        log(f"  {name}: median {st.median * 1000:.1f} ms")
    return stats


def cache_files(root: Path) -> int:
    return sum(1 for p in root.glob("registry/index/*/.cache/**/*") if p.is_file())


def fingerprint_records(cache: Path) -> dict[str, int]:
    d = cache / "registry" / "fingerprints"
    return {p.name: p.stat().st_mtime_ns for p in d.glob("*.json")} if d.is_dir() else {}


def lock_crate(lock: Path) -> str:
    """serde==1.0.102 when serde is locked (the whole serde file is cached), else a locked one."""
    import tomllib

    data = tomllib.loads(lock.read_text())
    pkgs = [p for p in data.get("package", []) if str(p.get("source", "")).startswith("registry+")]
    if any(p["name"] == "serde" for p in pkgs):
        return "serde==1.0.102"
    if not pkgs:
        raise BenchError(f"{lock}: no registry package")
    return f"{pkgs[0]['name']}=={pkgs[0]['version']}"


def floor_rows(scenario: str, project: str, cargo: Stat, registry: Stat, floor: Stat) -> list[Row]:
    """The floor of a fetch scenario (scripts/floor.py) against cargo, and registry against it."""
    return [
        Row(f"{scenario}: floor vs cargo ⁴", project, cargo, floor, None),
        Row(f"{scenario}: registry vs floor ⁴", project, floor, registry, None),
    ]


def revalidation_rows(
    ctx: Context,
    label: str,
    project: str,
    manifest: Path,
    registry: tuple[object, ...],
    lock: Path,
    floor_args: tuple[object, ...],
    env: dict[str, str],
    target: float | None,
) -> list[Row]:
    """The revalidation scenario (every file answered 304) of one project and profile:
    `cargo update --dry-run` against ``registry`` (its command up to its global options)
    `--refresh fetch --lockfile` and the floor's ``revalidate floor_args``, warm."""
    s = hyperfine(
        ctx,
        label,
        [
            (
                "cargo update --dry-run",
                q(ctx.cargo, "update", "--dry-run", "--manifest-path", manifest),
                None,
            ),
            (
                "registry --refresh fetch",
                q(*registry, "--refresh", "fetch", "--lockfile", lock),
                None,
            ),
            (
                "floor revalidate (scripts/floor.py)",
                q(ctx.python, FLOOR, "revalidate", *floor_args),
                None,
            ),
        ],
        env,
    )
    cargo, ours = s["cargo update --dry-run"], s["registry --refresh fetch"]
    return [
        Row("revalidation, all 304", project, cargo, ours, target),
        *floor_rows("revalidation", project, cargo, ours, s["floor revalidate (scripts/floor.py)"]),
    ]


def cargo_home(home: Path, url: str) -> None:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        '[source.crates-io]\nreplace-with = "local-sparse"\n'
        f'[source.local-sparse]\nregistry = "{url}"\n'
    )


def set_aside(trash: Path, paths: list[Path], then: str) -> str:
    """A ``--prepare`` command that empties caches by moving ``paths`` into a fresh directory
    under ``trash`` (a rename each), then runs ``then``.

    Not ``rm -rf``: this disk is mounted with ``discard``, so deleting a cache of ~700 files
    and ~400 directories makes the next journal commits issue discards, and the timed run that
    follows pays for them in its own file creations (a cold registry fetch of workspace800 wrote
    its files in 0.5-0.8 s right after an ``rm -rf`` of the previous cache, 0.12-0.25 s into a
    fresh directory without one). `hyperfine` empties ``trash`` after each round, untimed.
    ``sync`` writes back what the previous run left dirty, so that no run pays for the writeback
    of the one before (cold runs write ~13 MB in ~1,100 new inodes each)."""
    moves = " ".join(q(p) for p in paths)
    script = (
        f"t=$(mktemp -d {q(trash)}/set-aside.XXXXXX) && "
        f'for p in {moves}; do if [ -e "$p" ]; then mv "$p" "$t"/; fi; done && sync && {then}'
    )
    return "sh -c " + shlex.quote(script)


def empty_trash(trash: Path) -> None:
    """Delete what `set_aside` moved away, and wait for the disk to settle (sync: the journal
    commit that issues the discards), so that no timed run pays for it."""
    if trash.exists():
        shutil.rmtree(trash)
        os.sync()
    trash.mkdir(parents=True, exist_ok=True)


def cargo_cold_prepare(trash: Path, home: Path, restore: str) -> str:
    """Empty cargo's caches (index, package-cache locks, global cache) and put Cargo.lock back."""
    return set_aside(
        trash,
        [
            home / "registry",
            home / ".package-cache",
            home / ".package-cache-mutate",
            home / ".global-cache",
        ],
        restore,
    )


def bench_network(
    ctx: Context, servers: Servers, profile: Profile, src: Path
) -> tuple[list[Row], list[str]]:
    """Cold fetch and revalidation of one project over a network profile (TLS + HTTP/2 + gzip,
    an added round trip): registry and the floor (scripts/floor.py) against cargo, as in the
    loopback rows."""
    name = src.name
    ctx.project = f"{name} @ {profile.label}"
    tag = f"{name}-{profile.kind}{profile.rtt_ms:g}"
    w = ctx.workdir
    proj = w / "projects" / name
    shutil.rmtree(proj, ignore_errors=True)
    shutil.copytree(src, proj)
    manifest, lock = proj / "Cargo.toml", proj / "Cargo.lock"
    orig = w / "projects" / f"{name}.Cargo.lock.orig"
    shutil.copy2(lock, orig)
    restore = q("cp", orig, lock)
    url = servers.url(profile)
    homes = {k: w / "cargo-home" / f"{tag}-{k}" for k in ("cold", "warm")}
    for home in homes.values():
        cargo_home(home, url)
    caches = {k: w / "registry-cache" / f"{tag}-{k}" for k in ("cold", "warm", "floor")}
    for cache in caches.values():
        shutil.rmtree(cache, ignore_errors=True)
    # cargo trusts the throwaway CA through its own setting; registry's CLI through the shim,
    # the floor through --cacert
    env = dict(ctx.env, CARGO_HTTP_CAINFO=str(servers.tls.ca))
    cold_env = dict(env, CARGO_HOME=str(homes["cold"]))
    warm_env = dict(env, CARGO_HOME=str(homes["warm"]))
    cargo, py = ctx.cargo, ctx.python
    reg = (py, "-c", shim(ca_file=str(servers.tls.ca)), "--index-url", url)
    floor_ca = ("--cacert", servers.tls.ca)

    log(f"{ctx.project}: warming cargo and registry caches")
    warmed = run(
        [cargo, "generate-lockfile", "--manifest-path", str(manifest)],
        env=warm_env,
        cwd=w,
        check=False,
    )
    if warmed.returncode != 0:
        # seen once through the relay at 20 ms: cargo's HTTP/2 transfers stalled until its
        # low-speed timeout; a second attempt goes on from what the first cached
        first = warmed.stderr.strip().splitlines()[-1:] or [""]
        ctx.warnings.append(f"{ctx.project}: cargo's warming run failed once ({first[0]})")
        run([cargo, "generate-lockfile", "--manifest-path", str(manifest)], env=warm_env, cwd=w)
    shutil.copy2(orig, lock)
    run(
        [cargo, "update", "--workspace", "--locked", "--manifest-path", str(manifest)],
        env=warm_env,
        cwd=w,
    )
    if lock.read_bytes() != orig.read_bytes():
        raise BenchError(f"{name}: cargo update --locked changed Cargo.lock")
    warm = caches["warm"]
    fetched = run(
        [*reg, "--cache-dir", str(warm), "fetch", "--lockfile", str(lock)], env=env, cwd=w
    )
    log(f"{ctx.project}: {fetched.stderr.strip() or fetched.stdout.strip()}")
    s = hyperfine(
        ctx,
        f"{tag}-cold",
        [
            (
                "cargo generate-lockfile",
                q(cargo, "generate-lockfile", "--manifest-path", manifest),
                cargo_cold_prepare(ctx.trash, homes["cold"], restore),
            ),
            (
                "registry fetch",
                q(*reg, "--cache-dir", caches["cold"], "fetch", "--lockfile", lock),
                set_aside(ctx.trash, [caches["cold"]], restore),
            ),
            (
                "floor cold (scripts/floor.py)",
                q(py, FLOOR, "cold", url, caches["floor"], lock, *floor_ca),
                set_aside(ctx.trash, [caches["floor"]], restore),
            ),
        ],
        cold_env,
    )
    shutil.copy2(orig, lock)
    cold_target, revalidate_target = TARGET_NETWORK.get((name, profile.rtt_ms), (None, None))
    rows = [
        Row(
            "cold fetch, empty cache",
            ctx.project,
            s["cargo generate-lockfile"],
            s["registry fetch"],
            cold_target,
        )
    ]
    rows += floor_rows(
        "cold fetch",
        ctx.project,
        s["cargo generate-lockfile"],
        s["registry fetch"],
        s["floor cold (scripts/floor.py)"],
    )
    rows += revalidation_rows(
        ctx,
        f"{tag}-revalidate",
        ctx.project,
        manifest,
        (*reg, "--cache-dir", warm),
        lock,
        (url, warm, lock, *floor_ca),
        warm_env,
        revalidate_target,
    )
    if lock.read_bytes() != orig.read_bytes():
        raise BenchError(f"{name}: cargo update --dry-run changed Cargo.lock")
    notes = [
        f"{ctx.project}: cold cargo fetched {cache_files(homes['cold'])} index files (fresh "
        f"resolution), registry {cache_files(caches['cold'])} (the lockfile's packages)"
    ]
    return rows, notes


def bench_project(ctx: Context, servers: Servers, src: Path) -> tuple[list[Row], list[str]]:
    name = src.name
    ctx.project = name
    w = ctx.workdir
    proj = w / "projects" / name
    shutil.rmtree(proj, ignore_errors=True)
    shutil.copytree(src, proj)
    manifest, lock = proj / "Cargo.toml", proj / "Cargo.lock"
    orig = w / "projects" / f"{name}.Cargo.lock.orig"
    shutil.copy2(lock, orig)
    url1 = servers.http1
    url2 = servers.h2c
    homes = {k: w / "cargo-home" / f"{name}-{k}" for k in ("cold", "warm")}
    for home in homes.values():
        cargo_home(home, url1)
    caches = {k: w / "registry-cache" / f"{name}-{k}" for k in ("cold", "h2cold", "warm", "floor")}
    for cache in caches.values():
        shutil.rmtree(cache, ignore_errors=True)
    restore = q("cp", orig, lock)
    cold_env = dict(ctx.env, CARGO_HOME=str(homes["cold"]))
    warm_env = dict(ctx.env, CARGO_HOME=str(homes["warm"]))
    cargo, reg, py = ctx.cargo, ctx.registry, ctx.python
    notes: list[str] = []

    # --- warm the caches and check every command once (untimed)
    log(f"{name}: warming cargo and registry caches")
    run([cargo, "generate-lockfile", "--manifest-path", str(manifest)], env=warm_env, cwd=w)
    shutil.copy2(orig, lock)
    run(
        [cargo, "update", "--workspace", "--locked", "--manifest-path", str(manifest)],
        env=warm_env,
        cwd=w,
    )
    run(
        [cargo, "update", "--workspace", "--locked", "--offline", "--manifest-path", str(manifest)],
        env=warm_env,
        cwd=w,
    )
    if lock.read_bytes() != orig.read_bytes():
        raise BenchError(f"{name}: cargo update --locked changed Cargo.lock")
    warm = caches["warm"]
    fetched = run(
        [reg, "--index-url", url1, "--cache-dir", str(warm), "fetch", "--lockfile", str(lock)],
        env=warm_env,
        cwd=w,
    )
    log(f"{name}: {fetched.stderr.strip() or fetched.stdout.strip()}")
    crate = lock_crate(lock)
    run(
        [reg, "--index-url", url1, "--cache-dir", str(warm), "--offline", "query", crate],
        env=warm_env,
        cwd=w,
    )
    # the cold commands once, to know which files each side fetches
    run([cargo, "generate-lockfile", "--manifest-path", str(manifest)], env=cold_env, cwd=w)
    shutil.copy2(orig, lock)
    run(
        [
            py,
            "-c",
            H2_SHIM,
            "--index-url",
            url2,
            "--cache-dir",
            str(caches["h2cold"]),
            "fetch",
            "--lockfile",
            str(lock),
        ],
        env=cold_env,
        cwd=w,
    )
    notes.append(
        f"{name}: cold cargo fetched {cache_files(homes['cold'])} index files (fresh resolution), "
        f"registry {cache_files(caches['h2cold'])} (the lockfile's packages)"
    )

    rows: list[Row] = []
    reg1 = (reg, "--index-url", url1)

    # --- cold fetch: empty caches before every run (and the lockfile put back)
    ch = homes["cold"]
    s = hyperfine(
        ctx,
        f"{name}-cold",
        [
            (
                "cargo generate-lockfile",
                q(cargo, "generate-lockfile", "--manifest-path", manifest),
                cargo_cold_prepare(ctx.trash, ch, restore),
            ),
            (
                "registry fetch (HTTP/1.1)",
                q(*reg1, "--cache-dir", caches["cold"], "fetch", "--lockfile", lock),
                set_aside(ctx.trash, [caches["cold"]], restore),
            ),
            (
                "registry fetch (h2c)",
                q(
                    py,
                    "-c",
                    H2_SHIM,
                    "--index-url",
                    url2,
                    "--cache-dir",
                    caches["h2cold"],
                    "fetch",
                    "--lockfile",
                    lock,
                ),
                set_aside(ctx.trash, [caches["h2cold"]], restore),
            ),
            (
                "floor cold (scripts/floor.py)",
                q(py, FLOOR, "cold", url1, caches["floor"], lock),
                set_aside(ctx.trash, [caches["floor"]], restore),
            ),
        ],
        cold_env,
    )
    shutil.copy2(orig, lock)
    rows.append(
        Row(
            "cold fetch, empty cache (HTTP/1.1)",
            name,
            s["cargo generate-lockfile"],
            s["registry fetch (HTTP/1.1)"],
            TARGET_COLD,
        )
    )
    rows.append(
        Row(
            "cold fetch, empty cache, registry over h2c ¹",
            name,
            s["cargo generate-lockfile"],
            s["registry fetch (h2c)"],
            TARGET_COLD,
        )
    )
    rows += floor_rows(
        "cold fetch",
        name,
        s["cargo generate-lockfile"],
        s["registry fetch (HTTP/1.1)"],
        s["floor cold (scripts/floor.py)"],
    )

    # --- revalidation: every file answered 304
    rows += revalidation_rows(
        ctx,
        f"{name}-revalidate",
        name,
        manifest,
        (*reg1, "--cache-dir", warm),
        lock,
        (url1, warm, lock),
        warm_env,
        TARGET_REVALIDATE,
    )

    # --- offline, warm: null check, fingerprint hit, validate
    check = (*reg1, "--cache-dir", warm, "--offline", "check", "--manifest-path", manifest)
    run([*map(str, check)], env=warm_env, cwd=w)  # store the fingerprint record
    before = fingerprint_records(warm)
    s = hyperfine(
        ctx,
        f"{name}-offline",
        [
            (
                "cargo update --workspace --locked --offline",
                q(
                    cargo,
                    "update",
                    "--workspace",
                    "--locked",
                    "--offline",
                    "--manifest-path",
                    manifest,
                ),
                None,
            ),
            ("registry check --no-fingerprint", q(*check, "--no-fingerprint"), None),
            ("registry check (fingerprint hit)", q(*check), None),
            (
                "registry validate",
                q(*reg1, "--cache-dir", warm, "--offline", "validate", lock),
                None,
            ),
        ],
        warm_env,
    )
    after = fingerprint_records(warm)
    if not before or any(after.get(k) != v for k, v in before.items()):
        notes.append(
            f"{name}: WARNING the fingerprint record was rewritten during the runs "
            "(some 'hits' were misses)"
        )
    if lock.read_bytes() != orig.read_bytes():
        raise BenchError(f"{name}: Cargo.lock changed during the offline runs")
    cargo_null = s["cargo update --workspace --locked --offline"]
    full = s["registry check --no-fingerprint"]
    rows.append(Row("null check, warm, offline", name, cargo_null, full, TARGET_NULL.get(name)))
    rows.append(
        Row(
            "fingerprint hit vs registry full check ²",
            name,
            full,
            s["registry check (fingerprint hit)"],
            TARGET_FINGERPRINT,
        )
    )
    rows.append(
        Row(
            "fingerprint hit vs cargo null check",
            name,
            cargo_null,
            s["registry check (fingerprint hit)"],
            None,
        )
    )
    rows.append(
        Row(
            "validate, warm, offline (vs cargo null check)",
            name,
            cargo_null,
            s["registry validate"],
            None,
        )
    )

    # --- exact query fast path vs a bare interpreter
    s = hyperfine(
        ctx,
        f"{name}-query",
        [
            ("python -c pass", q(py, "-c", "pass"), None),
            (
                f"registry query {crate}",
                q(*reg1, "--cache-dir", warm, "--offline", "query", crate),
                None,
            ),
        ],
        warm_env,
    )
    rows.append(
        Row(
            f"exact query `{crate}` vs `python -c pass` ³",
            name,
            s["python -c pass"],
            s[f"registry query {crate}"],
            TARGET_QUERY_SECONDS,
            absolute=True,
        )
    )
    return rows, notes


# --------------------------------------------------------------------------- report


def fmt_s(x: float) -> str:
    return f"{x:.3f} s"


def render(
    rows: list[Row], ctx: Context, facts: list[tuple[str, str]], notes: list[str], rerun: str
) -> str:
    out = ["# Benchmarks: registry vs cargo 1.95 on a local sparse index", ""]
    out += [f"- **{k}**: {v}" for k, v in facts]
    out += [
        "",
        "| scenario | project | cargo median | registry median | ratio | target | met? "
        "| ratio of mins |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.target is None:
            target, met = "-", "-"
        elif r.absolute:
            target, met = f"≤ {r.target * 1000:.0f} ms", "yes" if r.met else "**no**"
        else:
            target, met = f"≤ {r.target:g}x", "yes" if r.met else "**no**"
        out.append(
            f"| {r.scenario} | {r.project} | {fmt_s(r.base.median)} | "
            f"{fmt_s(r.ours.median)} | {r.ratio:.2f}x | {target} | {met} | "
            f"{r.ours.low / r.base.low:.2f}x |"
        )
    out += [
        "",
        'ratio = registry median / baseline median (the "cargo median" column holds the '
        'baseline; for rows marked ², ³ and "registry vs floor" it is not cargo). "ratio of '
        'mins" (fastest run of each) is less sensitive to other load on the machine.',
        "",
        "¹ cargo cannot speak cleartext HTTP/2, so its figure is the HTTP/1.1 one. The registry "
        "CLI has no h2c switch either: this row runs `registry.__main__.main` via `python -c` "
        "with `default_transport` wrapped to set `TransportOptions.h2c_prior_knowledge` (the h2c "
        "port answers nothing but HTTP/2).",
        "² baseline is registry's own full check (`check --no-fingerprint`).",
        "³ baseline is the venv's bare interpreter start; the target is the registry median "
        "itself ≤ 50 ms.",
        "⁴ the floor is `scripts/floor.py`: the least a Python process fetching through pycurl "
        "(the transport the design mandates) takes for the same files. It loads libcurl, scans "
        "the lockfile, requests config.json with every file in one batch (conditional requests "
        "when revalidating) over lanes of one connection each, as registry does, with "
        "timeouts, and on a cold run writes the `.cache` files in two processes; it checks "
        "nothing, keeps no integrity records, takes no lock, and a failed transfer only fails "
        'the run. "floor vs cargo" bounds the ratio any such client can reach; in the '
        '"registry vs floor" row the baseline column holds the floor.',
        "",
        "Cold runs: `--prepare` empties the cache (cargo: `$CARGO_HOME/registry`, "
        "`.package-cache*`, `.global-cache`; registry: its `--cache-dir`) by moving it aside "
        "(deleted between rounds, then `sync`: this disk is mounted with `discard`, and a run "
        "right after an `rm -rf` of ~1,100 inodes pays for it) and puts the original "
        "Cargo.lock back. `cargo generate-lockfile` resolves afresh (newest compatible "
        "versions), so it does not fetch exactly the lockfile's set of files:",
        "",
    ]
    out += [f"- {n}" for n in notes]
    if ctx.warnings:
        out += ["", "Warnings:", ""] + [f"- {w}" for w in ctx.warnings]
    twins = {(p, st.name): st for p, st in ctx.stats}
    pairs = [
        (p, st, twins[(p, f"{st.name} {BASELINE_MARK}")])
        for p, st in ctx.stats
        if (p, f"{st.name} {BASELINE_MARK}") in twins
    ]
    if pairs:
        out += [
            "",
            "## This code against the baseline install (--baseline), same runs",
            "",
            "| project | command | baseline median | this code median | ratio | ratio of mins |",
            "|---|---|---|---|---|---|",
        ]
        for p, st, base in pairs:
            out.append(
                f"| {p} | `{st.name}` | {fmt_s(base.median)} | {fmt_s(st.median)} | "
                f"{st.median / base.median:.3f}x | {st.low / base.low:.3f}x |"
            )
    out += [
        "",
        "## Every command (hyperfine, seconds)",
        "",
        "| project | command | median | mean ± sd | min | max | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for project, st in ctx.stats:
        out.append(
            f"| {project} | `{st.name}` | {st.median:.4f} | {st.mean:.4f} ± "
            f"{st.stddev:.4f} | {st.low:.4f} | {st.high:.4f} | {st.runs} |"
        )
    out += ["", "<details><summary>exact commands (ports are picked afresh each run)</summary>", ""]
    out += ["```"] + [f"[{project}] {st.name}: {st.command}" for project, st in ctx.stats]
    out += ["```", "", "</details>"]
    out += ["", "Rerun:", "", "```sh", rerun, "```", ""]
    return "\n".join(out)


def version_of(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return (proc.stdout.strip() or proc.stderr.strip()).splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3, help="warmup runs per command and round")
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="split the runs into this many hyperfine invocations, alternating command order",
    )
    ap.add_argument("--projects", default="ripgrep,nushell")
    ap.add_argument(
        "--profiles",
        default=LOOPBACK,
        help="comma-separated: loopback (every scenario, cleartext HTTP/1.1 and h2c), "
        "tls:RTT_MS (cold fetch and revalidation over TLS + HTTP/2 + gzip with RTT_MS added)",
    )
    ap.add_argument("--out", type=Path)
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_PROJECTS)
    ap.add_argument(
        "--baseline",
        type=Path,
        help="another virtualenv's python (an older install): its registry is timed next to "
        "this one in every registry command, and a before/after table is added",
    )
    args = ap.parse_args(argv)

    bindir = Path(sys.executable).parent
    python = str(bindir / "python") if (bindir / "python").exists() else sys.executable
    registry = bindir / "registry"
    if not registry.exists():
        ap.error(f"no registry console script next to {sys.executable}: run with the venv python")
    tools = {t: shutil.which(t) for t in ("cargo", "hyperfine")}
    missing = [t for t, p in tools.items() if p is None]
    nginx = nginx_binary()
    if missing or nginx is None:
        ap.error(f"missing: {', '.join(missing) or 'nginx'}")
    projects = []
    for p in (p.strip() for p in args.projects.split(",") if p.strip()):
        found = [d / p for d in (args.fixtures, EXTRA_PROJECTS) if (d / p / "Cargo.toml").is_file()]
        if not found:
            ap.error(f"no project {p} in {args.fixtures} or {EXTRA_PROJECTS}")
        projects.append(found[0])
    try:
        profiles = [Profile.parse(p) for p in args.profiles.split(",") if p.strip()]
    except ValueError as e:
        ap.error(str(e))

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    # also when started in the background, where SIGINT is inherited as ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    load_before = loadavg()
    started = dt.datetime.now(dt.UTC)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)

    dirs = compile_packages(python)
    log(f"byte-compiled {', '.join(dirs)}")
    code_before = (git_state(), source_digest(dirs))
    env = dict(os.environ)
    env.pop("REGISTRY_INDEX_URL", None)
    env.pop("REGISTRY_CACHE_DIR", None)
    env.pop("REGISTRY_OFFLINE", None)
    env.pop("REGISTRY_TOKEN", None)
    env["CARGO_TERM_COLOR"] = "never"
    ctx = Context(
        python,
        str(registry),
        str(tools["cargo"]),
        str(tools["hyperfine"]),
        workdir,
        args.runs,
        args.warmup,
        max(1, min(args.rounds, args.runs // 2)),
        env,
        dirs,
    )

    if args.baseline is not None:
        base_python = str(args.baseline)
        base_registry = args.baseline.parent / "registry"
        if not base_registry.exists():
            ap.error(f"no registry console script next to {args.baseline}")
        ctx.baseline = str(base_registry)
        ctx.baseline_python = base_python
        ctx.baseline_dirs = compile_packages(base_python)
        probe = [
            base_python,
            "-c",
            "import registry.transport.base, query.record; from registry.__main__ import entry",
        ]
        shims = subprocess.run(probe, check=False, capture_output=True)
        ctx.baseline_shims = shims.returncode == 0
        log(f"baseline: {base_registry} ({', '.join(ctx.baseline_dirs)})")

    lock = open(workdir / ".bench.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        log(f"another bench.py run is using {workdir}: pass another --workdir")
        return 1
    shutil.rmtree(workdir / "results", ignore_errors=True)
    index = unpack_snapshot(args.snapshot, workdir)
    if any(p.kind != LOOPBACK for p in profiles):
        precompress(index)
    servers = Servers(workdir, index, python)
    rows: list[Row] = []
    notes: list[str] = []
    loads: list[str] = []
    try:
        servers.start()
        for profile in profiles:
            for p in projects:
                before = loadavg()
                try:
                    if profile.kind == LOOPBACK:
                        r, n = bench_project(ctx, servers, p)
                    else:
                        r, n = bench_network(ctx, servers, profile, p)
                except BenchError as e:  # this project's rows are missing, the others stand
                    first = str(e).splitlines()[0]
                    ctx.warnings.append(f"{p.name} @ {profile.spec}: no figures ({first})")
                    log(f"error: {e}")
                    continue
                rows += r
                notes += n
                loads.append(f"{p.name} @ {profile.spec}: {before} → {loadavg()}")
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BenchError as e:
        log(f"error: {e}")
        return 1
    finally:
        servers.stop()

    load_after = loadavg()
    code_after = (git_state(), source_digest(dirs))
    code = f"{code_before[0]}; sources sha256 {code_before[1]}"
    if code_after != code_before:
        code += f" at the start, {code_after[1]} at the end (edited during the run)"
        ctx.warnings.append("the package sources changed during the run: figures mix versions")
    rerun = (
        "cd "
        + shlex.quote(str(REPO))
        + " && "
        + shlex.join(
            [python, "scripts/bench.py", "--runs", str(args.runs), "--projects", args.projects]
            + (["--profiles", args.profiles] if args.profiles != LOOPBACK else [])
            + (["--warmup", str(args.warmup)] if args.warmup != 3 else [])
            + (["--rounds", str(args.rounds)] if args.rounds != 2 else [])
            + (["--workdir", str(args.workdir)] if args.workdir != DEFAULT_WORKDIR else [])
            + (["--out", str(args.out)] if args.out else [])
        )
    )
    facts = [
        ("date", started.strftime("%Y-%m-%d %H:%M UTC")),
        (
            "machine",
            f"{platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
            f"{platform.system()} {platform.release()}",
        ),
        ("python", f"{platform.python_version()} ({python})"),
        ("code measured", code),
        ("cargo", version_of([ctx.cargo, "--version"])),
        (
            "hyperfine",
            version_of([ctx.hyperfine, "--version"])
            + f", -N, {args.runs} runs per command in {ctx.rounds} rounds of alternating order "
            f"(warmup {args.warmup} per round), medians; work dir {workdir}",
        ),
        (
            "nginx",
            version_of([nginx, "-v"])
            + ", 127.0.0.1: HTTP/1.1, h2c and TLS (HTTP/2 by ALPN, gzip, throwaway CA) ports; "
            + "added round trips by scripts/latency_proxy.py",
        ),
        ("profiles", ", ".join(p.label for p in profiles)),
        (
            "load average (1/5/15 min)",
            f"before {load_before}, after {load_after}; per project: " + "; ".join(loads),
        ),
    ]
    report = render(rows, ctx, facts, notes, rerun)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        # hand-written notes after the marker survive a rerun
        old = args.out.read_text() if args.out.is_file() else ""
        if KEEP_MARKER in old:
            report = report.rstrip("\n") + "\n\n" + old[old.index(KEEP_MARKER) :]
        args.out.write_text(report)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
