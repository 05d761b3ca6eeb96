"""Ask the real cargo how it judges one sparse-index line (issue 12 research).

`CargoProbe` serves a tiny sparse registry on 127.0.0.1 (`tests.httpserver.IndexServer`) that
holds the line under test as the only line of one crate's index file, makes a tiny project that
depends on that crate at an exact version, and runs cargo in an isolated `CARGO_HOME` whose
`config.toml` replaces crates.io with the test server (as in `/work/shared/data/README.md`).

Two cargo runs answer two questions:

* ``cargo generate-lockfile`` (no lockfile): the resolver's view. cargo 0.96.0 turns a line into
  one of `IndexSummary::{Candidate, Yanked, Unsupported, Invalid}` or drops it
  (`src/cargo/sources/registry/index/mod.rs`, `IndexSummary::parse`); when the only version is
  not a candidate, its "failed to select a version" error names the variant
  (`src/cargo/core/resolver/errors.rs:257-296`): ``is yanked``, ``requires a Cargo version that
  supports index version N`` / ``requires cargo X`` (unsupported), ``index entry is invalid``;
  a dropped line leaves no version at all (``no matching package named``).
* ``cargo update --workspace --locked`` with a `Cargo.lock` that pins the version (optional): the
  lockfile view (a yanked locked version is accepted, the others are refused).

With ``CARGO_LOG=cargo::sources::registry::index=info`` cargo also logs *why*: "recoverying from
failed parse of registry package NAME@VERS: ERR" (the line became `Invalid`) or "failed to parse
"PATH" registry package: ERR" (the line was dropped). `reason` carries that text.

Run ``python -m tests.cargo_probe LINE`` (or ``-`` for stdin) to probe one line by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from tests.httpserver import IndexServer, index_path

__all__ = [
    "VERDICTS",
    "CargoProbe",
    "ProbeResult",
    "cargo_env",
    "classify",
]

#: The verdicts, in the words of `IndexSummary` (`usable` is `Candidate`); `other` means the
#: resolution of the probe dependency failed for a reason that names no variant;
#: `name-mismatch`: no version of that name, but cargo suggests a similar name ("perhaps you
#: meant"), or no version and no parse error in the log: the line parsed, under another name
#: (e.g. another case); `panic`: cargo crashed ("panicked at") while reading the line. A failure to
#: resolve one of the line's own dependencies still means `usable` (cargo used the line).
VERDICTS = (
    "usable",
    "yanked",
    "invalid",
    "unsupported",
    "dropped",
    "name-mismatch",
    "panic",
    "other",
)

LOG_FILTER = "cargo::sources::registry::index=info"

#: The index line of `helper 1.0.0`, always served next to the probed crate.
HELPER_LINE = (
    '{"name":"helper","vers":"1.0.0","deps":[],"cksum":"' + "1" * 64 + '",'
    '"features":{"hf":[]},"yanked":false}'
)

_RECOVER = re.compile(r"recoverying from failed parse of registry package (.*?)@(\S*?): (.*)$")
_FAILED = re.compile(r'failed to parse "[^"]*" registry package: (.*)$')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOGLINE = re.compile(r"^\s*\d+\.\d+s\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s")


@dataclass(frozen=True)
class ProbeResult:
    """cargo's verdict on one line (see the module docstring)."""

    verdict: str
    #: cargo's parse error for an invalid or dropped line (from its info log), else "".
    reason: str
    #: `cargo update --workspace --locked` on a lockfile pinning the version: "accepted",
    #: "refused", or "" when not asked.
    locked: str
    #: the first lines of cargo's error message (generate-lockfile), "" on success.
    message: str
    #: the same for the locked run ("" when accepted or not asked).
    locked_message: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cargo_env(home: Path) -> dict[str, str]:
    """The environment for an isolated cargo: no CARGO_*/proxy variables from outside."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARGO_", "REGISTRY_", "RUSTUP_TOOLCHAIN"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        CARGO_HOME=str(home),
        CARGO_TERM_COLOR="never",
        CARGO_HTTP_MULTIPLEXING="false",
        CARGO_NET_RETRY="0",
        CARGO_LOG=LOG_FILTER,
        CARGO_LOG_COLOR="never",
        NO_COLOR="1",
    )
    return env


def write_home(home: Path, server_url: str) -> None:
    """A CARGO_HOME whose crates.io is the test server (source replacement)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "[source.crates-io]\n"
        'replace-with = "local-sparse"\n'
        "[source.local-sparse]\n"
        f'registry = "sparse+{server_url}"\n'
        "[net]\n"
        "retry = 0\n"
    )


