"""From a raw index file to the ``(version, raw line)`` pairs that go into the ``.cache`` file.

The retention rule is cargo's (spec §3.5, §5.2): a line is kept, verbatim (a trailing ``\\r``
included), when its ``name`` and ``vers`` parse, whatever else is wrong with it; its cache key is
the version rendered from the parsed value, build metadata included. Lines that are not JSON, not
UTF-8, or carry an invalid ``vers`` are dropped, as cargo drops them.

This is the one place that parses every line of an index file, once per download.
"""

from __future__ import annotations

import orjson

from query.version import VersionError, parse_version


def summaries_from_index(raw: bytes) -> list[tuple[str, bytes]]:
    """Split an index file on ``\\n`` and keep each line whose name and version parse."""
    pairs: list[tuple[str, bytes]] = []
    loads = orjson.loads
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            data = loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        name = data.get("name")
        vers = data.get("vers")
        if not isinstance(name, str) or not isinstance(vers, str):
            continue
        try:
            version = parse_version(vers)
        except VersionError:
            continue
        pairs.append((str(version), line))
    return pairs
