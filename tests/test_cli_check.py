"""``registry validate`` and ``registry check`` through the command line: in-process
(``registry.cli.run`` and ``registry.__main__.main``, which tries the fast path first) and as
``python -m registry``. Exit codes are the same for every format; JSON follows
docs/report-schema.md; GitHub annotations point at the offending line; ``-q`` prints only
problems; no traceback ever."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.checkutil import (
    INDEX,
    PROJECTS,
    Result,
    count_forks,
    edit,
    edit_package,
    isolate,
    package_line,
    run_sub,
)
from tests.httpserver import IndexServer
from tests.test_report import SCHEMA_DOC, check_schema

FORMATS = ("human", "json", "github", "sarif")
REGEX_SUM = "6b23da8dfd98a84bd7e08700190a5d9f7d2d38abd4369dd1dae651bc40bfd2cc"
BAD_SUM = "0" * 64


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def run_in(capsys: pytest.CaptureFixture[str], *argv: str, entry: str = "cli") -> Result:
    if entry == "cli":
        from registry.cli import run
    else:
        from registry.__main__ import main as run
    capsys.readouterr()
    code = run(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return Result(code, out, err)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of ripgrep as the current directory, so paths print as ``Cargo.lock``."""
    target = tmp_path / "ripgrep"
    shutil.copytree(PROJECTS / "ripgrep", target)
    (target / "Cargo.lock").write_bytes((target / "Cargo.lock.v4").read_bytes())
    monkeypatch.chdir(target)
    return target


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def base(cache: Path, *extra: str) -> list[str]:
    return ["--index-url", str(INDEX), "--cache-dir", str(cache), *extra]


# ---------------------------------------------------------------------------------------------
# inputs with a known verdict


def sound(workdir: Path) -> None:
    pass


def problems(workdir: Path) -> None:
    lock = workdir / "Cargo.lock"
    lock.write_text(edit_package(lock.read_text(), "regex", "1.2.0", REGEX_SUM, BAD_SUM))


def malformed(workdir: Path) -> None:
    (workdir / "Cargo.lock").write_text('version = 4\n\n[[package]\nname = "x"\n')


INPUTS = {"sound": (sound, 0), "problems": (problems, 1), "malformed": (malformed, 2)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(INPUTS))
@pytest.mark.parametrize("command", ["validate", "check"])
def test_exit_code_is_the_same_in_every_format(
    capsys: pytest.CaptureFixture[str],
    workdir: Path,
    cache: Path,
    command: str,
    case: str,
    fmt: str,
) -> None:
    mutate, expected = INPUTS[case]
    mutate(workdir)
    args = ["--no-fingerprint"] if command == "check" else []
    result = run_in(capsys, *base(cache), command, *args, "--format", fmt)
    assert result.code == expected, result.out + result.err
    if expected == 2:
        assert result.out == ""
        assert len(result.err.splitlines()) == 1
        assert result.err.startswith("error: ")
        assert "Cargo.lock" in result.err
        assert "line 3, column" in result.err
    elif fmt == "json":
        report = json.loads(result.out)
        check_schema(report)
        assert report["exit_code"] == expected
    elif fmt == "sarif":
        sarif = json.loads(result.out)
        assert sarif["runs"][0]["invocations"][0]["exitCode"] == expected


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", ["validate", "check"])
def test_unknown_exit_3_in_every_format(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path, command: str, fmt: str
) -> None:
    """Offline on an empty cache of a served registry: nothing wrong found, nothing checked."""
    args = ["--no-fingerprint"] if command == "check" else []
    with IndexServer(INDEX) as server:
        head = ["--index-url", "sparse+" + server.url, "--cache-dir", str(cache), "--offline"]
        result = run_in(capsys, *head, command, *args, "--format", fmt)
        assert result.code == 3, result.out + result.err
        for policy in ("warn", "ignore"):
            relaxed = run_in(capsys, *head, command, *args, "--format", fmt, f"--unknown={policy}")
            assert relaxed.code == 0, (policy, relaxed.out)
        assert server.requests == []
    if fmt == "json":
        report = json.loads(result.out)
        check_schema(report)
        assert report["status"] == "unknown"
        assert report["summary"]["unknown"] == 65


