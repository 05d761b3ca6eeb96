"""Text renderings shared by the CLI and its fast path (stdlib only: both must print the same).

An entry is rendered from its parsed JSON mapping, so the fast path can use ``json`` while the
full CLI uses ``orjson`` and both produce identical output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def dependency_line(dep: Mapping[str, object]) -> str:
    name = str(dep.get("name", "?"))
    req = str(dep.get("req", "?"))
    notes: list[str] = []
    kind = dep.get("kind")
    if kind in ("dev", "build"):
        notes.append(str(kind))
    if dep.get("optional") is True:
        notes.append("optional")
    if dep.get("package"):
        notes.append(f"package: {dep['package']}")
    if dep.get("target"):
        notes.append(f"target: {dep['target']}")
    if dep.get("registry"):
        notes.append(f"registry: {dep['registry']}")
    if dep.get("default_features") is False:
        notes.append("no default features")
    features = dep.get("features")
    if isinstance(features, list) and any(features):
        notes.append("features: " + ", ".join(str(f) for f in features if f))
    return f"{name} = {_quote(req)}" + (f" ({'; '.join(notes)})" if notes else "")


def render_entry(data: Mapping[str, object]) -> str:
    """Human rendering of one index line: name, version, checksum, yanked, deps, features."""
    lines = [
        f"{data.get('name')} {data.get('vers')}",
        f"checksum: {data.get('cksum', '(none)')}",
        f"yanked: {'yes' if data.get('yanked') is True else 'no'}",
    ]
    for key, label in (("links", "links"), ("rust_version", "rust-version")):
        if data.get(key):
            lines.append(f"{label}: {data[key]}")
    if isinstance(data.get("v"), int) and data["v"] != 1:
        lines.append(f"index schema: v{data['v']}")
    deps = data.get("deps")
    if isinstance(deps, list) and deps:
        lines.append(f"dependencies ({len(deps)}):")
        lines.extend("  " + dependency_line(d) for d in deps if isinstance(d, Mapping))
    else:
        lines.append("dependencies: none")
    features: dict[str, list[object]] = {}
    for key in ("features", "features2"):
        table = data.get(key)
        if isinstance(table, Mapping):
            for fname, values in table.items():
                if isinstance(values, list):
                    features.setdefault(str(fname), []).extend(values)
    if features:
        lines.append(f"features ({len(features)}):")
        lines.extend(
            f"  {fname} = [{', '.join(_quote(str(v)) for v in values)}]"
            for fname, values in sorted(features.items())
        )
    else:
        lines.append("features: none")
    return "\n".join(lines)


def render_versions(rows: Iterable[tuple[str, bool]]) -> str:
    """One version a line, ``(yanked)`` after the yanked ones."""
    return "\n".join(v + (" (yanked)" if yanked else "") for v, yanked in rows)
