"""Small valid images as raw bytes (Pillow is not a dependency)."""
from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    """A real PNG (8-bit RGB) a browser can draw."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def padded_png(size: int) -> bytes:
    """A PNG of exactly `size` bytes (padded after its end: only the first bytes are looked at)."""
    image = png_bytes()
    return image + b"\x00" * (size - len(image))


def jpeg_bytes() -> bytes:
    """The start of a JFIF file and its end marker: what a JPEG's first bytes look like."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def webp_bytes() -> bytes:
    body = b"WEBPVP8 " + struct.pack("<I", 10) + b"\x00" * 10
    return b"RIFF" + struct.pack("<I", len(body)) + body
