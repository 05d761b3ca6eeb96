"""The verdict of ``validate`` and ``check``: per-package results, workspace mismatches, exit code.

Exit codes are the same for every output format::

    0  sound / up to date (warnings, such as yanked, allowed)
    1  problems found
    3  no problem found, but something could not be checked (unknown) under --unknown=error
"""

from __future__ import annotations

from query.record import Record

OK = "ok"
PROBLEM = "problem"
UNKNOWN = "unknown"

ERROR = "error"
WARNING = "warning"


__all__ = [
    "ERROR",
    "OK",
    "PROBLEM",
    "UNKNOWN",
    "Mismatch",
    "PackageResult",
    "Problem",
    "WARNING",
    "Verdict",
]


class Problem(Record):
    code: str
    message: str
    severity: str = ERROR


class PackageResult(Record):
    """The verdict on one locked package."""

    source: str
    name: str
    version: str
    line: int | None
    status: str
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)


class Mismatch(Record):
    """A workspace-level finding of ``check`` (not tied to one locked registry package).

    ``code``: ``unsatisfied-requirement``, ``missing-dependency``, ``stale-package``,
    ``member-missing``, ``member-version``, ``source-mismatch``,
    ``stale-dependency``, ``missing-feature`` or ``unknown``. ``file``/``line`` locate it
    (a manifest, or the lockfile for stale packages).
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def is_unknown(self) -> bool:
        return self.code == "unknown"


class Verdict(Record):
    command: str
    lockfile: str
    packages: tuple[PackageResult, ...] = ()
    mismatches: tuple[Mismatch, ...] = ()
    skipped: int = 0
    unknown_policy: str = ERROR  # registry.options.UNKNOWN_POLICIES: error, warn, ignore
    from_fingerprint: bool = False

    @property
    def problems(self) -> int:
        return sum(1 for p in self.packages if p.status == PROBLEM) + sum(
            1 for m in self.mismatches if not m.is_unknown
        )

    @property
    def unknowns(self) -> int:
        return sum(1 for p in self.packages if p.status == UNKNOWN) + sum(
            1 for m in self.mismatches if m.is_unknown
        )

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.packages for q in p.problems if q.severity != ERROR)

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 1
        if self.unknowns and self.unknown_policy == ERROR:
            return 3
        return 0

    @property
    def status(self) -> str:
        """``sound`` / ``up-to-date``, ``problems`` or ``unknown``."""
        code = self.exit_code
        if code == 1:
            return "problems"
        if code == 3:
            return "unknown"
        return "sound" if self.command == "validate" else "up-to-date"
