"""Renderings: what the commands print.

::

    entry.py     one index line (query), version lists (query --all, versions)
    verdict.py   a validate/check verdict as human text, JSON, GitHub annotations or SARIF
"""

#: The output formats of ``validate`` and ``check`` (--format), the default first.
FORMATS = ("human", "json", "github", "sarif")
