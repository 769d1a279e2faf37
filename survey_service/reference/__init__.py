"""Reference code lists as data: Tongchuan's districts (GB/T 2260 plus one local code),
industries (GB/T 4754-2017 sections and divisions) and occupations (职业分类大典 2022, major
and middle groups), with their typed loaders in ``codes``. Sources are in ``data/SOURCES.md``.
"""
