"""A joined report embeds one font per face: the sections' subsets are replaced by one
subset of the union of their glyphs, cut from the face's file (a CJK face as a bare CFF
program of its glyphs alone). The pages look the same (rendered by PDFium: the same glyphs,
the edges' anti-aliasing within a few grey levels) and read the same (text extracted), and
a rare character that only one section prints (an enterprise's name in CJK Extension A or
B) is in the shared font and prints."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from survey_service.reports import fonts, render
from survey_service.reports.render import TEMPLATES, Section

RARE = "䶮𠀾"  # in Noto Sans CJK SC, outside the common set


def _section(text: str) -> tuple[Section, bytes]:
    html = (
        '<html><head><link rel="stylesheet" href="style.css"></head><body>'
        f"<h1>{text}</h1><p>{text * 20}</p><p><b>{text}</b></p></body></html>"
    )
    return Section(text, html), render.render_section(html, str(TEMPLATES))


def _embedded(pdf: bytes) -> list[tuple[str, int]]:
    """(face, font file object) of every font the pages draw with."""
    found = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            found.add((str(font["/BaseFont"]), descriptor.get_object().raw_get("/FontFile3").idnum))
    return sorted(found)


def _pixels(pdf: bytes) -> list[np.ndarray]:
    document = pdfium.PdfDocument(pdf)
    return [np.asarray(page.render(scale=1.5).to_pil().convert("L")) for page in document]


def test_sections_share_one_font_per_face_and_print_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = [_section("铜川市企业薪酬调查"), _section(f"耀州区{RARE}陶瓷有限公司"),
             _section("集体合同签订率")]  # fmt: skip
    env = render.environment()
    shared, pages = render.compose(env, "测试", parts)
    monkeypatch.setattr(fonts, "share_fonts", lambda writer: 0)
    apart, _ = render.compose(env, "测试", parts)

    faces = [face for face, _ in _embedded(shared)]
    assert len(faces) == len(set(faces)) >= 2  # one file per face
    assert len(_embedded(apart)) > len(faces)  # as the sections embedded them
    assert len(shared) < len(apart) / 2
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(shared)).pages)
    assert text == "".join(page.extract_text() for page in PdfReader(io.BytesIO(apart)).pages)
    assert RARE in text
    mine, theirs = _pixels(shared), _pixels(apart)
    assert len(mine) == len(theirs) == pages
    for a, b in zip(mine, theirs, strict=True):
        assert (a < 128).sum() > 1000  # something is printed
        # Another glyph would differ by up to 255 over its strokes.
        assert np.abs(a.astype(int) - b).max() <= 40
    programs = {
        str(font["/BaseFont"]): font["/DescendantFonts"][0]
        .get_object()["/FontDescriptor"]
        .get_object()["/FontFile3"]
        .get_object()["/Subtype"]
        for page in PdfReader(io.BytesIO(shared)).pages
        for font in (ref.get_object() for ref in page["/Resources"]["/Font"].values())
    }
    assert set(programs.values()) == {"/CIDFontType0C"}, programs


def test_a_face_whose_file_does_not_match_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another file than the one the sections were set in (its widths differ): nothing is
    shared rather than glyphs swapped."""
    serif = fonts._font_file("Noto-Serif-CJK-SC-Bold")
    assert serif is not None
    monkeypatch.setattr(fonts, "_font_file", lambda face: serif)
    parts = [_section("铜川市企业薪酬调查"), _section("集体合同签订率")]
    shared, _ = render.compose(render.environment(), "测试", parts)
    faces = [face for face, _ in _embedded(shared)]
    assert len(faces) > len(set(faces))  # the sans faces stay one per section
