"""`RunOptions`: the global options of one CLI run, and the Registry they open.

Shared by the click commands (`registry.cli.Options`) and the click-free ``fetch`` path
(`registry.fetchcmd.FetchRequest`), so both open registries and report the same way.
"""

from __future__ import annotations

import sys

from query import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.client import Registry


class RunOptions:
    """Global options, resolved once and handed to each command."""

    def __init__(
        self,
        index_url: str,
        cache_dir: str | None = None,
        offline: bool = False,
        refresh: bool = False,
        token: str | None = None,
        quiet: bool = False,
        verbose: int = 0,
        timeout: float = 30.0,
    ) -> None:
        self.index_url = index_url
        self.cache_dir = cache_dir
        self.offline = offline
        self.refresh = refresh
        self.token = token
        self.quiet = quiet
        self.verbose = verbose
        self.timeout = timeout

    def registry(self, index_url: str | None = None, token: str | None = None) -> Registry:
        """A Registry for ``index_url`` (default: --index-url). --token goes only to the
        --index-url registry; another one gets ``token`` (from cargo's credentials) or none."""
        from registry.client import Registry

        own = index_url is None or index_url == self.index_url
        return Registry(
            index_url or self.index_url,
            self.cache_dir,
            offline=self.offline,
            refresh=self.refresh,
            token=self.token if own else token,
            timeout=self.timeout,
            warn=self.warn,
        )

    def warn(self, message: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"warning: {message}\n")
            sys.stderr.flush()

    def info(self, message: str) -> None:
        if self.verbose:
            sys.stderr.write(f"{message}\n")
            sys.stderr.flush()

    def report(self, reg: Registry) -> None:
        """With -v: which index and cache answered, and what it cost on the network."""
        self.info(
            f"{reg.source.url}: cache {reg.store.dir_path}; {reg.requests_made} requests, "
            f"{reg.downloaded} downloaded, {reg.unchanged} not modified"
        )
