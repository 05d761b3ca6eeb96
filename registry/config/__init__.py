"""Configuration: which index a run talks to, and what cargo's own configuration says.

::

    index_url.py           --index-url: sparse+https://, https://, file://, a directory
    cargo_config.py        cargo's configuration files, found and merged as cargo does
    source_replacement.py  which sparse index serves a lockfile source ([source], [registries])
    tokens.py              tokens of named registries
"""
