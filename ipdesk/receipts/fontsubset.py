"""TrueType subsets of the CJK font, for embedding in receipt PDFs and OFDs.

The CJK font is large (wqy-zenhei: 17 MB, 10 MB of glyph outlines), so a document embeds
only the glyphs it draws. This follows ReportLab's ``TTFontFace.makeSubset`` (same tables,
same glyph order, so a PDF subset is byte for byte what ReportLab makes) but reads only the
glyphs it needs instead of copying the whole ``glyf`` and ``post`` tables each time, and
can write a Unicode ``cmap`` for an OFD, whose text is Unicode.
"""

from __future__ import annotations

from collections.abc import Sequence
from struct import pack, unpack_from

from reportlab.pdfbase.ttfonts import TTFontFace, TTFontMaker

# Flags of a composite glyph's components (OpenType 'glyf').
ARG_1_AND_2_ARE_WORDS = 1 << 0
WE_HAVE_A_SCALE = 1 << 3
MORE_COMPONENTS = 1 << 5
WE_HAVE_AN_X_AND_Y_SCALE = 1 << 6
WE_HAVE_A_TWO_BY_TWO = 1 << 7


def _table(face: TTFontFace, tag: str) -> bytes:
    offset, length = face.get_table_pos(tag)
    return bytes(face._ttf_data[offset : offset + length])


def _components(glyph: bytes) -> list[tuple[int, int]]:
    """(offset of the glyph index, glyph index) of each component of a composite glyph."""
    found = []
    position = 10
    flags = MORE_COMPONENTS
    while flags & MORE_COMPONENTS:
        flags, index = unpack_from(">HH", glyph, position)
        found.append((position + 2, index))
        position += 4 + (4 if flags & ARG_1_AND_2_ARE_WORDS else 2)
        if flags & WE_HAVE_A_SCALE:
            position += 2
        elif flags & WE_HAVE_AN_X_AND_Y_SCALE:
            position += 4
        elif flags & WE_HAVE_A_TWO_BY_TWO:
            position += 8
    return found


def _unicode_cmap(code_to_glyph: dict[int, int]) -> bytes:
    """A cmap with a format 4 subtable (3, 1) for the BMP and a format 12 (3, 10) for all."""
    codes = sorted(code_to_glyph)
    bmp = [c for c in codes if c <= 0xFFFE]
    segments = [(c, c, (code_to_glyph[c] - c) & 0xFFFF) for c in bmp] + [(0xFFFF, 0xFFFF, 1)]
    count = len(segments)
    search = 1 << (count.bit_length() - 1)
    format_4 = pack(
        ">HHHHHHH",
        4,
        16 + 8 * count,
        0,
        count * 2,
        search * 2,
        search.bit_length() - 1,
        (count - search) * 2,
    )
    format_4 += pack(f">{count}H", *(end for _start, end, _delta in segments)) + b"\0\0"
    format_4 += pack(f">{count}H", *(start for start, _end, _delta in segments))
    format_4 += pack(f">{count}H", *(delta for _start, _end, delta in segments))
    format_4 += pack(f">{count}H", *([0] * count))
    groups = b"".join(pack(">LLL", c, c, code_to_glyph[c]) for c in codes)
    format_12 = pack(">HHLLL", 12, 0, 16 + len(groups), 0, len(codes)) + groups
    header = pack(">HH", 0, 2)
    records = pack(">HHL", 3, 1, 4 + 16) + pack(">HHL", 3, 10, 4 + 16 + len(format_4))
    return header + records + format_4 + format_12


