"""Real, tiny media files built in code (no binary fixtures): a PNG photo and an Ogg/Opus voice note.

Sources: the PNG layout is the W3C PNG specification (signature, IHDR, IDAT with
zlib-compressed scanlines, IEND, CRC-32 per chunk); the voice note follows RFC 7845
(Ogg encapsulation of Opus: an ``OpusHead`` page, an ``OpusTags`` page, then audio pages
whose granule position counts 48 kHz samples) and RFC 3533 (Ogg pages and their CRC).
Each audio packet is ``F8 FF FE``: TOC byte 0xF8 (RFC 6716 config 31: CELT fullband
20 ms, mono, one frame) followed by a silent CELT frame, the "silence frame" WebRTC
and Discord send.  Both files are written here and owe nothing to anyone.
"""
from __future__ import annotations

import struct
import zlib

SILENCE_FRAME = b"\xf8\xff\xfe"
SAMPLES_PER_FRAME = 960  # 20 ms at 48 kHz
PRE_SKIP = 312


def png(width: int = 8, height: int = 6, rgb: tuple = (200, 30, 40)) -> bytes:
    """A ``width`` × ``height`` PNG of one colour (8-bit RGB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(packets: list, *, granule: int, sequence: int, flags: int, serial: int = 0x4D414A4C) -> bytes:
    lacing = b""
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    head = b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, serial, sequence, 0, len(lacing)) + lacing
    page = head + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def ogg_opus_voice_note(seconds: float = 1.0) -> bytes:
    """An Ogg/Opus file of ``seconds`` of silence, mono, as WhatsApp voice notes are (``audio/ogg; codecs=opus``)."""
    frames = max(1, int(seconds * 50))
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, 48000, 0, 0)
    vendor = b"majlis-test"
    opus_tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    return (_ogg_page([opus_head], granule=0, sequence=0, flags=0x02)
            + _ogg_page([opus_tags], granule=0, sequence=1, flags=0x00)
            + _ogg_page([SILENCE_FRAME] * frames, granule=PRE_SKIP + frames * SAMPLES_PER_FRAME, sequence=2,
                        flags=0x04))
