"""One embedded font per face in a joined report, holding only the glyphs it prints.

Sections are rendered apart (``render``), so each embeds its own subset of every face it
uses, and WeasyPrint keeps the glyphs at their original ids (HarfBuzz's ``RETAIN_GIDS``):
a CJK subset holds an offset for every id up to the highest used, about 140 kB even for a
few glyphs. Because the ids are the original font's in every section, the sections can
share one font of the union of their glyphs: ``share_fonts`` cuts each face's original file
once more and points every page at one font per face. A CJK face is CID-keyed, and a bare
CFF program of it (``CIDFontType0C``) finds each glyph by the CID the pages print through
its charset, so it needs none of the empty ids: the glyphs alone are embedded.

A face is left as it is when its file cannot be found, when HarfBuzz cannot subset it, or
when the file's advance widths disagree with what the sections printed (another file than
the one they were set in): a report never breaks for the sake of its size.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)

log = logging.getLogger(__name__)

_TAG = re.compile(r"^/?[A-Z]{6}\+")
_STYLES = ("Semi-Bold", "Bold", "Medium", "Light", "Heavy", "Black", "Thin")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")


def _resources(page: DictionaryObject) -> Iterator[DictionaryObject]:
    """The page's resources and those of the forms it draws, however deep."""
    stack = [page.get("/Resources")]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if item is None:
            continue
        resources = item.get_object()
        if id(resources) in seen or not isinstance(resources, DictionaryObject):
            continue
        seen.add(id(resources))
        yield resources
        xobjects = resources.get("/XObject")
        if xobjects is not None:
            for ref in xobjects.get_object().values():
                form = ref.get_object()
                if form.get("/Subtype") == "/Form":
                    stack.append(form.get("/Resources"))


@cache
def _font_file(face: str) -> tuple[str, int] | None:
    """The file and face index fontconfig gives for WeasyPrint's face name
    (``Noto-Serif-CJK-SC-Bold``)."""
    words = face.replace("-", " ")
    pattern = words
    for style in _STYLES:
        spaced = style.replace("-", " ")
        if words.endswith(" " + spaced):
            pattern = f"{words[: -len(spaced) - 1]}:style={style.replace('-', '')}"
            break
    fc_match = shutil.which("fc-match")  # fontconfig's, which WeasyPrint found the face by
    if fc_match is None:
        return None
    try:
        found = subprocess.run(  # noqa: S603 (a fixed program; the pattern is one argument)
            [fc_match, "-f", "%{file}\n%{index}", pattern],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.split("\n")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if len(found) != 2 or not Path(found[0]).is_file():
        return None
    return found[0], int(found[1] or 0)


_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;
typedef struct hb_font_t hb_font_t; typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t; typedef int32_t hb_position_t; typedef uint32_t hb_tag_t;
hb_blob_t *hb_blob_create_from_file (const char *file_name);
void hb_blob_destroy (hb_blob_t *blob);
const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t *hb_face_reference_blob (hb_face_t *face);
hb_blob_t *hb_face_reference_table (const hb_face_t *face, hb_tag_t tag);
unsigned int hb_face_get_upem (const hb_face_t *face);
hb_font_t *hb_font_create (hb_face_t *face);
void hb_font_destroy (hb_font_t *font);
hb_position_t hb_font_get_glyph_h_advance (hb_font_t *font, hb_codepoint_t glyph);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
void hb_set_add_range (hb_set_t *set, hb_codepoint_t first, hb_codepoint_t last);
hb_tag_t hb_tag_from_string (const char *str, int len);
hb_subset_input_t *hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set (hb_subset_input_t *input);
hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned int value);
hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_DROPPED = (
    b"BASE",
    b"DSIG",
    b"EBDT",
    b"EBLC",
    b"EBSC",
    b"GPOS",
    b"GSUB",
    b"JSTF",
    b"LTSH",
    b"PCLT",
    b"SVG ",
)  # fmt: skip  (as WeasyPrint drops them)


