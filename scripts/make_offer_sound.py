"""Write bot/agent_desk/static/offer.wav: the desk's short chime for a new offer or customer reply.

Generated (two soft sine tones, 0.3 s, 8 kHz mono 8-bit), so nothing is downloaded and the
file is reproducible: ``.venv/bin/python scripts/make_offer_sound.py``.
"""
from __future__ import annotations

import math
import wave
from pathlib import Path

RATE = 8000
TONES = ((880.0, 0.12), (1320.0, 0.18))  # Hz, seconds
TARGET = Path(__file__).resolve().parents[1] / "bot" / "agent_desk" / "static" / "offer.wav"


def samples() -> bytes:
    out = bytearray()
    for frequency, seconds in TONES:
        count = int(RATE * seconds)
        for i in range(count):
            fade = min(1.0, i / 80, (count - i) / 400)  # no clicks at the edges
            out.append(128 + int(70 * fade * math.sin(2 * math.pi * frequency * i / RATE)))
    return bytes(out)


def main() -> None:
    with wave.open(str(TARGET), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(RATE)
        sound.writeframes(samples())


if __name__ == "__main__":
    main()
