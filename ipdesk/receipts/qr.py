"""The receipt's verification QR code: its URL and its module matrix.

The QR code carries the URL of the public verification page (查验) with every input a
verifier needs, so scanning it checks the receipt in one step. The JSON API takes the same
query at ``/api/v1/verify``.

The matrix is a QR Code at error correction level M, encoded by ``segno``. Choosing the
data mask (ISO/IEC 18004 §7.8.3: the pattern with the lowest penalty score) is most of
segno's time, so this module scores the eight candidates itself on whole-matrix integers
and strings (regular expressions run the row and column scans in C) and lets segno encode
only once: about five times faster, for the same kind of symbol. The tests check every
candidate against segno's own output for that mask.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from urllib.parse import urlencode

import segno
from django.conf import settings

from ipdesk.core.money import money_str

from .models import Receipt

Matrix = tuple[bytes, ...]

ERROR_LEVEL = "m"
_FORMAT_EC_BITS = 0b00  # level M in the format information (L=01, M=00, Q=11, H=10)


def verification_url(receipt: Receipt) -> str:
    """The public verification page of a receipt, with code, number, 校验码, date and total."""
    query = urlencode(
        {
            "code": receipt.series.code,
            "number": receipt.number_text,
            "check_code": receipt.check_code,
            "date": receipt.issue_date.isoformat(),
            "amount": money_str(receipt.total),
        }
    )
    return f"{settings.IPDESK_PUBLIC_URL.rstrip('/')}/verify/?{query}"


# --- the symbol's geometry (ISO/IEC 18004 §6.3, §7.9) --------------------------------------


def _alignment_positions(version: int) -> list[int]:
    if version == 1:
        return []
    size = version * 4 + 17
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    return [6, *reversed([size - 7 - i * step for i in range(count - 1)])]


def _function_modules(version: int) -> set[tuple[int, int]]:
    """(row, column) of every module outside the encoding region (never masked)."""
    size = version * 4 + 17
    cells: set[tuple[int, int]] = set()
    for top, left in ((0, 0), (0, size - 8), (size - 8, 0)):  # finders, separators, format
        for r in range(top, top + 8):
            for c in range(left, left + 8):
                cells.add((r, c))
    for i in range(9):  # format information beside the finders
        cells.update({(8, i), (i, 8)})
        if i < 8:
            cells.update({(8, size - 1 - i), (size - 1 - i, 8)})
    for i in range(size):  # timing patterns
        cells.update({(6, i), (i, 6)})
    positions = _alignment_positions(version)
    last = len(positions) - 1
    for a, r in enumerate(positions):
        for b, c in enumerate(positions):
            if (a, b) in ((0, 0), (0, last), (last, 0)):
                continue
            cells.update((r + dr, c + dc) for dr in range(-2, 3) for dc in range(-2, 3))
    if version >= 7:  # version information
        for i in range(6):
            for j in range(size - 11, size - 8):
                cells.update({(i, j), (j, i)})
    return cells


def _format_bits(mask: int) -> int:
    data = (_FORMAT_EC_BITS << 3) | mask
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    return ((data << 10) | rem) ^ 0x5412


def _format_cells(size: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """For each of the 15 format bits (least significant first), its two (row, col) places."""
    first = (
        [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    )
    second = [(8, size - 1 - i) for i in range(8)] + [(size - 15 + i, 8) for i in range(8, 15)]
    return list(zip(first, second, strict=True))


def _mask_condition(mask: int, i: int, j: int) -> bool:
    if mask == 0:
        return (i + j) % 2 == 0
    if mask == 1:
        return i % 2 == 0
    if mask == 2:
        return j % 3 == 0
    if mask == 3:
        return (i + j) % 3 == 0
    if mask == 4:
        return (i // 2 + j // 3) % 2 == 0
    if mask == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if mask == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return ((i + j) % 2 + (i * j) % 3) % 2 == 0


def _transposed(text: str, n: int) -> str:
    return "".join(text[j::n] for j in range(n))


def _padded(text: str, n: int) -> str:
    """Each line of ``text`` between four light modules on either side (the quiet zone)."""
    return "0000" + "00000000".join(text[i : i + n] for i in range(0, n * n, n)) + "0000"


class _Geometry:
    """Per-version constants as whole-matrix integers.

    A symbol is an integer of n*n bits, row by row, the top-left module the most
    significant bit, so the module right of bit b is bit b-1 and the one below is b-n.
    Scoring also needs the columns as rows (the transposed symbol) and both with a light
    quiet zone around each line (the padded forms). These are linear maps, so the
    forms of a masked symbol are the forms of its data XOR those of the mask, which
    are computed here once per version.
    """

    def __init__(self, version: int) -> None:
        n = self.size = version * 4 + 17
        total = n * n

        def bit(i: int, j: int) -> int:
            return 1 << (total - 1 - (i * n + j))

        def every(condition: Callable[[int, int], bool]) -> int:
            return sum(bit(i, j) for i in range(n) for j in range(n) if condition(i, j))

        function = _function_modules(version)
        masks = [
            sum(
                bit(i, j)
                for i in range(n)
                for j in range(n)
                if (i, j) not in function and _mask_condition(mask, i, j)
            )
            for mask in range(8)
        ]
        self.mask_0 = masks[0]
        cells = _format_cells(n)
        formats = [
            sum(bit(*a) | bit(*b) for k, (a, b) in enumerate(cells) if _format_bits(mask) >> k & 1)
            for mask in range(8)
        ]
        self.keep = ((1 << total) - 1) ^ sum(bit(*a) | bit(*b) for a, b in cells)
        # What turns the data (format area cleared) into the symbol with mask k.
        self.patterns = [masks[k] ^ formats[k] for k in range(8)]
        self.forms = [self.forms_of(pattern) for pattern in self.patterns]
        # Start of a window of 5 (N1) or of a 2x2 block (N2) that stays inside the symbol.
        self.windows_5 = every(lambda i, j: j <= n - 5)
        self.blocks = every(lambda i, j: i <= n - 2 and j <= n - 2)

    def forms_of(self, symbol: int) -> tuple[int, int, int]:
        """The transposed symbol, and the padded rows and padded columns."""
        n = self.size
        text = format(symbol, f"0{n * n}b")
        columns = _transposed(text, n)
        return int(columns, 2), int(_padded(text, n), 2), int(_padded(columns, n), 2)


@cache
def _geometry(version: int) -> _Geometry:
    return _Geometry(version)


def _runs_score(lines: int, windows: int) -> int:
    """N1 over the rows of ``lines``: a run of 5 + i modules of one colour scores 3 + i."""
    same = ~(lines ^ (lines << 1))  # bit b: module b equals the module on its right
    full = same & (same << 1) & (same << 2) & (same << 3) & windows
    # Each run of 5 + i has 1 + i full windows, consecutive bits of which one starts it.
    return full.bit_count() + 2 * (full & ~(full >> 1)).bit_count()


def _finder_like(padded: int) -> int:
    """N3 occurrences: 1011101 with four light modules on one side (quiet zone included)."""
    core = (
        padded
        & ~(padded << 1)
        & (padded << 2)
        & (padded << 3)
        & (padded << 4)
        & ~(padded << 5)
        & (padded << 6)
    )
    light_4 = ~(padded | (padded << 1) | (padded << 2) | (padded << 3))
    return (core & (light_4 << 7)).bit_count() + (light_4 & (core << 4)).bit_count()


def _penalty(symbol: int, forms: tuple[int, int, int], geometry: _Geometry) -> int:
    """ISO/IEC 18004 §7.8.3.1 penalty of a whole symbol (format information included)."""
    n = geometry.size
    columns, padded_rows, padded_columns = forms
    n1 = _runs_score(symbol, geometry.windows_5) + _runs_score(columns, geometry.windows_5)
    same_right = ~(symbol ^ (symbol << 1))
    same_below = ~(symbol ^ (symbol << n))
    n2 = 3 * (same_right & same_below & (same_right << n) & geometry.blocks).bit_count()
    n3 = 40 * (_finder_like(padded_rows) + _finder_like(padded_columns))
    total = n * n
    n4 = 10 * (abs(symbol.bit_count() * 100 - 50 * total) // (5 * total))
    return n1 + n2 + n3 + n4


_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_FROM_DIGITS = bytes.maketrans(b"01", b"\x00\x01")
_DARK_RUN = re.compile(rb"\x01+")


def _as_int(matrix: tuple[bytearray, ...]) -> int:
    return int(b"".join(matrix).translate(_TO_DIGITS), 2)


def _candidates(url: str) -> tuple[_Geometry, list[int], list[tuple[int, int, int]]]:
    """The symbol under each of the eight masks, and the forms scoring needs of each."""
    code = segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False, mask=0)
    geometry = _geometry(int(code.version))
    data = (_as_int(code.matrix) ^ geometry.mask_0) & geometry.keep
    data_forms = geometry.forms_of(data)
    symbols = [data ^ pattern for pattern in geometry.patterns]
    forms = [
        (data_forms[0] ^ f[0], data_forms[1] ^ f[1], data_forms[2] ^ f[2]) for f in geometry.forms
    ]
    return geometry, symbols, forms


def _to_matrix(symbol: int, size: int) -> Matrix:
    text = format(symbol, f"0{size * size}b").encode("ascii").translate(_FROM_DIGITS)
    return tuple(text[i : i + size] for i in range(0, size * size, size))


@lru_cache(maxsize=256)
def qr_matrix(url: str) -> Matrix:
    """The QR Code (level M) of ``url``: one ``bytes`` per row, 1 = dark, no quiet zone.

    The mask is the one with the lowest penalty (the first of equals); the quiet zone of
    four light modules is the drawer's to leave.
    """
    geometry, symbols, forms = _candidates(url)
    scores = [_penalty(symbol, form, geometry) for symbol, form in zip(symbols, forms, strict=True)]
    best = scores.index(min(scores))
    return _to_matrix(symbols[best], geometry.size)


def dark_runs(matrix: Matrix) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length), row by row."""
    return [
        (row_index, run.start(), run.end() - run.start())
        for row_index, row in enumerate(matrix)
        for run in _DARK_RUN.finditer(row)
    ]
