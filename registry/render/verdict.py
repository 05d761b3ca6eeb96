"""Renderings of a ``validate``/``check`` :class:`~query.verdict.Verdict` (pure: no click, no I/O).

Every function returns a string without a trailing newline; the CLI prints it (and prints nothing
for an empty string, which ``quiet`` human output is when there is nothing to report). The exit
code never depends on the format: it is always ``verdict.exit_code``.

Formats (:data:`FORMATS`)::

    human   verdict line, then findings grouped by severity and code; ANSI colours if ``color``
    json    one object, schema "registry-report" version 1 (docs/report-schema.md)
    github  ::error/::warning workflow commands on the offending line, then the human text
    sarif   SARIF 2.1.0, one run, one rule per problem code used

The unknown policy (``verdict.unknown_policy``) decides how findings with code ``unknown`` are
shown: ``error`` as errors, ``warn`` as warnings, ``ignore`` not at all (except in JSON, which
always lists every package, with severity ``note`` for ignored unknowns). ``quiet`` drops the
verdict line of the human text (and the human text after GitHub annotations); JSON and SARIF
ignore it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from types import MappingProxyType

from query import TYPE_CHECKING
from query.record import Record
from query.verdict import ERROR, Mismatch, PackageResult, Problem, Verdict
from registry.options import FORMATS, UNKNOWN_POLICIES

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CODE_DESCRIPTIONS",
    "FORMATS",
    "SARIF_SCHEMA",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Finding",
    "escape_data",
    "escape_property",
    "findings",
    "report_object",
    "render",
    "render_github",
    "render_human",
    "render_json",
    "render_sarif",
    "verdict_line",
]

SCHEMA = "registry-report"
SCHEMA_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
WARNING = "warning"
NOTE = "note"
UNKNOWN_CODE = "unknown"

# Known problem codes in display order (codes not listed follow, in order of appearance).
CODE_DESCRIPTIONS = MappingProxyType(
    {
        "missing-crate": "The index has no file for the locked crate.",
        "missing-version": "The index has no such version of the locked crate.",
        "invalid-entry": "The index line of the locked version is invalid.",
        "unsupported-entry": "The index line uses a schema newer than this tool reads.",
        "missing-checksum": "A v2+ lockfile entry has no checksum.",
        "checksum-mismatch": "The lockfile checksum is not the index cksum.",
        "dep-mismatch": "The locked dependency edges disagree with the index entry.",
        "unsatisfied-requirement": "A manifest requirement is not met by the locked version.",
        "missing-dependency": "A manifest dependency is missing from the lockfile.",
        "stale-package": "A locked package is no longer needed by any manifest.",
        "member-missing": "A workspace member is missing from the lockfile.",
        "member-extra": "The lockfile lists a workspace member that no longer exists.",
        "member-version": "A workspace member's locked version is not its manifest version.",
        "source-mismatch": "A dependency is locked from another source than the manifest says.",
        "stale-dependency": "The lock keeps a dependency edge the manifest no longer declares.",
        "missing-feature": "A requested feature does not exist in the locked package.",
        "yanked": "The locked version is yanked.",
        UNKNOWN_CODE: "Could not be checked (offline and not cached, auth, server error, ...).",
    }
)

_RESET = "\x1b[0m"
_COLORS = MappingProxyType({"red": "\x1b[31m", "yellow": "\x1b[33m", "green": "\x1b[32m"})


class Finding(Record):
    """One reportable problem after the unknown policy: what every text format prints."""

    code: str
    severity: str  # "error" or "warning"
    message: str  # stands alone (names the package)
    label: str  # where, for humans: "serde 1.0.102 (line 412)" or "Cargo.toml:12"
    text: str  # the message without the package name the label already gives
    file: str | None
    line: int | None


def _unknown_severity(policy: str) -> str:
    if policy not in UNKNOWN_POLICIES:
        raise ValueError(f"unknown policy {policy!r} (expected one of {UNKNOWN_POLICIES})")
    return {"error": ERROR, "warn": WARNING}.get(policy, NOTE)


def _severity(code: str, severity: str, policy: str) -> str:
    return _unknown_severity(policy) if code == UNKNOWN_CODE else severity


def _package_texts(package: PackageResult, problem: Problem) -> tuple[str, str]:
    """(standalone message, text after the package label) for one package problem."""
    name, version, message = package.name, package.version, problem.message
    if not message.startswith((f"{name} ", f"{name}:")):
        message = f"{name} {version}: {message}"
    text = message
    for prefix in (f"{name} {version}: ", f"{name} {version} ", f"{name}: ", f"{name} "):
        if message.startswith(prefix):
            text = message[len(prefix) :]
            break
    return message, text


def _mismatch_label(mismatch: Mismatch) -> str:
    if mismatch.file is None:
        return ""
    return mismatch.file if mismatch.line is None else f"{mismatch.file}:{mismatch.line}"


def findings(verdict: Verdict) -> list[Finding]:
    """Every finding to show, grouped: errors, then warnings, then unknowns; by code within."""
    policy = verdict.unknown_policy
    found: list[Finding] = []
    for package in verdict.packages:
        label = f"{package.name} {package.version}"
        if package.line is not None:
            label += f" (line {package.line})"
        for problem in package.problems:
            severity = _severity(problem.code, problem.severity, policy)
            if severity == NOTE:
                continue
            message, text = _package_texts(package, problem)
            found.append(
                Finding(
                    problem.code, severity, message, label, text, verdict.lockfile, package.line
                )
            )
    for mismatch in verdict.mismatches:
        severity = _severity(mismatch.code, ERROR, policy)
        if severity != NOTE:
            found.append(
                Finding(
                    mismatch.code,
                    severity,
                    mismatch.message,
                    _mismatch_label(mismatch),
                    mismatch.message,
                    mismatch.file,
                    mismatch.line,
                )
            )
    known = list(CODE_DESCRIPTIONS)
    order = {code: i for i, code in enumerate(known)}
    for item in found:
        order.setdefault(item.code, len(order))

    def key(item: Finding) -> tuple[bool, bool, int]:
        return (item.code == UNKNOWN_CODE, item.severity != ERROR, order[item.code])

    return sorted(found, key=key)  # stable: lockfile order within a group


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _paint(text: str, color: str | None, enabled: bool) -> str:
    return f"{_COLORS[color]}{text}{_RESET}" if enabled and color else text


def verdict_line(verdict: Verdict, *, color: bool = False) -> str:
    """``Cargo.lock: sound (75 packages checked, 3 skipped)``, ``Cargo.toml: up to date``, ..."""
    if verdict.command == "check":
        subject = os.path.join(os.path.dirname(verdict.lockfile), "Cargo.toml")
    else:
        subject = verdict.lockfile
    code = verdict.exit_code
    if code == 1:
        parts = [_plural(verdict.problems, "problem")]
    elif code == 3:
        parts = ["no problems found"]
    else:
        parts = ["sound" if verdict.command == "validate" else "up to date"]
    if verdict.unknowns and verdict.unknown_policy != "ignore":
        parts.append(f"{verdict.unknowns} unknown")
    if verdict.warnings:
        parts.append(_plural(verdict.warnings, WARNING))
    notes = []
    if verdict.packages or verdict.skipped or verdict.command == "validate":
        notes.append(f"{_plural(len(verdict.packages), 'package')} checked")
    if verdict.skipped:
        notes.append(f"{verdict.skipped} skipped")
    if verdict.from_fingerprint:
        notes.append("unchanged since the last check")
    line = f"{subject}: {', '.join(parts)}"
    if notes:
        line += f" ({', '.join(notes)})"
    return _paint(line, "green" if code == 0 else "red", color)


def _sections(found: list[Finding], color: bool) -> Iterator[str]:
    group: tuple[str, str] | None = None
    for i, item in enumerate(found):
        if (item.severity, item.code) != group:
            group = (item.severity, item.code)
            count = sum(1 for f in found[i:] if (f.severity, f.code) == group)
            header = f"{item.code} ({_plural(count, item.severity)})"
            yield _paint(header, "red" if item.severity == ERROR else "yellow", color)
        yield f"  {item.label}: {item.text}" if item.label else f"  {item.text}"


def render_human(verdict: Verdict, *, color: bool = False, quiet: bool = False) -> str:
    """Verdict line, blank line, then one section per (severity, code); ``quiet``: sections only."""
    body = list(_sections(findings(verdict), color))
    if quiet:
        return "\n".join(body)
    head = verdict_line(verdict, color=color)
    return "\n".join([head, "", *body]) if body else head


def _json_package(package: PackageResult, policy: str) -> dict[str, Any]:
    return {
        "source": package.source,
        "name": package.name,
        "version": package.version,
        "line": package.line,
        "status": package.status,
        "problems": [
            {
                "code": p.code,
                "severity": _severity(p.code, p.severity, policy),
                "message": p.message,
            }
            for p in package.problems
        ],
    }


def report_object(verdict: Verdict, *, tool_version: str) -> dict[str, Any]:
    """The ``registry-report`` v1 object (docs/report-schema.md), keys in documented order."""
    policy = verdict.unknown_policy
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "registry", "version": tool_version},
        "command": verdict.command,
        "lockfile": verdict.lockfile,
        "status": verdict.status,
        "exit_code": verdict.exit_code,
        "unknown_policy": policy,
        "summary": {
            "checked": len(verdict.packages),
            "skipped": verdict.skipped,
            "problems": verdict.problems,
            "unknown": verdict.unknowns,
            "warnings": verdict.warnings,
        },
        "packages": [_json_package(p, policy) for p in verdict.packages],
        "mismatches": [
            {
                "code": m.code,
                "severity": _severity(m.code, ERROR, policy),
                "message": m.message,
                "file": m.file,
                "line": m.line,
            }
            for m in verdict.mismatches
        ],
        "from_fingerprint": verdict.from_fingerprint,
    }


def render_json(verdict: Verdict, *, tool_version: str) -> str:
    """The ``registry-report`` object as indented JSON (key order as documented)."""
    report = report_object(verdict, tool_version=tool_version)
    return json.dumps(report, indent=2, ensure_ascii=False)


def escape_data(text: str) -> str:
    """Escape a workflow-command message: ``%``, CR, LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value: as :func:`escape_data`, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(verdict: Verdict, *, color: bool = False, quiet: bool = False) -> str:
    """One ``::error``/``::warning`` per finding, then a blank line and the human text."""
    lines = []
    for item in findings(verdict):
        props = []
        if item.file is not None:
            props.append(f"file={escape_property(item.file)}")
            if item.line is not None:
                props.append(f"line={item.line}")
        props.append(f"title={escape_property(item.code)}")
        lines.append(f"::{item.severity} {','.join(props)}::{escape_data(item.message)}")
    if quiet:
        return "\n".join(lines)
    human = render_human(verdict, color=color)
    return "\n".join([*lines, "", human]) if lines else human


