"""The index client: one registry's index files kept current in the summaries cache.

::

    loader.py      IndexLoader: which files to read, request, write (offline, local, max-age, 304)
    sparse.py      cargo's sparse protocol above a transport: headers, retries, redirects, auth
    index_file.py  a downloaded index file -> the (version, line) pairs the cache keeps (and
                   whether cargo would crash on it)

One line is classified by query/entry.py (cargo's IndexSummary::parse; query/index_line.py).
"""
