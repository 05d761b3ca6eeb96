"""Text renderings of index entries, shared by the CLI and its fast path (both must print the
same: both render the :class:`~query.entry.IndexEntry` that :func:`query.entry.entry_from_line`
classified, so every field shown, ``yanked`` included, is a parsed field)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from query.entry import IndexDependency, IndexEntry


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def dependency_line(dep: IndexDependency) -> str:
    notes: list[str] = []
    if dep.kind in ("dev", "build"):
        notes.append(dep.kind)
    if dep.optional:
        notes.append("optional")
    if dep.package:
        notes.append(f"package: {dep.package}")
    if dep.target:
        notes.append(f"target: {dep.target}")
    if dep.registry:
        notes.append(f"registry: {dep.registry}")
    if not dep.default_features:
        notes.append("no default features")
    if dep.features:
        notes.append("features: " + ", ".join(dep.features))
    return f"{dep.name} = {_quote(dep.req)}" + (f" ({'; '.join(notes)})" if notes else "")


#: What the status line says of an entry that is not a candidate (yanked ones say so below).
_STATUS = {
    "invalid": "invalid: cargo cannot use this version ({problem})",
    "unsupported": "unsupported: {problem} is newer than cargo 1.95 reads",
}


def render_entry(entry: IndexEntry) -> str:
    """Human rendering of one index entry: name, version, checksum, yanked, deps, features (and
    a status line for an entry cargo cannot use)."""
    lines = [f"{entry.name} {entry.vers}"]
    status = _STATUS.get(entry.status)
    if status is not None:
        if entry.panics:
            status = "invalid: cargo 1.95 crashes (panics) reading this line ({problem})"
        lines.append("status: " + status.format(problem=entry.problem))
    lines += [
        f"checksum: {entry.cksum if entry.cksum is not None else '(none)'}",
        f"yanked: {'yes' if entry.yanked else 'no'}",
    ]
    if entry.links:
        lines.append(f"links: {entry.links}")
    if entry.rust_version:
        lines.append(f"rust-version: {entry.rust_version}")
    if entry.v != 1:
        lines.append(f"index schema: v{entry.v}")
    if entry.deps:
        lines.append(f"dependencies ({len(entry.deps)}):")
        lines.extend("  " + dependency_line(d) for d in entry.deps)
    else:
        lines.append("dependencies: none")
    if entry.features:
        lines.append(f"features ({len(entry.features)}):")
        lines.extend(
            f"  {fname} = [{', '.join(_quote(v) for v in values)}]"
            for fname, values in sorted(entry.features.items())
        )
    else:
        lines.append("features: none")
    return "\n".join(lines)


def render_versions(rows: Iterable[tuple[str, bool, str]]) -> str:
    """One version a line, ``(yanked)`` after the yanked ones, ``(invalid)`` or
    ``(unsupported)`` after those cargo cannot use."""
    out = []
    for version, yanked, status in rows:
        if status in ("invalid", "unsupported"):
            out.append(f"{version} ({status})")
        else:
            out.append(version + (" (yanked)" if yanked else ""))
    return "\n".join(out)
