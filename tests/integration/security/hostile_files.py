"""Hostile uploads the limits must refuse, built small in memory: what issue 12 (item 18)
sent a server, for the limit tests and the memory test alike."""

from __future__ import annotations

import random

from tests.unit.test_spreadsheets import HEADER_ZH, rewrite, workbook

STRINGS = "xl/sharedStrings.xml"


def ten_million_empty_columns() -> bytes:
    """A 19 MB CSV whose header holds 10 million empty columns after its two names."""
    return ("职业代码,学历" + "," * 10_000_000 + "\n6-01-02-03,本科\n").encode()


def expanding_shared_strings(count: int, length: int) -> bytes:
    """A workbook whose shared strings gain ``count`` texts of ``length`` "A"s and six
    random digits: at 90,000 of 2,000, a 1.4 MB file expanding to 173 MiB of XML, 126 times
    (within the ZIP's declared-size and ratio limits)."""
    rng = random.Random(count)
    texts = b"".join(
        b"<si><t>%s%06d</t></si>" % (b"A" * length, rng.randrange(10**6)) for _ in range(count)
    )
    sheet = workbook([HEADER_ZH, ["6-01-02-03", "本科", "女", "是", 12, 68000]])
    return rewrite(sheet, STRINGS, lambda xml: xml.replace(b"</sst>", texts + b"</sst>"))


def one_text_in_every_cell(rows: int = 5_000, length: int = 4_000) -> bytes:
    """A 70 KB workbook whose cells all show one shared string of ``length`` characters:
    calamine copies it into each, 120 million characters at the defaults."""
    return workbook([HEADER_ZH, *[["备" * length] * len(HEADER_ZH)] * rows])
