"""registry.render.verdict: exact human/github text, JSON against docs/report-schema.md,
SARIF 2.1.0."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from query.validate import WARNING
from query.verdict import (
    ERROR,
    OK,
    PROBLEM,
    UNKNOWN,
    Mismatch,
    PackageResult,
    Problem,
    Verdict,
)
from registry.options import UNKNOWN_POLICIES
from registry.render.verdict import (
    FORMATS,
    escape_data,
    escape_property,
    render,
    render_github,
    render_human,
    render_json,
    render_sarif,
)

CRATES = "registry+https://github.com/rust-lang/crates.io-index"
PRIVATE = "sparse+https://corp.example/index/"
VERSION = "9.9.9"
SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "report-schema.md"
RED, YELLOW, GREEN, RESET = "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[0m"


def pkg(
    name: str, version: str, line: int | None, status: str = OK, *problems: Problem
) -> PackageResult:
    return PackageResult(CRATES, name, version, line, status, problems)


SERDE_CKSUM = Problem(
    "checksum-mismatch", "serde 1.0.102: lockfile checksum aaaa is not the index cksum bbbb"
)
SERDE_YANKED = Problem("yanked", "serde 1.0.102 is yanked", WARNING)
FOO_MISSING = Problem(
    "missing-version", f"foo has no version 0.3.0 in {CRATES} (newest known: 0.2.9)"
)
BAR_UNKNOWN = Problem("unknown", "offline and not cached")

SOUND = Verdict(
    "validate",
    "Cargo.lock",
    (pkg("itoa", "0.4.4", 10), pkg("ryu", "1.0.2", 20)),
    skipped=3,
)
WARNED = Verdict("validate", "Cargo.lock", (pkg("serde", "1.0.102", 412, OK, SERDE_YANKED),))
UNKNOWN_ONLY = Verdict(
    "validate",
    "Cargo.lock",
    (pkg("itoa", "0.4.4", 10), PackageResult(PRIVATE, "bar", "2.0.0", 30, UNKNOWN, (BAR_UNKNOWN,))),
)
PROBLEMS = Verdict(
    "validate",
    "Cargo.lock",
    (
        pkg("serde", "1.0.102", 412, PROBLEM, SERDE_CKSUM, SERDE_YANKED),
        pkg("foo", "0.3.0", 90, PROBLEM, FOO_MISSING),
        PackageResult(PRIVATE, "bar", "2.0.0", None, UNKNOWN, (BAR_UNKNOWN,)),
        pkg("itoa", "0.4.4", 10),
    ),
    skipped=1,
)
UP_TO_DATE = Verdict("check", "ws/Cargo.lock", from_fingerprint=True)
STALE = Verdict(
    "check",
    "Cargo.lock",
    mismatches=(
        Mismatch(
            "unsatisfied-requirement",
            "app requires rand ^0.8, but the lock has rand 0.7.3",
            "crates/app/Cargo.toml",
            7,
        ),
        Mismatch(
            "stale-package", "old 1.0.0 is locked but nothing depends on it", "Cargo.lock", 40
        ),
        Mismatch("member-missing", "member crates/new is not in the lockfile", "Cargo.toml"),
        Mismatch("unknown", "rand: offline and not cached"),
    ),
)


def with_policy(verdict: Verdict, policy: str) -> Verdict:
    return Verdict(
        verdict.command,
        verdict.lockfile,
        verdict.packages,
        verdict.mismatches,
        verdict.skipped,
        policy,
        verdict.from_fingerprint,
    )


# --- human -------------------------------------------------------------------------------------

PROBLEMS_BODY = [
    "missing-version (1 error)",
    f"  foo 0.3.0 (line 90): has no version 0.3.0 in {CRATES} (newest known: 0.2.9)",
    "checksum-mismatch (1 error)",
    "  serde 1.0.102 (line 412): lockfile checksum aaaa is not the index cksum bbbb",
    "yanked (1 warning)",
    "  serde 1.0.102 (line 412): is yanked",
]
STALE_BODY = [
    "unsatisfied-requirement (1 error)",
    "  crates/app/Cargo.toml:7: app requires rand ^0.8, but the lock has rand 0.7.3",
    "stale-package (1 error)",
    "  Cargo.lock:40: old 1.0.0 is locked but nothing depends on it",
    "member-missing (1 error)",
    "  Cargo.toml: member crates/new is not in the lockfile",
]

HUMAN = [
    # (verdict, policy, quiet, expected lines)
    (SOUND, "error", False, ["Cargo.lock: sound (2 packages checked, 3 skipped)"]),
    (SOUND, "error", True, []),
    (
        WARNED,
        "error",
        False,
        [
            "Cargo.lock: sound, 1 warning (1 package checked)",
            "",
            "yanked (1 warning)",
            "  serde 1.0.102 (line 412): is yanked",
        ],
    ),
    (WARNED, "error", True, ["yanked (1 warning)", "  serde 1.0.102 (line 412): is yanked"]),
    (
        UNKNOWN_ONLY,
        "error",
        False,
        [
            "Cargo.lock: no problems found, 1 unknown (2 packages checked)",
            "",
            "unknown (1 error)",
            "  bar 2.0.0 (line 30): offline and not cached",
        ],
    ),
    (
        UNKNOWN_ONLY,
        "warn",
        False,
        [
            "Cargo.lock: sound, 1 unknown (2 packages checked)",
            "",
            "unknown (1 warning)",
            "  bar 2.0.0 (line 30): offline and not cached",
        ],
    ),
    (UNKNOWN_ONLY, "ignore", False, ["Cargo.lock: sound (2 packages checked)"]),
    (UNKNOWN_ONLY, "ignore", True, []),
    (
        PROBLEMS,
        "error",
        False,
        [
            "Cargo.lock: 2 problems, 1 unknown, 1 warning (4 packages checked, 1 skipped)",
            "",
            *PROBLEMS_BODY,
            "unknown (1 error)",
            "  bar 2.0.0: offline and not cached",
        ],
    ),
    (
        PROBLEMS,
        "warn",
        True,
        [*PROBLEMS_BODY, "unknown (1 warning)", "  bar 2.0.0: offline and not cached"],
    ),
    (
        PROBLEMS,
        "ignore",
        False,
        [
            "Cargo.lock: 2 problems, 1 warning (4 packages checked, 1 skipped)",
            "",
            *PROBLEMS_BODY,
        ],
    ),
    (UP_TO_DATE, "error", False, ["ws/Cargo.toml: up to date (unchanged since the last check)"]),
    (UP_TO_DATE, "error", True, []),
    (
        STALE,
        "error",
        False,
        [
            "Cargo.toml: 3 problems, 1 unknown",
            "",
            *STALE_BODY,
            "unknown (1 error)",
            "  rand: offline and not cached",
        ],
    ),
    (STALE, "ignore", True, STALE_BODY),
]


@pytest.mark.parametrize(("verdict", "policy", "quiet", "expected"), HUMAN)
def test_human_exact(verdict: Verdict, policy: str, quiet: bool, expected: list[str]) -> None:
    verdict = with_policy(verdict, policy)
    text = render(verdict, "human", color=False, quiet=quiet, tool_version=VERSION)
    assert text == "\n".join(expected)
    assert "\x1b" not in text


def test_human_color_exact() -> None:
    assert render_human(PROBLEMS, color=True).split("\n") == [
        f"{RED}Cargo.lock: 2 problems, 1 unknown, 1 warning (4 packages checked, 1 skipped){RESET}",
        "",
        f"{RED}missing-version (1 error){RESET}",
        PROBLEMS_BODY[1],
        f"{RED}checksum-mismatch (1 error){RESET}",
        PROBLEMS_BODY[3],
        f"{YELLOW}yanked (1 warning){RESET}",
        PROBLEMS_BODY[5],
        f"{RED}unknown (1 error){RESET}",
        "  bar 2.0.0: offline and not cached",
    ]
    assert render_human(SOUND, color=True) == (
        f"{GREEN}Cargo.lock: sound (2 packages checked, 3 skipped){RESET}"
    )
    assert render_human(UNKNOWN_ONLY, color=True).split("\n")[0] == (
        f"{RED}Cargo.lock: no problems found, 1 unknown (2 packages checked){RESET}"
    )


def test_group_counts_and_lockfile_order_within_group() -> None:
    verdict = Verdict(
        "validate",
        "Cargo.lock",
        (
            pkg("b", "1.0.0", 5, PROBLEM, Problem("checksum-mismatch", "b 1.0.0: x")),
            pkg("a", "1.0.0", 9, PROBLEM, Problem("checksum-mismatch", "a 1.0.0: y")),
        ),
    )
    assert render_human(verdict, quiet=True).split("\n") == [
        "checksum-mismatch (2 errors)",
        "  b 1.0.0 (line 5): x",
        "  a 1.0.0 (line 9): y",
    ]


# --- unknown policy x exit code ------------------------------------------------------------------

EXIT_TABLE = [
    # (verdict, {policy: (exit code, status)})
    (SOUND, {"error": (0, "sound"), "warn": (0, "sound"), "ignore": (0, "sound")}),
    (WARNED, {"error": (0, "sound"), "warn": (0, "sound"), "ignore": (0, "sound")}),
    (UNKNOWN_ONLY, {"error": (3, "unknown"), "warn": (0, "sound"), "ignore": (0, "sound")}),
    (PROBLEMS, {"error": (1, "problems"), "warn": (1, "problems"), "ignore": (1, "problems")}),
    (
        UP_TO_DATE,
        {"error": (0, "up-to-date"), "warn": (0, "up-to-date"), "ignore": (0, "up-to-date")},
    ),
    (
        Verdict("check", "Cargo.lock", mismatches=(Mismatch("unknown", "rand: offline"),)),
        {"error": (3, "unknown"), "warn": (0, "up-to-date"), "ignore": (0, "up-to-date")},
    ),
    (STALE, {"error": (1, "problems"), "warn": (1, "problems"), "ignore": (1, "problems")}),
]


@pytest.mark.parametrize(
    ("verdict", "policy", "code", "status"),
    [(v, p, c, s) for v, table in EXIT_TABLE for p, (c, s) in table.items()],
)
def test_exit_code_same_in_every_format(
    verdict: Verdict, policy: str, code: int, status: str
) -> None:
    verdict = with_policy(verdict, policy)
    assert (verdict.exit_code, verdict.status) == (code, status)
    report = json.loads(render_json(verdict, tool_version=VERSION))
    assert (report["exit_code"], report["status"], report["unknown_policy"]) == (
        code,
        status,
        policy,
    )
    sarif = json.loads(render_sarif(verdict, tool_version=VERSION))
    assert sarif["runs"][0]["invocations"][0]["exitCode"] == code
    failing = [line for line in render_github(verdict).split("\n") if line.startswith("::error")]
    assert bool(failing) == (code != 0)


def test_every_policy_covered() -> None:
    assert {p for _, table in EXIT_TABLE for p in table} == set(UNKNOWN_POLICIES)


# --- json --------------------------------------------------------------------------------------

PROBLEMS_JSON: dict[str, Any] = {
    "schema": "registry-report",
    "schema_version": 1,
    "tool": {"name": "registry", "version": VERSION},
    "command": "validate",
    "lockfile": "Cargo.lock",
    "status": "problems",
    "exit_code": 1,
    "unknown_policy": "warn",
    "summary": {"checked": 4, "skipped": 1, "problems": 2, "unknown": 1, "warnings": 1},
    "packages": [
        {
            "source": CRATES,
            "name": "serde",
            "version": "1.0.102",
            "line": 412,
            "status": "problem",
            "problems": [
                {"code": "checksum-mismatch", "severity": "error", "message": SERDE_CKSUM.message},
                {"code": "yanked", "severity": "warning", "message": "serde 1.0.102 is yanked"},
            ],
        },
        {
            "source": CRATES,
            "name": "foo",
            "version": "0.3.0",
            "line": 90,
            "status": "problem",
            "problems": [
                {"code": "missing-version", "severity": "error", "message": FOO_MISSING.message}
            ],
        },
        {
            "source": PRIVATE,
            "name": "bar",
            "version": "2.0.0",
            "line": None,
            "status": "unknown",
            "problems": [
                {"code": "unknown", "severity": "warning", "message": "offline and not cached"}
            ],
        },
        {
            "source": CRATES,
            "name": "itoa",
            "version": "0.4.4",
            "line": 10,
            "status": "ok",
            "problems": [],
        },
    ],
    "mismatches": [],
    "from_fingerprint": False,
}


def test_json_exact() -> None:
    text = render(
        with_policy(PROBLEMS, "warn"), "json", color=True, quiet=True, tool_version=VERSION
    )
    report = json.loads(text)
    assert report == PROBLEMS_JSON
    assert list(report) == list(PROBLEMS_JSON)  # stable key order
    assert [list(p) for p in report["packages"]] == [list(PROBLEMS_JSON["packages"][0])] * 4


def test_json_mismatches_and_ignored_unknown() -> None:
    report = json.loads(render_json(with_policy(STALE, "ignore"), tool_version=VERSION))
    assert report["mismatches"] == [
        {
            "code": "unsatisfied-requirement",
            "severity": "error",
            "message": "app requires rand ^0.8, but the lock has rand 0.7.3",
            "file": "crates/app/Cargo.toml",
            "line": 7,
        },
        {
            "code": "stale-package",
            "severity": "error",
            "message": "old 1.0.0 is locked but nothing depends on it",
            "file": "Cargo.lock",
            "line": 40,
        },
        {
            "code": "member-missing",
            "severity": "error",
            "message": "member crates/new is not in the lockfile",
            "file": "Cargo.toml",
            "line": None,
        },
        {
            "code": "unknown",
            "severity": "note",
            "message": "rand: offline and not cached",
            "file": None,
            "line": None,
        },
    ]
    assert report["summary"] == {
        "checked": 0,
        "skipped": 0,
        "problems": 3,
        "unknown": 1,
        "warnings": 0,
    }


def doc_tables() -> dict[str, list[str]]:
    """The documented keys: section heading -> first-column names of its first table."""
    tables: dict[str, list[str]] = {}
    heading = ""
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif (m := re.match(r"\| `([a-z_-]+)` \|", line)) and heading:
            tables.setdefault(heading, []).append(m.group(1))
    return tables


DOC = doc_tables()
TOP = DOC["Top-level object"]
SUMMARY = DOC["`summary`"]
PACKAGE = DOC["`packages[]`"]
PACKAGE_PROBLEM = DOC["`packages[].problems[]`"]
MISMATCH = DOC["`mismatches[]` (`check`)"]
PROBLEM_CODES = set(PACKAGE_PROBLEM[len(["code", "severity", "message"]) :])


def test_doc_tables_parsed() -> None:
    assert TOP[:2] == ["schema", "schema_version"]
    assert PACKAGE_PROBLEM[:3] == ["code", "severity", "message"]
    assert {
        "checksum-mismatch",
        "yanked",
        "missing-version",
        "missing-crate",
        "dep-mismatch",
        "unknown",
    } <= PROBLEM_CODES


def check_schema(report: dict[str, Any]) -> None:
    """The rules of docs/report-schema.md, with the key lists taken from the document itself."""
    assert list(report) == TOP
    assert report["schema"] == "registry-report"
    assert report["schema_version"] == 1
    assert list(report["tool"]) == ["name", "version"]
    assert report["tool"]["name"] == "registry"
    assert isinstance(report["tool"]["version"], str)
    assert report["command"] in ("validate", "check")
    assert isinstance(report["lockfile"], str)
    status_exit = {"sound": 0, "up-to-date": 0, "problems": 1, "unknown": 3}
    assert status_exit[report["status"]] == report["exit_code"]
    assert (report["status"] == "sound") <= (report["command"] == "validate")
    assert (report["status"] == "up-to-date") <= (report["command"] == "check")
    assert report["unknown_policy"] in UNKNOWN_POLICIES
    assert isinstance(report["from_fingerprint"], bool)
    summary = report["summary"]
    assert list(summary) == SUMMARY
    assert all(type(v) is int and v >= 0 for v in summary.values())
    packages, mismatches = report["packages"], report["mismatches"]
    assert summary["checked"] == len(packages)
    if report["command"] == "validate":
        assert mismatches == []
    severities = {"error", "warning", "note"}
    unknown_severity = {"error": "error", "warn": "warning", "ignore": "note"}
    for package in packages:
        assert list(package) == PACKAGE
        assert all(isinstance(package[k], str) for k in ("source", "name", "version"))
        assert package["line"] is None or (type(package["line"]) is int and package["line"] >= 1)
        assert package["status"] in ("ok", "problem", "unknown")
        errors = 0
        for problem in package["problems"]:
            assert list(problem) == PACKAGE_PROBLEM[:3]
            assert problem["code"] in PROBLEM_CODES
            assert problem["severity"] in severities
            assert isinstance(problem["message"], str)
            if problem["code"] == "unknown":
                assert problem["severity"] == unknown_severity[report["unknown_policy"]]
                assert package["status"] == "unknown"
            elif problem["code"] != "yanked":
                assert problem["severity"] == "error"
            errors += problem["severity"] == "error" and problem["code"] != "unknown"
        assert (package["status"] == "problem") == (errors > 0)
    for mismatch in mismatches:
        assert list(mismatch) == MISMATCH
        assert mismatch["file"] is None or isinstance(mismatch["file"], str)
        assert mismatch["line"] is None or type(mismatch["line"]) is int
        expected = (
            unknown_severity[report["unknown_policy"]] if mismatch["code"] == "unknown" else "error"
        )
        assert mismatch["severity"] == expected
    assert summary["problems"] == sum(p["status"] == "problem" for p in packages) + sum(
        m["code"] != "unknown" for m in mismatches
    )
    assert summary["unknown"] == sum(p["status"] == "unknown" for p in packages) + sum(
        m["code"] == "unknown" for m in mismatches
    )
    assert summary["warnings"] == sum(
        q["severity"] != "error" and q["code"] != "unknown" for p in packages for q in p["problems"]
    )


ALL_VERDICTS = [SOUND, WARNED, UNKNOWN_ONLY, PROBLEMS, UP_TO_DATE, STALE]


@pytest.mark.parametrize("policy", UNKNOWN_POLICIES)
@pytest.mark.parametrize("verdict", ALL_VERDICTS)
def test_json_follows_documented_schema(verdict: Verdict, policy: str) -> None:
    check_schema(json.loads(render_json(with_policy(verdict, policy), tool_version=VERSION)))


# --- github ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "text", "expected"),
    [
        (escape_data, "100% done", "100%25 done"),
        (escape_data, "a\r\nb", "a%0D%0Ab"),
        (escape_data, "a:b,c", "a:b,c"),
        (escape_data, "%0A", "%250A"),
        (escape_property, "C:/x,y", "C%3A/x%2Cy"),
        (escape_property, "50%\n", "50%25%0A"),
    ],
)
def test_escaping(function: Any, text: str, expected: str) -> None:
    assert function(text) == expected


def test_github_exact() -> None:
    text = render(PROBLEMS, "github", color=False, quiet=False, tool_version=VERSION)
    assert text.split("\n") == [
        f"::error file=Cargo.lock,line=90,title=missing-version::{FOO_MISSING.message}",
        f"::error file=Cargo.lock,line=412,title=checksum-mismatch::{SERDE_CKSUM.message}",
        "::warning file=Cargo.lock,line=412,title=yanked::serde 1.0.102 is yanked",
        "::error file=Cargo.lock,title=unknown::bar 2.0.0: offline and not cached",
        "",
        render_human(PROBLEMS).split("\n")[0],
        "",
        *PROBLEMS_BODY,
        "unknown (1 error)",
        "  bar 2.0.0: offline and not cached",
    ]


def test_github_escaping_and_locations() -> None:
    verdict = Verdict(
        "check",
        "we,ird:dir/Cargo.lock",
        (pkg("foo", "0.3.0", 90, PROBLEM, FOO_MISSING),),
        mismatches=(
            Mismatch("member-version", "50% done\r\nnext", "a:b,c/Cargo.toml", 3),
            Mismatch("member-extra", "x, y: z", "Cargo.toml"),
            Mismatch("unknown", "registry said 500"),
        ),
        unknown_policy="warn",
    )
    assert render_github(verdict, quiet=True).split("\n") == [
        "::error file=we%2Cird%3Adir/Cargo.lock,line=90,title=missing-version::"
        + FOO_MISSING.message,
        "::error file=Cargo.toml,title=member-extra::x, y: z",
        "::error file=a%3Ab%2Cc/Cargo.toml,line=3,title=member-version::50%25 done%0D%0Anext",
        "::warning title=unknown::registry said 500",
    ]
    assert render_github(with_policy(verdict, "ignore"), quiet=True).count("\n") == 2


def test_github_sound_is_the_human_text() -> None:
    assert render_github(SOUND) == render_human(SOUND)
    assert render_github(SOUND, quiet=True) == ""
    assert render_github(WARNED, quiet=True) == (
        "::warning file=Cargo.lock,line=412,title=yanked::serde 1.0.102 is yanked"
    )


# --- sarif -------------------------------------------------------------------------------------


def sarif_of(verdict: Verdict, policy: str = "error") -> dict[str, Any]:
    text = render(
        with_policy(verdict, policy), "sarif", color=True, quiet=True, tool_version=VERSION
    )
    sarif: dict[str, Any] = json.loads(text)
    # required by SARIF 2.1.0: version, runs[], runs[].tool.driver.name, results[].message.text
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "registry"
    assert driver["version"] == VERSION
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    for result in run["results"]:
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert result["level"] in ("error", "warning", "note")
        assert ids[result["ruleIndex"]] == result["ruleId"]
        for location in result.get("locations", []):
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            if "region" in physical:
                assert physical["region"]["startLine"] >= 1
    return sarif


def summarize(sarif: dict[str, Any]) -> list[tuple[str, str, str | None, int | None]]:
    rows = []
    for result in sarif["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"] if "locations" in result else {}
        uri = physical["artifactLocation"]["uri"] if physical else None
        rows.append(
            (result["ruleId"], result["level"], uri, physical.get("region", {}).get("startLine"))
        )
    return rows


def test_sarif_problems() -> None:
    sarif = sarif_of(PROBLEMS)
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "missing-version",
        "checksum-mismatch",
        "yanked",
        "unknown",
    ]
    assert [r["defaultConfiguration"]["level"] for r in run["tool"]["driver"]["rules"]] == [
        "error",
        "error",
        "warning",
        "error",
    ]
    assert summarize(sarif) == [
        ("missing-version", "error", "Cargo.lock", 90),
        ("checksum-mismatch", "error", "Cargo.lock", 412),
        ("yanked", "warning", "Cargo.lock", 412),
        ("unknown", "error", "Cargo.lock", None),
    ]
    assert run["results"][1]["message"]["text"] == SERDE_CKSUM.message
    assert run["results"][3]["message"]["text"] == "bar 2.0.0: offline and not cached"
    assert run["invocations"][0]["exitCode"] == 1


@pytest.mark.parametrize(
    ("policy", "unknown_rows"),
    [
        ("error", [("unknown", "error", None, None)]),
        ("warn", [("unknown", "warning", None, None)]),
        ("ignore", []),
    ],
)
def test_sarif_check_locations_and_policy(policy: str, unknown_rows: list[Any]) -> None:
    sarif = sarif_of(STALE, policy)
    assert summarize(sarif) == [
        ("unsatisfied-requirement", "error", "crates/app/Cargo.toml", 7),
        ("stale-package", "error", "Cargo.lock", 40),
        ("member-missing", "error", "Cargo.toml", None),
        *unknown_rows,
    ]
    ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert ("unknown" in ids) == bool(unknown_rows)


def test_sarif_sound_has_no_results_and_uri_is_a_uri_reference() -> None:
    sarif = sarif_of(SOUND)
    assert sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["tool"]["driver"]["rules"] == []
    spaced = Verdict(
        "validate",
        "my project/Cargo.lock",
        (pkg("foo", "0.3.0", 90, PROBLEM, FOO_MISSING),),
    )
    assert summarize(sarif_of(spaced)) == [
        ("missing-version", "error", "my%20project/Cargo.lock", 90)
    ]


# --- dispatch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_dispatch(fmt: str) -> None:
    direct = {
        "human": lambda: render_human(PROBLEMS, color=True, quiet=False),
        "json": lambda: render_json(PROBLEMS, tool_version=VERSION),
        "github": lambda: render_github(PROBLEMS, color=True, quiet=False),
        "sarif": lambda: render_sarif(PROBLEMS, tool_version=VERSION),
    }[fmt]()
    assert render(PROBLEMS, fmt, color=True, quiet=False, tool_version=VERSION) == direct
    assert not direct.endswith("\n")


def test_render_rejects_bad_format_and_policy() -> None:
    with pytest.raises(ValueError, match="format"):
        render(SOUND, "xml", color=False, quiet=False, tool_version=VERSION)
    with pytest.raises(ValueError, match="policy"):
        render(with_policy(SOUND, "fatal"), "json", color=False, quiet=False, tool_version=VERSION)


def test_severity_constants_agree() -> None:
    assert (ERROR, WARNING) == ("error", "warning")
