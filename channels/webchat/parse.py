"""What a browser sends (``user_uttered``) to the stored form of a web-chat message.

Client metadata is not trusted: only ``display_text`` (a tapped button's title) and
``entry_source`` (validated) are read, everything else is dropped.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from bot.entry_links import METADATA_KEY, from_metadata

MAX_TEXT_CHARS = 2000
MAX_DISPLAY_CHARS = 200


def read_message(data: Any) -> Optional[Dict[str, Any]]:
    """The stored form of a ``user_uttered`` payload (only the fields we define), or None if unusable."""
    if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
        return None
    text = data["message"].strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        return None
    metadata = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
    display = metadata.get("display_text")
    entry = from_metadata(metadata.get(METADATA_KEY))
    return {
        "text": text,
        "display_text": display[:MAX_DISPLAY_CHARS] if isinstance(display, str) else text,
        METADATA_KEY: entry.as_metadata() if entry else None,
    }