def truetype_subset(face: TTFontFace, codes: Sequence[int], *, unicode_cmap: bool) -> bytes:
    """A TrueType font holding the glyphs of the Unicode ``codes``.

    ``unicode_cmap=False``: ReportLab's PDF subset, where character code ``i`` shows the
    glyph of ``codes[i]`` (a format 6 cmap). ``True``: a Unicode cmap, each of ``codes``
    mapped to its glyph.
    """
    data = face._ttf_data
    glyf_start = face.get_table_pos("glyf")[0]
    positions = face.glyphPos
    glyph_map = [0]  # new glyph index -> original glyph index
    glyph_set = {0: 0}  # original -> new
    code_to_glyph: dict[int, int] = {}
    for code in codes:
        original = face.charToGlyph.get(code, 0)
        if original not in glyph_set:
            glyph_set[original] = len(glyph_map)
            glyph_map.append(original)
        code_to_glyph[code] = glyph_set[original]

    glyphs: list[bytes] = []
    n = 0
    while n < len(glyph_map):  # grows with the components of composite glyphs
        original = glyph_map[n]
        start, end = positions[original], positions[original + 1]
        glyph = bytes(data[glyf_start + start : glyf_start + end])
        if len(glyph) > 2 and unpack_from(">h", glyph)[0] < 0:
            for _offset, component in _components(glyph):
                if component not in glyph_set:
                    glyph_set[component] = len(glyph_map)
                    glyph_map.append(component)
        glyphs.append(glyph)
        n += 1

    output = TTFontMaker()
    for tag in ("name", "OS/2", "cvt ", "fpgm", "prep"):
        if tag in face.table:
            output.add(tag, _table(face, tag))
    post_offset = face.get_table_pos("post")[0]
    output.add(
        "post", b"\x00\x03\x00\x00" + bytes(data[post_offset + 4 : post_offset + 16]) + b"\0" * 16
    )

    count = len(glyph_map)
    metrics: list[int] = []
    for original in glyph_map:
        advance, side_bearing = face.hmetrics[original]
        metrics += (int(advance), int(side_bearing))
    # Trailing glyphs of the same advance keep only their side bearing.
    m = len(metrics) - 2
    while m and metrics[m] == metrics[m - 2]:
        m -= 2
    m += 2
    full_metrics = m >> 1
    metrics = metrics[:m] + metrics[m + 1 :: 2]
    output.add("hmtx", pack(f">{len(metrics)}H", *metrics))
    hhea = _table(face, "hhea")
    output.add("hhea", hhea[:34] + pack(">H", full_metrics) + hhea[36:])
    maxp = _table(face, "maxp")
    output.add("maxp", maxp[:4] + pack(">H", count) + maxp[6:])

    if unicode_cmap:
        output.add("cmap", _unicode_cmap(code_to_glyph))
    else:
        entries = [code_to_glyph[code] for code in codes]
        count_entries = len(entries)
        # version 0, one table: (1, 0) at offset 12, format 6 from code 0.
        header = (0, 1, 1, 0, 0, 12, 6, 10 + 2 * count_entries, 0, 0, count_entries)
        output.add("cmap", pack(f">{len(header) + count_entries}H", *header, *entries))

    offsets = []
    position = 0
    chunks: list[bytes] = []
    for index, glyph in enumerate(glyphs):
        offsets.append(position)
        if len(glyph) > 2 and unpack_from(">h", glyph)[0] < 0:
            fixed = bytearray(glyph)
            for offset, component in _components(glyph):
                fixed[offset : offset + 2] = pack(">H", glyph_set[component])
            glyph = bytes(fixed)
            glyphs[index] = glyph
        chunks.append(glyph)
        position += len(glyph)
        if position % 4:
            chunks.append(b"\0" * (4 - position % 4))
            position += 4 - position % 4
    offsets.append(position)
    output.add("glyf", b"".join(chunks))
    if (position + 1) >> 1 > 0xFFFF:
        long_format = 1
        output.add("loca", pack(f">{len(offsets)}L", *offsets))
    else:
        long_format = 0
        output.add("loca", pack(f">{len(offsets)}H", *(o >> 1 for o in offsets)))
    head = _table(face, "head")
    output.add("head", head[:50] + pack(">H", long_format) + head[52:])
    return bytes(output.makeStream())
