"""The edge where errors become one line on stderr and an exit code (no click: the fast path
uses it too)."""

from __future__ import annotations

import sys

from query import TYPE_CHECKING
from registry.errors import EXIT_UNAVAILABLE, RegistryError

if TYPE_CHECKING:
    from collections.abc import Callable


def error_line(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def guarded(action: Callable[[], int]) -> int:
    """Run ``action``; map our errors (and the foreign ones that reach this edge) to exit codes."""
    try:
        return action()
    except RegistryError as exc:
        error_line(str(exc))
        return exc.exit_code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        error_line(f"{where}{exc.strerror or exc}")
        return EXIT_UNAVAILABLE
