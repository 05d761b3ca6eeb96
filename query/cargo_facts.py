"""Facts of cargo 1.95 that more than one module relies on, each written once.

::

    CRATES_IO               "crates-io"          crates.io's name in cargo configuration
    CRATES_IO_SPARSE        sparse+https://index.crates.io/       its sparse index (§1.4)
    CRATES_IO_GIT_URL       https://github.com/rust-lang/crates.io-index
    CRATES_IO_LOCK_SOURCE   registry+https://github.com/rust-lang/crates.io-index
                            how Cargo.lock names crates.io, whatever protocol fetched it (§8)
    CRATES_IO_SOURCES       both source strings that mean crates.io in a lockfile
    INDEX_V_MAX = 2         the newest index line schema cargo reads (§3.5), also in the
                            ``.cache`` header (§5.2)
    MANIFEST, LOCKFILE      "Cargo.toml", "Cargo.lock": a package's manifest, the lockfile
"""

from __future__ import annotations

CRATES_IO = "crates-io"
CRATES_IO_SPARSE = "sparse+https://index.crates.io/"
CRATES_IO_GIT_URL = "https://github.com/rust-lang/crates.io-index"
CRATES_IO_LOCK_SOURCE = "registry+" + CRATES_IO_GIT_URL
CRATES_IO_SOURCES = frozenset({CRATES_IO_LOCK_SOURCE, CRATES_IO_SPARSE})
INDEX_V_MAX = 2
MANIFEST = "Cargo.toml"
LOCKFILE = "Cargo.lock"
