"""registry: a cargo-style sparse registry index client with an on-disk summaries cache.

``from registry import Registry`` is resolved lazily so that the CLI's warm path does not pay for
the network stack.
"""

from __future__ import annotations

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.api import Registry

__version__ = "0.1.0"
#: What every request says it comes from.
USER_AGENT = f"registry/{__version__}"

__all__ = ["USER_AGENT", "Registry", "__version__"]


def __getattr__(name: str) -> object:
    if name == "Registry":
        from registry.api import Registry

        return Registry
    raise AttributeError(f"module 'registry' has no attribute {name!r}")
