"""Default locations (stdlib only: used by the fast path)."""

from __future__ import annotations

import os


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/registry``, else ``~/.cache/registry``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "registry")
