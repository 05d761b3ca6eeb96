"""Entry points of the ``registry`` and ``cargo-registry`` console scripts and of
``python -m registry``."""

from __future__ import annotations

import gc
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command line (:func:`registry.cli.run`) without the cyclic garbage collector."""
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
    from registry.cli import run

    return run(args)


def entry() -> None:
    """The console script and ``python -m registry``: `main`, then leave without the
    interpreter's teardown (freeing every object of a run one by one: docs/performance.md),
    once the output is flushed. An exception still unwinds normally."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `registry ... | head`: the reader left; nothing more to say
        code = code or 1
    except OSError:
        sys.exit(code)  # let the interpreter report it
    os._exit(code)


def cargo_entry() -> None:
    """The ``cargo-registry`` console script, which makes ``cargo registry ARGS`` work: cargo
    runs an external subcommand found on PATH as ``cargo-registry registry ARGS`` (cargo 0.96.0,
    src/bin/cargo/cli.rs:520; ``cargo help registry`` runs ``cargo-registry registry --help``,
    commands/help.rs:63), so that first argument, the subcommand's name, is dropped."""
    if len(sys.argv) > 1 and sys.argv[1] == "registry":
        del sys.argv[1]
    entry()


if __name__ == "__main__":
    entry()
