"""Small real images as raw bytes, written by Pillow the way the upload re-encodes them (so a
PNG comes back from storage byte for byte), and one huge PNG that Pillow could not even hold."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def _encoded(kind: str, width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(out, kind)
    return out.getvalue()


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    """A real PNG (8-bit RGB) a browser can draw."""
    return _encoded("PNG", width, height, rgb)


def padded_png(size: int) -> bytes:
    """A PNG of exactly `size` bytes (padded after its end, where decoders stop reading)."""
    image = png_bytes()
    return image + b"\x00" * (size - len(image))


def jpeg_bytes() -> bytes:
    return _encoded("JPEG", 8, 8, (200, 30, 90))


def webp_bytes() -> bytes:
    return _encoded("WEBP", 8, 8, (200, 30, 90))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG of any size, under 50 KB even at 20000 × 20000: written row by row,
    since Pillow would first allocate a byte for each of its pixels."""
    rows = zlib.compressobj()
    row = b"\x00" * (1 + (width + 7) // 8)  # filter type 0, then the row's bits
    data = b"".join(rows.compress(row) for _ in range(height)) + rows.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
