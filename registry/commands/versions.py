"""``registry versions NAME``: every published version, yanked ones (and the ones cargo cannot
use) marked."""

from __future__ import annotations

from query import TYPE_CHECKING
from registry.commands import Outcome, open_registry, report

if TYPE_CHECKING:
    from registry.options import RunOptions


def run(options: RunOptions, name: str) -> Outcome:
    from query.names import validate_crate_name
    from registry.render.entry import render_versions

    validate_crate_name(name)
    with open_registry(options) as reg:
        rows = reg.versions(name)
        report(options, reg)
    return Outcome(0, render_versions((r.text, r.yanked, r.status) for r in rows) + "\n")
