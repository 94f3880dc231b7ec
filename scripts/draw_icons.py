#!/usr/bin/env python3
"""Draws applinks' link icons (static/icons/*.png): one per link group, 48x48 RGBA.

A white glyph on a rounded square in the group's colour, drawn from signed-distance shapes
with 4x4 supersampling. Standard library only (zlib + struct), so anyone can redraw them:

    python3 scripts/draw_icons.py
"""
import math
import os
import struct
import zlib

SIZE = 48
SS = 4  # supersampling per axis
OUT = os.path.join(os.path.dirname(__file__), "..", "static", "icons")


def png(path, pixels):
    """Writes RGBA rows (lists of (r, g, b, a)) as a PNG."""
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def rounded_square(x, y, r=9.0, inset=1.0):
    half = SIZE / 2 - inset
    qx = abs(x - SIZE / 2) - (half - r)
    qy = abs(y - SIZE / 2) - (half - r)
    outside = math.hypot(max(qx, 0), max(qy, 0))
    return outside + min(max(qx, qy), 0) - r


def circle(x, y, cx, cy, r):
    return math.hypot(x - cx, y - cy) - r


def ring(x, y, cx, cy, r, w):
    return abs(math.hypot(x - cx, y - cy) - r) - w / 2


def segment(x, y, ax, ay, bx, by, w):
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    t = max(0.0, min(1.0, (px * dx + py * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - dx * t, py - dy * t) - w / 2


def box(x, y, x0, y0, x1, y1):
    qx = max(x0 - x, x - x1)
    qy = max(y0 - y, y - y1)
    return math.hypot(max(qx, 0), max(qy, 0)) + min(max(qx, qy), 0)


def cart(x, y):
    """Ordering: a shopping cart."""
    basket = box(x, y, 15, 17, 36, 28)
    handle = segment(x, y, 8, 12, 14, 12, 3.2)
    post = segment(x, y, 14, 12, 17, 31, 3.2)
    base = segment(x, y, 17, 31, 35, 31, 3.2)
    wheels = min(circle(x, y, 19, 37, 3.2), circle(x, y, 33, 37, 3.2))
    return min(basket, handle, post, base, wheels)


def buoy(x, y):
    """Support: a life buoy (a ring with four bands)."""
    cx = cy = SIZE / 2
    outer = ring(x, y, cx, cy, 11.5, 7.0)
    angle = math.atan2(y - cy, x - cx) + math.pi / 4
    band = abs(((angle / (math.pi / 2)) % 1.0) - 0.5) * 2  # 0 at band centres
    # Four narrow gaps make the ring read as a buoy's banded float.
    return max(outer, (band - 0.75) * 8)


def person(x, y):
    """Account: head and shoulders."""
    head = circle(x, y, 24, 18, 7.0)
    shoulders = max(circle(x, y, 24, 42, 14.0), y - 37.5)
    return min(head, shoulders)


ICONS = {
    "ordering": ((0x1F, 0x7A, 0x4D), cart),
    "support": ((0x1D, 0x5F, 0xB8), buoy),
    "account": ((0x8A, 0x3F, 0xB0), person),
}


def coverage(shape, px, py):
    inside = 0
    for sy in range(SS):
        for sx in range(SS):
            x = px + (sx + 0.5) / SS
            y = py + (sy + 0.5) / SS
            if shape(x, y) <= 0:
                inside += 1
    return inside / (SS * SS)


def draw(colour, glyph):
    rows = []
    for py in range(SIZE):
        row = []
        for px in range(SIZE):
            bg = coverage(rounded_square, px, py)
            fg = coverage(glyph, px, py) if bg > 0 else 0.0
            r = round(colour[0] * (1 - fg) + 255 * fg)
            g = round(colour[1] * (1 - fg) + 255 * fg)
            b = round(colour[2] * (1 - fg) + 255 * fg)
            row.append((r, g, b, round(255 * bg)))
        rows.append(row)
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (colour, glyph) in ICONS.items():
        png(os.path.join(OUT, f"{name}.png"), draw(colour, glyph))


if __name__ == "__main__":
    main()
