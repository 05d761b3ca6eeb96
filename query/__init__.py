"""query: pure logic, no I/O: cargo's grammars and formats as models, and the rules of
``validate`` and ``check`` over them.

``TYPE_CHECKING`` is ``typing.TYPE_CHECKING`` without importing ``typing`` (docs/performance.md:
~3-6 ms of the warm paths). Every module of ``registry``, ``cache`` and
``query`` imports it from here; type checkers treat any name ``TYPE_CHECKING`` as true.
"""

TYPE_CHECKING = False