def log_reasons(stderr: str) -> tuple[list[str], list[str]]:
    """(invalid reasons, dropped reasons) from cargo's info log lines."""
    invalid: list[str] = []
    dropped: list[str] = []
    for raw in stderr.splitlines():
        line = _ANSI.sub("", raw)
        if m := _RECOVER.search(line):
            invalid.append(m.group(3))
        elif m := _FAILED.search(line):
            dropped.append(m.group(1))
    return invalid, dropped


def error_message(stderr: str) -> str:
    """cargo's user-facing error (the log lines removed), first lines only."""
    keep = [
        _ANSI.sub("", ln)
        for ln in stderr.splitlines()
        if not _LOGLINE.match(_ANSI.sub("", ln))
        and "Updating " not in ln
        and "Locking " not in ln
        and not ln.lstrip().startswith("Adding ")
    ]
    text = "\n".join(k for k in keep if k.strip())
    return text[:600]


def classify(rc: int, stderr: str, dep_name: str, version: str) -> str:
    """The verdict a `cargo generate-lockfile` run shows for `version` of `dep_name`.

    A failure to resolve one of the line's own dependencies ("... which satisfies dependency
    `probe = ...`") means cargo took the line as a candidate: `usable`. Anything else that
    names no variant (e.g. the project's manifest is refused) is `other`.
    """
    if rc == 0:
        return "usable"
    if "panicked at" in stderr:
        return "panic"
    v = re.escape(version)
    if re.search(rf"version {v}'s index entry is invalid", stderr):
        return "invalid"
    if re.search(rf"version {v} is yanked", stderr):
        return "yanked"
    if re.search(
        rf"version {v} requires (a Cargo version that supports index version|cargo )", stderr
    ):
        return "unsupported"
    n = re.escape(dep_name)
    if re.search(rf"searched package name: `{n}`\nperhaps you meant", stderr):
        return "name-mismatch"
    if re.search(
        rf"no matching package (named `{n}` found|found\nsearched package name: `{n}`)", stderr
    ):
        return "dropped"
    if re.search(rf"which satisfies dependency `{n} = ", stderr):
        # the failure is about a dependency *of* the probe crate: cargo used the line
        return "usable"
    return "other"


