"""Small PNG charts for staff, drawn with the standard library alone (zlib and struct).

A horizontal bar chart reads well on a phone: one row a bar, its label on the left and its count
at its end. Text is a built-in 5x7 pixel font of capital Latin letters and both Latin and Persian
digits; there is no Persian shaping here, so labels are English names (or codes), and callers say
so in the caption.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

WIDTH = 720
MARGIN = 16
ROW = 40
BAR = 24
SCALE = 2  # font pixels per glyph pixel
MAX_LABEL = 20  # characters; longer labels are cut with "."
MAX_BARS = 12

BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
BAR_COLOUR = (46, 125, 50)
TRACK = (232, 240, 233)

# 5x7 glyphs, one string of 7 rows each; "#" is ink.
_GLYPHS: dict[str, str] = {
    " ": ".....|.....|.....|.....|.....|.....|.....",
    "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
    "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
    "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
    "D": "####.|#...#|#...#|#...#|#...#|#...#|####.",
    "E": "#####|#....|#....|####.|#....|#....|#####",
    "F": "#####|#....|#....|####.|#....|#....|#....",
    "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
    "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
    "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
    "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
    "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
    "L": "#....|#....|#....|#....|#....|#....|#####",
    "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
    "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
    "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
    "P": "####.|#...#|#...#|####.|#....|#....|#....",
    "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
    "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
    "S": ".####|#....|#....|.###.|....#|....#|####.",
    "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
    "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
    "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
    "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
    "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
    "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
    "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": "####.|....#|....#|.###.|....#|....#|####.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
    "-": ".....|.....|.....|#####|.....|.....|.....",
    "&": ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#",
    ".": ".....|.....|.....|.....|.....|.##..|.##..",
    ",": ".....|.....|.....|.....|.##..|..#..|.#...",
    "'": "..#..|..#..|.#...|.....|.....|.....|.....",
    "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
    ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
    "/": "....#|....#|...#.|..#..|.#...|#....|#....",
    "_": ".....|.....|.....|.....|.....|.....|#####",
    "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
}
GLYPH_W, GLYPH_H = 5, 7
ADVANCE = (GLYPH_W + 1) * SCALE
TEXT_H = GLYPH_H * SCALE


class Canvas:
    """An RGB picture in memory, written out as PNG."""

    def __init__(self, width: int, height: int, background: tuple[int, int, int]) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(x, 0), min(x + w, self.width)
        if x1 <= x0:
            return
        run = bytes(colour) * (x1 - x0)
        for row in range(max(y, 0), min(y + h, self.height)):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + len(run)] = run

    def text(self, x: int, y: int, text: str, colour: tuple[int, int, int]) -> None:
        for i, char in enumerate(text):
            glyph = _GLYPHS.get(char.upper(), _GLYPHS["?"])
            for gy, line in enumerate(glyph.split("|")):
                for gx, pixel in enumerate(line):
                    if pixel == "#":
                        self.rect(
                            x + i * ADVANCE + gx * SCALE, y + gy * SCALE, SCALE, SCALE, colour
                        )

    def png(self) -> bytes:
        stride = self.width * 3
        # Filter type 0 (none) before every row.
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + b"".join(
            _chunk(kind, data)
            for kind, data in ((b"IHDR", header), (b"IDAT", zlib.compress(raw, 9)), (b"IEND", b""))
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def text_width(text: str) -> int:
    return len(text) * ADVANCE


def height_for(bars: int) -> int:
    return 2 * MARGIN + min(bars, MAX_BARS) * ROW


def bar_chart(bars: Sequence[tuple[str, int]]) -> bytes:
    """A PNG: one bar per (label, count), in the order given (at most MAX_BARS), WIDTH wide and
    `height_for(len(bars))` high."""
    bars = bars[:MAX_BARS]
    labels = [_fit(label) for label, _ in bars]
    counts = [f"{count:,}" for _, count in bars]
    canvas = Canvas(WIDTH, height_for(len(bars)), BACKGROUND)
    label_w = max(map(text_width, labels), default=0)
    count_w = max(map(text_width, counts), default=0)
    left = MARGIN + label_w + ADVANCE
    track = WIDTH - MARGIN - count_w - ADVANCE - left
    largest = max((count for _, count in bars), default=0) or 1
    for i, ((_, count), label, written) in enumerate(zip(bars, labels, counts, strict=True)):
        top = MARGIN + i * ROW + (ROW - BAR) // 2
        text_top = top + (BAR - TEXT_H) // 2
        canvas.text(MARGIN, text_top, label, INK)
        canvas.rect(left, top, track, BAR, TRACK)
        length = max(round(track * count / largest), 2 if count else 0)
        canvas.rect(left, top, length, BAR, BAR_COLOUR)
        canvas.text(left + length + ADVANCE // 2, text_top, written, INK)
    return canvas.png()


def _fit(label: str) -> str:
    label = label.upper()
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "."
