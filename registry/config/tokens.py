"""Tokens of named registries, from where cargo reads them (first found wins)::

    CARGO_REGISTRIES_<NAME>_TOKEN           environment (NAME upper-cased, - as _)
    $CARGO_HOME/credentials.toml            [registries.<name>] token
    cargo configuration                     [registries.<name>] token

A token is handed only to the `Registry` of that registry's exact index URL
(`SourceMap.token_for`), sent only to its host (registry/index/sparse.py) and never logged or
written anywhere.
"""

from __future__ import annotations

import os

from cache.pathstr import joined
from query import TYPE_CHECKING
from registry.config.cargo_config import cargo_home, read_config_file, table_of_tables

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def registry_token(name: str, table: Mapping[str, Any]) -> str | None:
    """The token of the registry called ``name`` whose merged ``[registries.<name>]`` table is
    ``table``, or None."""
    env = os.environ.get(f"CARGO_REGISTRIES_{name.upper().replace('-', '_')}_TOKEN")
    if env:
        return env
    credentials = read_config_file(joined(cargo_home(), "credentials.toml"))
    token = table_of_tables(credentials, "registries").get(name, {}).get("token")
    if isinstance(token, str):
        return token
    token = table.get("token")
    return token if isinstance(token, str) else None
