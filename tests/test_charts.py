"""bot/charts.py: the bar chart is a valid PNG of the promised size, its bars in proportion."""

from __future__ import annotations

import struct
import zlib

from bot import charts

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB PNG without filters, checking every chunk."""
    assert png.startswith(SIGNATURE)
    position, chunks = len(SIGNATURE), []
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind, data))
        position += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(chunks[1][1])
    stride = 1 + width * 3
    assert len(raw) == height * stride
    rows = [raw[i * stride : (i + 1) * stride] for i in range(height)]
    assert {row[0] for row in rows} == {0}
    return width, height, [row[1:] for row in rows]


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, ...]:
    return tuple(rows[y][x * 3 : x * 3 + 3])


def bar_length(rows: list[bytes], index: int) -> int:
    """How many bar-coloured pixels run across the middle of the index-th row."""
    y = charts.MARGIN + index * charts.ROW + charts.ROW // 2
    return sum(pixel(rows, x, y) == charts.BAR_COLOUR for x in range(charts.WIDTH))


def test_the_chart_decodes_to_the_promised_size() -> None:
    png = charts.bar_chart([("Beekeeping", 120), ("Fish farming", 60), ("Poultry farming", 0)])
    width, height, rows = decode(png)
    assert (width, height) == (charts.WIDTH, charts.height_for(3))
    assert height == 2 * charts.MARGIN + 3 * charts.ROW
    assert pixel(rows, 0, 0) == charts.BACKGROUND


def test_bars_are_in_proportion_and_a_zero_draws_none() -> None:
    _, _, rows = decode(charts.bar_chart([("A", 120), ("B", 60), ("C", 0)]))
    longest, half, none = (bar_length(rows, i) for i in range(3))
    assert longest > 300
    assert abs(half - longest / 2) <= 1
    assert none == 0


def test_labels_and_counts_are_drawn_in_ink() -> None:
    _, _, rows = decode(charts.bar_chart([("Apparel", 7)]))
    top = charts.MARGIN + (charts.ROW - charts.TEXT_H) // 2
    label = [pixel(rows, x, y) for y in range(top, top + charts.TEXT_H) for x in range(16, 100)]
    assert charts.INK in label


def test_at_most_twelve_bars() -> None:
    many = [(f"chain {i}", i + 1) for i in range(20)]
    width, height, _ = decode(charts.bar_chart(many))
    assert (width, height) == (charts.WIDTH, charts.height_for(charts.MAX_BARS))


def test_unknown_characters_are_drawn_as_a_question_mark_not_an_error() -> None:
    decode(charts.bar_chart([("زنبورداری", 3), ("a" * 40, 1)]))
