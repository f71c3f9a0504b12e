"""Synthetic JPEG images for tests (the demo set holds none of Allen's images): real baseline JPEG files, made of
flat 8x8 blocks (each block one grey level), so the encoder needs no DCT beyond the DC term.

`synthetic_jpeg(width, height, shade)` -> bytes; `shade(bx, by)` gives the grey level (0-255) of block (bx, by).
Browsers and any JPEG decoder read them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

# One Huffman table for the DC differences (categories 0-11, each a 4-bit code) and one for the AC terms (only
# "end of block", a 1-bit code): every block is flat.
_DC_CODES = {category: (category, 4) for category in range(12)}
_EOB = (0, 1)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def put(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> shift) & 1)
            self.count += 1
            if self.count == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc, self.count = 0, 0

    def flush(self) -> bytes:
        if self.count:
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)  # pad with ones
        return bytes(self.out)


def synthetic_jpeg(width: int, height: int, shade: Callable[[int, int], int]) -> bytes:
    """A greyscale baseline JPEG of `width` x `height` pixels (multiples of 8), flat 8x8 blocks."""
    if width % 8 or height % 8 or not (0 < width <= 4096 and 0 < height <= 4096):
        raise ValueError("width and height must be multiples of 8, at most 4096")
    quantisation = bytes([0]) + bytes([1] * 64)  # table 0, 8-bit, all ones: DC kept exactly
    frame = struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])
    dc_lengths = [0] * 16
    dc_lengths[3] = len(_DC_CODES)  # twelve codes of length 4
    dc_table = bytes([0x00]) + bytes(dc_lengths) + bytes(range(12))
    ac_lengths = [0] * 16
    ac_lengths[0] = 1  # one code of length 1: end of block
    ac_table = bytes([0x10]) + bytes(ac_lengths) + bytes([0x00])
    scan_header = bytes([1, 1, 0x00, 0, 63, 0])
    bits = _Bits()
    previous = 0
    for by in range(height // 8):
        for bx in range(width // 8):
            level = max(0, min(255, int(shade(bx, by))))
            dc = 8 * (level - 128)  # the DC term of a flat block (orthonormal 8x8 DCT)
            diff, previous = dc - previous, dc
            category = abs(diff).bit_length()
            bits.put(*_DC_CODES[category])
            if category:
                bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
            bits.put(*_EOB)
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, quantisation)
        + _segment(0xC0, frame)
        + _segment(0xC4, dc_table)
        + _segment(0xC4, ac_table)
        + _segment(0xDA, scan_header)
        + bits.flush()
        + b"\xff\xd9"
    )