def test_exit_codes_through_a_subprocess(workdir: Path, cache: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["CARGO_HOME"] = str(tmp_path / "cargo-home-empty")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    for command in ("validate", "check"):
        for fmt in FORMATS:
            result = run_sub(*base(cache), command, "--format", fmt, cwd=workdir, env=env)
            assert result.code == 0, (command, fmt, result.err)
    problems(workdir)
    codes = {
        (command, fmt): run_sub(*base(cache), command, "--format", fmt, cwd=workdir, env=env)
        for command in ("validate", "check")
        for fmt in FORMATS
    }
    assert {key: r.code for key, r in codes.items()} == {key: 1 for key in codes}
    malformed(workdir)
    for command in ("validate", "check"):
        result = run_sub(*base(cache), command, cwd=workdir, env=env)
        assert result.code == 2
        assert len(result.err.splitlines()) == 1
    result = run_sub(*base(cache), "validate", "--format", "xml", cwd=workdir, env=env)
    assert result.code == 2  # bad usage


# ---------------------------------------------------------------------------------------------
# github annotations


def test_github_annotation_for_a_mutated_checksum(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    problems(workdir)
    line = package_line((workdir / "Cargo.lock").read_text(), "regex", "1.2.0")
    for command, extra in (("validate", []), ("check", ["--no-fingerprint"])):
        result = run_in(capsys, *base(cache), command, *extra, "--format", "github")
        assert result.code == 1
        annotations = [x for x in result.out.splitlines() if x.startswith("::")]
        assert annotations == [
            f"::error file=Cargo.lock,line={line},title=checksum-mismatch::regex 1.2.0: "
            f"lockfile checksum {BAD_SUM} is not the index cksum {REGEX_SUM}"
        ]
        assert re.match(rf"::error file=Cargo\.lock,line={line}\b", annotations[0])


def test_github_annotation_for_a_manifest_mismatch(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    edit(workdir / "Cargo.toml", 'regex = "1.0.5"', 'regex = "1.3"')
    manifest_line = (workdir / "Cargo.toml").read_text().splitlines().index('regex = "1.3"') + 1
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "github")
    assert result.code == 1
    annotations = [x for x in result.out.splitlines() if x.startswith("::")]
    assert annotations == [
        f"::error file=Cargo.toml,line={manifest_line},title=unsatisfied-requirement::"
        'regex = "1.3" in Cargo.toml, lock has regex 1.2.0'
    ]


def _annotations(result: Result) -> list[str]:
    return [x for x in result.out.splitlines() if x.startswith("::")]


def _line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_annotation_of_a_dependency_after_a_blank_line(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    edit(workdir / "Cargo.toml", 'regex = "1.0.5"\n', '\n\nregex = "1.3"\n')
    line = _line_of(workdir / "Cargo.toml", 'regex = "1.3"')
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "github")
    assert result.code == 1
    assert _annotations(result) == [
        f"::error file=Cargo.toml,line={line},title=unsatisfied-requirement::"
        'regex = "1.3" in Cargo.toml, lock has regex 1.2.0'
    ]


def test_annotation_of_a_dotted_workspace_dependency(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    edit(workdir / "Cargo.toml", 'regex = "1.0.5"\n', "regex.workspace = true\n")
    edit(
        workdir / "Cargo.toml",
        "[workspace]\n",
        '[workspace.dependencies]\nregex = "1.3"\n\n[workspace]\n',
    )
    line = _line_of(workdir / "Cargo.toml", "regex.workspace = true")
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "github")
    assert result.code == 1
    assert _annotations(result) == [
        f"::error file=Cargo.toml,line={line},title=unsatisfied-requirement::"
        'regex = "1.3" in Cargo.toml, lock has regex 1.2.0'
    ]


def test_annotation_of_a_dependency_in_two_tables_is_given_once(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    edit(workdir / "Cargo.toml", 'serde = "1.0.77"\n', 'serde = "1.0.77"\nregex = "1.3"\n')
    edit(workdir / "Cargo.toml", 'regex = "1.0.5"\n', 'regex = "1.3"\n')
    line = _line_of(workdir / "Cargo.toml", 'regex = "1.3"')  # the first: [dependencies]
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "github")
    assert result.code == 1
    assert _annotations(result) == [
        f"::error file=Cargo.toml,line={line},title=unsatisfied-requirement::"
        'regex = "1.3" in Cargo.toml, lock has regex 1.2.0'
    ]


def test_annotation_of_a_header_table_and_a_target_table(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    manifest = workdir / "Cargo.toml"
    edit(
        manifest, '[dependencies.clap]\nversion = "2.32.0"', '[dependencies.clap]\nversion = "2.34"'
    )
    edit(manifest, 'jemallocator]\nversion = "0.3.0"', 'jemallocator]\nversion = "0.4"')
    clap = _line_of(manifest, "[dependencies.clap]")
    jemalloc = next(
        i + 1
        for i, x in enumerate(manifest.read_text().splitlines())
        if x.endswith("jemallocator]")
    )
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "github")
    assert result.code == 1
    lines = sorted(int(re.search(r",line=(\d+),", a).group(1)) for a in _annotations(result))  # type: ignore[union-attr]
    assert lines == [clap, jemalloc]


def test_github_yanked_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "alacritty"
    shutil.copytree(PROJECTS / "alacritty", target)
    monkeypatch.chdir(target)
    line = package_line((target / "Cargo.lock").read_text(), "libflate", "0.1.23")
    result = run_in(capsys, *base(cache), "validate", "--format", "github")
    assert result.code == 0
    assert result.out.startswith(
        f"::warning file=Cargo.lock,line={line},title=yanked::libflate 0.1.23 is yanked\n"
    )
    denied = run_in(capsys, *base(cache), "validate", "--format", "github", "--deny-yanked")
    assert denied.code == 1
    assert denied.out.startswith(f"::error file=Cargo.lock,line={line},title=yanked::")


# ---------------------------------------------------------------------------------------------
# JSON report against docs/report-schema.md


def documented_mismatch_codes() -> set[str]:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    row = next(x for x in text.splitlines() if x.startswith("| `code` |") and "unsatisfied" in x)
    return set(re.findall(r"`([a-z-]+)`", row.split("|")[3]))


def test_json_reports_follow_the_schema(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    reports: list[dict[str, Any]] = []
    for command, extra in (("validate", []), ("check", ["--no-fingerprint"])):
        result = run_in(capsys, *base(cache), command, *extra, "--format", "json")
        assert result.code == 0
        reports.append(json.loads(result.out))
    problems(workdir)
    edit(workdir / "Cargo.toml", 'regex = "1.0.5"', 'regex = "1.3"')
    edit(workdir / "Cargo.toml", 'bstr = "0.2.0"\n', "")
    for command, extra in (("validate", []), ("check", ["--no-fingerprint"])):
        result = run_in(capsys, *base(cache), command, *extra, "--format", "json")
        assert result.code == 1
        reports.append(json.loads(result.out))
    for report in reports:
        check_schema(report)
        assert report["lockfile"] == "Cargo.lock"
        assert report["from_fingerprint"] is False
    validate_report, check_report = reports[2], reports[3]
    assert validate_report["command"] == "validate"
    assert validate_report["summary"]["problems"] == 1
    assert check_report["command"] == "check"
    codes = [m["code"] for m in check_report["mismatches"]]
    assert codes == ["unsatisfied-requirement", "stale-dependency"]
    unsatisfied = check_report["mismatches"][0]
    assert unsatisfied["file"] == "Cargo.toml"
    assert (
        unsatisfied["line"]
        == (workdir / "Cargo.toml").read_text().splitlines().index('regex = "1.3"') + 1
    )
    assert check_report["summary"]["problems"] == 3  # regex's checksum + two mismatches


def test_every_mismatch_code_is_documented() -> None:
    import query.nullbuild

    source = Path(query.nullbuild.__file__).read_text(encoding="utf-8")
    emitted = set(re.findall(r'(?:self\.add\(\s*|Mismatch\(\s*)"([a-z-]+)"', source))
    assert {"unsatisfied-requirement", "stale-package", "unknown"} <= emitted
    assert emitted <= documented_mismatch_codes()


def test_documented_mismatch_codes_parse() -> None:
    assert {"unsatisfied-requirement", "member-missing", "unknown"} <= documented_mismatch_codes()


# ---------------------------------------------------------------------------------------------
# -q


@pytest.mark.parametrize("entry", ["cli", "main"])
def test_quiet_prints_only_problems(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path, entry: str
) -> None:
    for command, extra in (("validate", []), ("check", ["--no-fingerprint"])):
        clean = run_in(capsys, *base(cache, "-q"), command, *extra, entry=entry)
        assert (clean.code, clean.out, clean.err) == (0, "", "")
        loud = run_in(capsys, *base(cache), command, *extra, entry=entry)
        assert loud.code == 0 and loud.out.strip()
    problems(workdir)
    for command, extra in (("validate", []), ("check", ["--no-fingerprint"])):
        quiet = run_in(capsys, *base(cache, "-q"), command, *extra, entry=entry)
        assert quiet.code == 1
        assert quiet.out.splitlines() == [
            "checksum-mismatch (1 error)",
            f"  regex 1.2.0 (line {package_line((workdir / 'Cargo.lock').read_text(), 'regex')}):"
            f" lockfile checksum {BAD_SUM} is not the index cksum {REGEX_SUM}",
        ]
        assert "problem" not in quiet.out.split("\n")[0] or "error" in quiet.out.split("\n")[0]
        github = run_in(capsys, *base(cache, "-q"), command, *extra, "--format", "github")
        assert github.out.splitlines() == [
            x for x in github.out.splitlines() if x.startswith("::error ")
        ]


def test_quiet_with_a_yanked_warning_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "alacritty"
    shutil.copytree(PROJECTS / "alacritty", target)
    monkeypatch.chdir(target)
    result = run_in(capsys, *base(cache, "-q"), "validate")
    assert result.code == 0
    assert result.out.splitlines() == [
        "yanked (1 warning)",
        "  libflate 0.1.23 (line 971): is yanked",
    ]


# ---------------------------------------------------------------------------------------------
# check-specific command-line behaviour


def test_check_finds_the_workspace_root_from_a_member(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    result = run_in(
        capsys, *base(cache), "check", "--no-fingerprint", "--manifest-path", "grep-cli/Cargo.toml"
    )
    assert result.code == 0, result.out + result.err
    assert result.out.startswith("Cargo.toml: up to date")


def test_check_in_a_subdirectory_finds_the_manifest_above(
    capsys: pytest.CaptureFixture[str],
    workdir: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --manifest-path, the first Cargo.toml in the current directory or a parent, as
    cargo finds it; with fingerprints too (the record is keyed by the manifest found)."""
    monkeypatch.chdir(workdir / "grep-cli" / "src")
    for options in (["--no-fingerprint"], [], []):
        result = run_in(capsys, *base(cache), "check", *options)
        assert result.code == 0, result.out + result.err
        assert result.out.startswith("../../Cargo.toml: up to date")


def test_check_without_a_lockfile(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    (workdir / "Cargo.lock").unlink()
    result = run_in(capsys, *base(cache), "check", "--no-fingerprint", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert [m["code"] for m in report["mismatches"]] == ["member-missing"]


@pytest.mark.parametrize(
    ("manifest", "fragment"),
    [
        ('[package\nname = "x"\n', "line 1, column"),
        ("[package]\nname = 5\n", "package.name"),
        ('[workspace]\nmembers = ["nope"]\n', "nope/Cargo.toml"),
    ],
    ids=["malformed-toml", "bad-name", "missing-member"],
)
def test_check_bad_manifest_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, cache: Path, manifest: str, fragment: str
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "Cargo.toml").write_text(manifest)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run_in(capsys, *base(cache), "check", "--manifest-path", str(project / "Cargo.toml"))
    assert result.code == 2, result.out + result.err
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert fragment in result.err
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert [p for p in after if p not in before and not str(p).startswith("cache")] == []


def test_validate_defaults_to_cargo_lock_in_the_current_directory(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path
) -> None:
    result = run_in(capsys, *base(cache), "validate")
    assert result.code == 0
    assert result.out.startswith("Cargo.lock: sound (65 packages checked, 10 skipped)")


def test_help_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_in(capsys, "--help")
    assert result.code == 0
    for line in ("0  answered", "1  not found", "2  bad usage or input", "3  could not answer"):
        assert line in result.out


def test_feature_mismatches_point_at_the_member_manifest(
    capsys: pytest.CaptureFixture[str], workdir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing feature of a member's dependency: the member's manifest, at the dependency's
    line; paths relative to the current directory when run from outside the project."""
    edit(
        workdir / "grep-cli" / "Cargo.toml",
        'atty = "0.2.11"',
        'atty = { version = "0.2.11", features = ["nope"] }',
    )
    monkeypatch.chdir(workdir.parent)
    result = run_in(
        capsys,
        *base(cache),
        "check",
        "--no-fingerprint",
        "--manifest-path",
        "ripgrep/Cargo.toml",
        "--format",
        "github",
    )
    assert result.code == 1
    annotations = [x for x in result.out.splitlines() if x.startswith("::")]
    assert annotations == [
        "::error file=ripgrep/grep-cli/Cargo.toml,line=16,title=missing-feature::"
        "atty 0.2.13 has no feature `nope`, which grep-cli 0.1.3 asks for"
    ]


@pytest.mark.parametrize("where", ["local", "offline"])
@pytest.mark.parametrize("command", ["validate", "check"])
def test_forked_and_serial_judging_agree(
    command: str,
    where: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """nushell's 313 packages are judged in two processes (registry/parallel.py); problems
    planted in both halves come out the same, in the same order, as with REGISTRY_JOBS=1.
    ``local``: the cache is read before the fork; ``offline`` (a sparse cache filled from a
    server that is gone, so no thread runs): each process reads its own half."""
    from registry import parallel

    target = tmp_path / "nushell"
    shutil.copytree(PROJECTS / "nushell", target)
    monkeypatch.chdir(target)
    cache = tmp_path / "cache"
    index = ["--index-url", str(INDEX)]
    if where == "offline":
        (target / "Cargo.lock").write_bytes((target / "Cargo.lock.v4").read_bytes())
        with IndexServer(INDEX) as server:
            index = ["--index-url", "sparse+" + server.url]
            fetch = ("fetch", "--lockfile", "Cargo.lock")
            fetched = run_in(capsys, *index, "--cache-dir", str(cache), *fetch)
            assert fetched.code == 0, fetched.err
        index.append("--offline")
    text = (target / "Cargo.lock.v4").read_text()
    text = edit_package(
        text,
        "adler32",
        "1.0.4",
        "5d2e7343e7fc9de883d1b0341e0b13970f764c14101234857d2ddafa1cb1cac2",
        BAD_SUM,
    )
    text = edit_package(text, "widestring", "0.4.0", 'version = "0.4.0"', 'version = "0.4.99"')
    text = edit_package(text, "winapi", "0.3.8", ' "winapi-i686-pc-windows-gnu",\n', "")
    (target / "Cargo.lock").write_text(text)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    forks = count_forks(monkeypatch)
    argv = [*index, "--cache-dir", str(cache), command, "--format", "json", "--unknown", "warn"]
    if command == "check":
        argv.append("--no-fingerprint")
    forked = run_in(capsys, *argv)
    assert forks, "the judging did not fork"
    monkeypatch.setenv("REGISTRY_JOBS", "1")
    forks.clear()
    serial = run_in(capsys, *argv)
    assert not forks
    assert forked == serial
    assert forked.code == 1
    report = forked.json()
    found = {
        (p["name"], p["version"]): [x["code"] for x in p["problems"]]
        for p in report["packages"]
        if p["problems"]
    }
    missing = "missing-version" if where == "local" else "unknown"  # offline: maybe stale
    assert found == {
        ("adler32", "1.0.4"): ["checksum-mismatch"],
        ("widestring", "0.4.99"): [missing],
        ("winapi", "0.3.8"): ["dep-mismatch"],
    }
