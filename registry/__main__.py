"""Entry point of the ``registry`` console script and of ``python -m registry``."""

from __future__ import annotations

import gc
import sys


def main(argv: list[str] | None = None) -> int:
    """Try the warm fast path first; anything it does not handle goes to the click CLI."""
    args = sys.argv[1:] if argv is None else argv
    # A run is short and its garbage is acyclic (reference counting frees it): the cyclic
    # collector's passes over every imported object and parsed entry are pure cost here.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(args)
    finally:
        if collecting:
            gc.enable()


def _main(args: list[str]) -> int:
    from registry.fastpath import try_fast_check, try_fast_fetch, try_fast_query

    code = try_fast_query(args)
    if code is None and "check" in args:
        code = try_fast_check(args)
    if code is None and "fetch" in args:
        code = try_fast_fetch(args)
    if code is not None:
        return code
    from registry.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