def _artifact_uri(path: str) -> str:
    """A relative (or absolute-path) URI reference for ``path`` as given, ``/``-separated."""
    from urllib.parse import quote  # SARIF only (docs/performance.md: import costs)

    return quote(path.replace(os.sep, "/"), safe="/!$&'()*+,;=@")


def render_sarif(verdict: Verdict, *, tool_version: str) -> str:
    """SARIF 2.1.0: one run, a rule per code used, a result per finding (same locations)."""
    found = findings(verdict)
    rule_ids: list[str] = []
    for item in found:
        if item.code not in rule_ids:
            rule_ids.append(item.code)
    levels = {item.code: item.severity for item in found}
    rules = [
        {
            "id": code,
            "shortDescription": {"text": CODE_DESCRIPTIONS.get(code, code)},
            "defaultConfiguration": {"level": levels[code]},
        }
        for code in rule_ids
    ]
    results = []
    for item in found:
        result: dict[str, Any] = {
            "ruleId": item.code,
            "ruleIndex": rule_ids.index(item.code),
            "level": item.severity,
            "message": {"text": item.message},
        }
        if item.file is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(item.file)}}
            if item.line is not None:
                physical["region"] = {"startLine": item.line}
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    driver = {"name": "registry", "version": tool_version, "rules": rules}
    sarif = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [{"executionSuccessful": True, "exitCode": verdict.exit_code}],
                "results": results,
                "properties": {
                    "command": verdict.command,
                    "status": verdict.status,
                    "unknownPolicy": verdict.unknown_policy,
                },
            }
        ],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False)


def render(verdict: Verdict, fmt: str, *, color: bool, quiet: bool, tool_version: str) -> str:
    """Render ``verdict`` in ``fmt`` (one of :data:`FORMATS`); ``ValueError`` for others."""
    renderers: dict[str, Callable[[], str]] = {
        "human": lambda: render_human(verdict, color=color, quiet=quiet),
        "json": lambda: render_json(verdict, tool_version=tool_version),
        "github": lambda: render_github(verdict, color=color, quiet=quiet),
        "sarif": lambda: render_sarif(verdict, tool_version=tool_version),
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    _unknown_severity(verdict.unknown_policy)
    return renderers[fmt]()
