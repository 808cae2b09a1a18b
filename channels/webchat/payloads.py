"""Our replies as socket.io ``bot_uttered`` bodies (Rasa's socket.io shapes), pure builders."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

AGENT_JOINED = "agent_joined"
AGENT_LEFT = "agent_left"


def agent_joined(name: Optional[str] = None) -> Dict[str, Any]:
    """The custom payload announcing that a person joined (for the agent desk)."""
    return {"majlis": AGENT_JOINED, "agent": {"name": name}} if name else {"majlis": AGENT_JOINED}


def text_body(text: str) -> Optional[Dict[str, Any]]:
    """A text bubble; None for blank text (nothing to show)."""
    return {"text": text.strip()} if text.strip() else None


def buttons_body(text: str, buttons: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """Text with quick replies; a button lacking a title or payload uses the other."""
    replies = [{"content_type": "text", "title": str(b.get("title") or b.get("payload") or ""),
                "payload": str(b.get("payload") or b.get("title") or "")} for b in buttons]
    return {"text": text.strip(), "quick_replies": replies}


def image_body(image: str) -> Dict[str, Any]:
    return {"attachment": {"type": "image", "payload": {"src": image}}}


def attachment_body(attachment: Any) -> Dict[str, Any]:
    return {"attachment": attachment}


def custom_body(json_message: Mapping[str, Any]) -> Dict[str, Any]:
    return {"custom": json_message}
