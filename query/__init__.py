"""query: pure logic, no I/O: cargo's grammars and formats as models, and the rules of
``validate`` and ``check`` over them.

``TYPE_CHECKING`` is ``typing.TYPE_CHECKING`` without importing ``typing`` (~4-9 ms here, on
paths that take 25 ms in all: docs/performance.md). Every module of ``registry``, ``cache`` and
``query`` imports it from here; type checkers treat any name ``TYPE_CHECKING`` as true.
"""

TYPE_CHECKING = False