@cache
def _harfbuzz() -> tuple[Any, Any, Any] | None:
    """cffi bindings of the HarfBuzz calls a subset needs (WeasyPrint binds too few of
    them to open a font file), or None without the subsetter."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    try:
        return ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Subset:
    data: bytes
    subtype: str  # the font file stream's /Subtype
    advances: dict[int, int]  # each glyph's advance width in thousandths of an em


def _subset(path: str, index: int, glyphs: set[int]) -> Subset | None:
    """The face cut down to ``glyphs``, and their advance widths in the file.

    A CID-keyed CFF face (the CJK faces) becomes a bare CFF program (``CIDFontType0C``)
    holding the glyphs alone: its charset keeps each glyph's CID, which is the id the pages
    print, so nothing else changes. Any other face is cut as WeasyPrint cuts it, the glyphs
    at their own ids (``RETAIN_GIDS``) in an OpenType file, which costs an offset for every
    id up to the highest used: about 140 kB for a CJK face, more than its glyphs."""
    from weasyprint.text.ffi import harfbuzz_subset as flags_of  # the flags' values

    bound = _harfbuzz()
    if bound is None or flags_of is None:
        return None
    ffi, hb, sub = bound
    blob = ffi.gc(hb.hb_blob_create_from_file(path.encode()), hb.hb_blob_destroy)
    face = ffi.gc(hb.hb_face_create(blob, index), hb.hb_face_destroy)
    upem = hb.hb_face_get_upem(face)
    font = ffi.gc(hb.hb_font_create(face), hb.hb_font_destroy)
    advances = {g: round(hb.hb_font_get_glyph_h_advance(font, g) * 1000 / upem) for g in glyphs}
    flags = (
        flags_of.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
        | flags_of.HB_SUBSET_FLAGS_DESUBROUTINIZE
        | flags_of.HB_SUBSET_FLAGS_NO_HINTING
    )

    def cut(source: Any, wanted: set[int] | None, extra: int) -> Any:
        plan = ffi.gc(sub.hb_subset_input_create_or_fail(), sub.hb_subset_input_destroy)
        if plan == ffi.NULL:
            return None
        kept = sub.hb_subset_input_glyph_set(plan)
        if wanted is None:
            hb.hb_set_add_range(kept, 0, max(glyphs))
        else:
            for glyph in wanted:
                hb.hb_set_add(kept, glyph)
        sub.hb_subset_input_set_flags(plan, flags | extra)
        drop = sub.hb_subset_input_set(plan, flags_of.HB_SUBSET_SETS_DROP_TABLE_TAG)
        for tag in _DROPPED:
            hb.hb_set_add(drop, hb.hb_tag_from_string(tag, -1))
        made = sub.hb_subset_or_fail(source, plan)
        return None if made == ffi.NULL else ffi.gc(made, hb.hb_face_destroy)

    def data(blob: Any) -> bytes:
        blob = ffi.gc(blob, hb.hb_blob_destroy)
        length = ffi.new("unsigned int *")
        start = hb.hb_blob_get_data(blob, length)
        return bytes(ffi.buffer(start, length[0])) if length[0] else b""

    compact = cut(face, glyphs, 0)
    if compact is None:
        return None
    cff = data(hb.hb_face_reference_table(compact, hb.hb_tag_from_string(b"CFF ", -1)))
    if cff and _cid_keyed(cff):
        return Subset(cff, "/CIDFontType0C", advances)
    retained = cut(face, glyphs, flags_of.HB_SUBSET_FLAGS_RETAIN_GIDS)
    # A second pass drops the empty ids after the last glyph, as WeasyPrint does.
    trimmed = None if retained is None else cut(retained, None, 0)
    if trimmed is None:
        return None
    whole = data(hb.hb_face_reference_blob(trimmed))
    return Subset(whole, "/OpenType", advances) if whole else None


def _cid_keyed(cff: bytes) -> bool:
    """Whether a CFF program is CID-keyed (its top dict has a ROS): then a PDF reader
    finds a CID's glyph through its charset."""
    from fontTools.cffLib import CFFFontSet

    fonts = CFFFontSet()
    try:
        fonts.decompile(io.BytesIO(cff), None)
    except Exception:
        return False
    return "ROS" in fonts.topDictIndex[0].rawDict


def _widths(array: Any) -> dict[int, float]:
    """A CID font's ``/W`` as glyph -> width (both of its forms)."""
    out: dict[int, float] = {}
    items = list(array)
    i = 0
    while i < len(items):
        first = int(items[i])
        following = items[i + 1].get_object()
        if isinstance(following, ArrayObject):
            for n, width in enumerate(following):
                out[first + n] = float(width)
            i += 2
        else:
            for glyph in range(first, int(following) + 1):
                out[glyph] = float(items[i + 2])
            i += 3
    return out


def _unicode(stream: Any) -> dict[int, bytes]:
    return {int(g, 16): text for g, text in _BFCHAR.findall(stream.get_object().get_data())}


