"""Renderings: what the commands print.

::

    entry.py     one index line (query), version lists (query --all, versions)
    verdict.py   a validate/check verdict as human text, JSON, GitHub annotations or SARIF

The formats ``validate`` and ``check`` offer are `registry.options.FORMATS`.
"""