class CargoProbe:
    """One test server and one scratch directory; `probe(line)` runs cargo on one line.

    Every probe writes the crate's index file afresh and uses a fresh CARGO_HOME, so nothing
    cached by an earlier probe can leak into the next one.
    """

    def __init__(self, cargo: str | None = None, workdir: Path | None = None) -> None:
        found = cargo or shutil.which("cargo")
        if found is None:
            raise RuntimeError("cargo is not installed")
        self.cargo = found
        self._own_tmp = workdir is None
        self.work = Path(tempfile.mkdtemp(prefix="cargo-probe-")) if workdir is None else workdir
        self.root = self.work / "index"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.json").write_text('{"dl": "http://127.0.0.1:9/dl"}')
        # A valid crate the probed lines may depend on (so their dependencies resolve).
        (self.root / "he" / "lp").mkdir(parents=True)
        (self.root / "he" / "lp" / "helper").write_text(HELPER_LINE + "\n")
        self.server = IndexServer(self.root)
        self._count = 0

    def __enter__(self) -> CargoProbe:
        self.server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.server.stop()
        if self._own_tmp:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- one probe ---------------------------------------------------------------------------

    def probe(
        self,
        line: bytes | str,
        *,
        crate: str = "probe",
        dep_name: str | None = None,
        version: str = "1.0.0",
        locked: bool = False,
        extra_lines: Sequence[bytes] = (),
    ) -> ProbeResult:
        """cargo's verdict on `line` as the index line of `crate` (file `index_path(crate)`).

        The project depends on `dep_name` (default `crate`) ``= "=version"``. `extra_lines` are
        written after `line` in the same file (for duplicate-version cases).
        """
        data = line.encode() if isinstance(line, str) else line
        self._count += 1
        run = self.work / f"run{self._count}"
        run.mkdir()
        try:
            body = data + b"\n" + b"".join(x + b"\n" for x in extra_lines)
            self.server.write(index_path(crate), body)
            name = dep_name or crate
            home = run / "home"
            write_home(home, self.server.url)
            project = run / "project"
            self._write_project(project, name, version)
            started = time.monotonic()
            gen = self._cargo(["generate-lockfile"], project, home)
            verdict = classify(gen.returncode, gen.stderr, name, version)
            invalid, dropped = log_reasons(gen.stderr)
            if verdict in ("dropped", "other") and re.search(
                r"no matching package|candidate versions found which didn't match", gen.stderr
            ):
                # no version `version` of that name: dropped if cargo logged a parse failure,
                # else the line parsed under another name (or another version)
                verdict = "dropped" if dropped else "name-mismatch"
            reason = "; ".join(invalid or dropped)
            lock_verdict = lock_message = ""
            if locked:
                lock_verdict, lock_message = self._locked(project, home, name, version, data)
            seconds = time.monotonic() - started
            message = "" if gen.returncode == 0 else error_message(gen.stderr)
            return ProbeResult(
                verdict, reason, lock_verdict, message, lock_message, round(seconds, 3)
            )
        finally:
            shutil.rmtree(run, ignore_errors=True)

    def _write_project(self, project: Path, dep_name: str, version: str) -> None:
        (project / "src").mkdir(parents=True)
        (project / "src" / "lib.rs").write_text("")
        (project / "Cargo.toml").write_text(
            "[package]\n"
            'name = "probe-root"\n'
            'version = "0.0.0"\n'
            'edition = "2021"\n'
            "[dependencies]\n"
            f'{json.dumps(dep_name)} = "={version}"\n'
        )

    def _locked(
        self, project: Path, home: Path, name: str, version: str, line: bytes
    ) -> tuple[str, str]:
        """`cargo update --workspace --locked` on a lockfile pinning `name` `version`.

        The lockfile is the one `generate-lockfile` just wrote when it succeeded, else a minimal
        one (the root and the probe crate, with the line's `cksum` when it has one).
        """
        if (project / "Cargo.lock").is_file():
            shutil.rmtree(home / "registry", ignore_errors=True)
            upd = self._cargo(["update", "--workspace", "--locked"], project, home)
            if upd.returncode == 0:
                return "accepted", ""
            return "refused", error_message(upd.stderr)
        cksum = ""
        try:
            parsed = json.loads(line)
            if isinstance(parsed, dict) and isinstance(parsed.get("cksum"), str):
                cksum = parsed["cksum"]
                cksum.encode("utf-8")  # a lone surrogate cannot go into TOML
        except ValueError:  # also UnicodeEncodeError
            cksum = ""
        checksum = f"checksum = {json.dumps(cksum)}\n" if cksum else ""
        (project / "Cargo.lock").write_text(
            "# This file is automatically @generated by Cargo.\n"
            "# It is not intended for manual editing.\n"
            "version = 4\n\n"
            "[[package]]\n"
            f"name = {json.dumps(name)}\n"
            f'version = "{version}"\n'
            'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
            f"{checksum}\n"
            "[[package]]\n"
            'name = "probe-root"\n'
            'version = "0.0.0"\n'
            "dependencies = [\n"
            f" {json.dumps(name)},\n"
            "]\n"
        )
        shutil.rmtree(home / "registry", ignore_errors=True)
        upd = self._cargo(["update", "--workspace", "--locked"], project, home)
        if upd.returncode == 0:
            return "accepted", ""
        return "refused", error_message(upd.stderr)

    def _cargo(
        self, args: list[str], project: Path, home: Path
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cargo, *args],
            cwd=project,
            env=cargo_env(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
            check=False,
        )


def iter_lines(arg: str) -> Iterator[bytes]:
    if arg == "-":
        for raw in sys.stdin.buffer:
            yield raw.rstrip(b"\n")
    else:
        yield arg.encode()


def main(argv: Sequence[str]) -> int:
    if not argv:
        print("usage: python -m tests.cargo_probe LINE|- [--locked]", file=sys.stderr)
        return 2
    locked = "--locked" in argv
    args = [a for a in argv if a != "--locked"]
    with CargoProbe() as probe:
        for arg in args:
            for line in iter_lines(arg):
                result = probe.probe(line, locked=locked)
                print(json.dumps({"line": line.decode("utf-8", "replace"), **result.as_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