def _cmap(pairs: dict[int, bytes]) -> bytes:
    lines = [
        b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
        b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
        b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
        b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange",
    ]  # fmt: skip
    items = sorted(pairs.items())
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [b"<%04x> <%s>" % (g, text) for g, text in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def share_fonts(writer: PdfWriter) -> int:
    """Point every page's fonts of one face at one font holding the union of their glyphs
    (a face one section alone prints is cut down too); the number of faces so embedded.
    The fonts no page uses any longer are emptied: the writer's
    ``compress_identical_objects`` drops them."""
    uses: dict[str, list[tuple[DictionaryObject, NameObject, IndirectObject]]] = defaultdict(list)
    for page in writer.pages:
        for resources in _resources(page):
            fonts = resources.get("/Font")
            if fonts is None:
                continue
            fonts = fonts.get_object()
            for name, ref in fonts.items():
                font = ref.get_object()
                if font.get("/Subtype") != "/Type0" or not isinstance(ref, IndirectObject):
                    continue
                face = _TAG.sub("", str(font.get("/BaseFont", "")))
                uses[face].append((fonts, NameObject(name), ref))
    shared = 0
    for face, found in uses.items():
        refs = {ref.idnum: ref for _, _, ref in found}
        try:
            if _share_face(writer, face, list(refs.values()), found):
                shared += 1
        except Exception:  # never break a report for its size
            log.exception("fonts of %s left as they were", face)
    return shared


def _share_face(
    writer: PdfWriter,
    face: str,
    refs: list[IndirectObject],
    uses: list[tuple[DictionaryObject, NameObject, IndirectObject]],
) -> bool:
    widths: dict[int, float] = {}
    texts: dict[int, bytes] = {}
    for ref in refs:
        font = _dict(ref)
        cid = _dict(_array(font["/DescendantFonts"])[0])
        if "/FontFile3" not in _dict(cid["/FontDescriptor"]):
            return False  # a TrueType face: not set in this project's reports
        widths |= _widths(cid.get("/W", ArrayObject()))
        if "/ToUnicode" in font:
            texts |= _unicode(font["/ToUnicode"])
    where = _font_file(face)
    if where is None or not widths:
        log.info("no file found for %s: its fonts stay one per section", face)
        return False
    made = _subset(where[0], where[1], set(widths))
    if made is None:
        return False
    if any(abs(made.advances[g] - w) > 1 for g, w in widths.items()):
        log.warning("%s: %s is not the file the sections were set in", face, where[0])
        return False
    keep = refs[0]
    for ref in refs[1:]:
        _empty(ref)
    font = _dict(keep)
    cid = _dict(_array(font["/DescendantFonts"])[0])
    descriptor = _dict(cid["/FontDescriptor"])
    _drop_data(descriptor["/FontFile3"])
    if "/ToUnicode" in font:
        _drop_data(font["/ToUnicode"])
    file_stream = StreamObject()
    file_stream.set_data(made.data)
    file_stream[NameObject("/Subtype")] = NameObject(made.subtype)
    descriptor[NameObject("/FontFile3")] = writer._add_object(file_stream.flate_encode())
    cid[NameObject("/W")] = _w_array(widths)
    cmap = DecodedStreamObject()
    cmap.set_data(_cmap(texts))
    font[NameObject("/ToUnicode")] = writer._add_object(cmap.flate_encode())
    for fonts, name, _ in uses:
        fonts[name] = keep
    return True


def _empty(ref: IndirectObject) -> None:
    """Empty a font no page uses any more, and what only it refers to (its CID font,
    descriptor, file and Unicode map), so that nothing refers to them either and the
    writer's sweep of unreferenced objects drops them all at once."""
    font = _dict(ref)
    descendants = _array(font["/DescendantFonts"])
    cid = _dict(descendants[0])
    descriptor = _dict(cid["/FontDescriptor"])
    _drop_data(descriptor["/FontFile3"])
    if "/ToUnicode" in font:
        _drop_data(font["/ToUnicode"])
    for item in (descriptor, cid, font):
        item.clear()
    del descendants[:]


def _drop_data(item: Any) -> None:
    found = item.get_object()
    if isinstance(found, StreamObject):
        found.set_data(b"")


def _dict(item: Any) -> DictionaryObject:
    found = item.get_object()
    if not isinstance(found, DictionaryObject):
        raise TypeError(f"not a dictionary: {found!r}")
    return found


def _array(item: Any) -> ArrayObject:
    found = item.get_object()
    if not isinstance(found, ArrayObject):
        raise TypeError(f"not an array: {found!r}")
    return found


def _w_array(widths: dict[int, float]) -> ArrayObject:
    """``/W`` in runs of consecutive glyphs: ``[first [w w ...] first [w ...] ...]``."""
    out = ArrayObject()
    run: list[FloatObject] = []
    start = previous = -2
    for glyph, width in sorted(widths.items()):
        if glyph != previous + 1:
            if run:
                out += [NumberObject(start), ArrayObject(run)]
            run, start = [], glyph
        run.append(FloatObject(width))
        previous = glyph
    if run:
        out += [NumberObject(start), ArrayObject(run)]
    return out
