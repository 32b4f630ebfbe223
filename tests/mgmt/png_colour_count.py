#!/usr/bin/env python3
"""Counts the pixels of a PNG within TOLERANCE of a colour.

Usage: png_colour_count.py FILE.png '#rrggbb' TOLERANCE
Prints "WIDTH HEIGHT COUNT". Standard library only (zlib, struct): 8-bit
RGB or RGBA, not interlaced, as Chromium writes its screenshots.
"""
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG file")
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour_type}, interlace {interlace})")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 0xFF
            elif kind != 0:
                sys.exit(f"{path}: bad filter type {kind} in row {y}")
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, colour, tolerance = sys.argv[1], sys.argv[2].lstrip("#"), int(sys.argv[3])
    want = [int(colour[i:i + 2], 16) for i in (0, 2, 4)]
    width, height, bpp, rows = decode(path)
    count = 0
    for line in rows:
        for x in range(0, len(line), bpp):
            if all(abs(line[x + k] - want[k]) <= tolerance for k in range(3)):
                count += 1
    print(width, height, count)


if __name__ == "__main__":
    main()
