"""Instagram comments → one private reply that opens a DM with the assistant.

Which posts, which keywords or intents trigger a reply, its texts, and whether a
short public reply is posted too are configuration (a YAML file, see
docs/channels/instagram.md), not code.  :func:`decide` is pure apart from the
optional intent lookup it is given, so every rule is unit-tested alone.

Rules (https://developers.facebook.com/docs/instagram-platform/private-replies):
one private reply per comment, within 7 days of it; comments by the brand's own
account are never answered (it would loop); duplicates are dropped by the inbox.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Optional, Tuple

import yaml

from bot.language import AR, EN, detect, normalize
from bot.language.reply import default_language
from channels.instagram.parse import Comment
from channels.instagram.window import private_reply_allowed

logger = logging.getLogger(__name__)

ALL_POSTS = "*"

#: Intent lookup: comment text → (intent name, confidence), or None if unavailable.
IntentLookup = Callable[[str], Awaitable[Optional[Tuple[str, float]]]]

Texts = Mapping[str, str]

DEFAULT_PRIVATE_REPLY: Texts = {
    AR: "أهلاً! شفنا تعليقك 🌟 أنا المساعد الرقمي لخدمة العملاء، اكتب لي هنا وش تحتاج وأساعدك.",
    EN: "Hi! We saw your comment 🌟 I'm the customer-care assistant: tell me here what you need and I'll help.",
}
DEFAULT_PUBLIC_REPLIES: Mapping[str, Tuple[str, ...]] = {
    AR: ("أرسلنا لك رسالة خاصة 📩", "تواصلنا معك على الخاص 🌟"),
    EN: ("We've sent you a DM 📩", "Check your messages, we've reached out 🌟"),
}
DEFAULT_STORY_MENTION: Texts = {
    AR: "شكراً على الإشارة في قصتك! 💙 كيف نقدر نساعدك اليوم؟",
    EN: "Thanks for mentioning us in your story! 💙 How can we help you today?",
}
DEFAULT_UNSUPPORTED: Texts = {
    AR: "عذراً، ما أقدر أقرأ هذا النوع من الرسائل. اكتب لي سؤالك نصاً لو سمحت.",
    EN: "Sorry, I can't read that kind of message. Please type your question.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FunnelConfig:
    """What the comment funnel does (YAML ``comments:`` and ``texts:``).

    Attributes:
        enabled: answer comments at all.
        posts: media ids (posts, reels, ads) whose comments are answered; ``"*"``: all.
        include_replies: also answer comments that reply to another comment.
        keywords: any of these in the comment (after Arabic normalisation) triggers.
        intents: or an NLU intent among these with at least ``min_confidence``.
            With neither keywords nor intents every comment triggers.
        private_reply: the private reply per language (``ar``/``en``).
        public_reply: post a short public reply under the comment as well.
        public_replies: the public texts per language; one is picked per comment.
        story_mention: the acknowledgement sent when a customer mentions the brand.
        unsupported: the answer to a message Instagram could not deliver (GIF, sticker).
    """

    enabled: bool = True
    posts: Tuple[str, ...] = (ALL_POSTS,)
    include_replies: bool = False
    keywords: Tuple[str, ...] = ()
    intents: Tuple[str, ...] = ()
    min_confidence: float = 0.5
    private_reply: Texts = field(default_factory=lambda: dict(DEFAULT_PRIVATE_REPLY))
    public_reply: bool = False
    public_replies: Mapping[str, Tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PUBLIC_REPLIES))
    story_mention: Texts = field(default_factory=lambda: dict(DEFAULT_STORY_MENTION))
    unsupported: Texts = field(default_factory=lambda: dict(DEFAULT_UNSUPPORTED))

    @classmethod
    def from_mapping(cls, data: Optional[Mapping[str, Any]]) -> "FunnelConfig":
        """Read the YAML structure (missing keys keep their defaults).

        Raises:
            ValueError: a value has the wrong type.
        """
        data = data or {}
        comments = _section(data, "comments")
        texts = _section(data, "texts")
        public = _section(comments, "public_reply")
        return cls(
            enabled=bool(comments.get("enabled", True)),
            posts=_strings(comments.get("posts", [ALL_POSTS]), "comments.posts"),
            include_replies=bool(comments.get("include_replies", False)),
            keywords=_strings(comments.get("keywords", []), "comments.keywords"),
            intents=_strings(comments.get("intents", []), "comments.intents"),
            min_confidence=float(comments.get("min_confidence", 0.5)),
            private_reply=_texts(comments.get("private_reply"), DEFAULT_PRIVATE_REPLY),
            public_reply=bool(public.get("enabled", False)),
            public_replies={lang: _strings(public.get(lang, DEFAULT_PUBLIC_REPLIES[lang]), f"public_reply.{lang}")
                            for lang in (AR, EN)},
            story_mention=_texts(texts.get("story_mention"), DEFAULT_STORY_MENTION),
            unsupported=_texts(texts.get("unsupported"), DEFAULT_UNSUPPORTED),
        )

    @classmethod
    def from_file(cls, path: Optional[str]) -> "FunnelConfig":
        """Read ``path`` (None or empty: the defaults)."""
        if not path:
            return cls()
        return cls.from_mapping(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def covers(self, media_id: Optional[str]) -> bool:
        """Whether comments on ``media_id`` are answered."""
        return ALL_POSTS in self.posts or (media_id is not None and media_id in self.posts)


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be a mapping")
    return value


def _strings(value: Any, name: str) -> Tuple[str, ...]:
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list")
    return tuple(str(item) for item in value if str(item).strip())


def _texts(value: Any, default: Texts) -> Texts:
    if value is None:
        return dict(default)
    if not isinstance(value, Mapping):
        raise ValueError("texts must map ar/en to a string")
    return {lang: str(value.get(lang) or default[lang]) for lang in (AR, EN)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentDecision:
    """What to do with one comment.

    Attributes:
        reply: send the private reply.
        reason: why (or why not), for logs and records: ``keyword``, ``intent``,
            ``all``, ``disabled``, ``post``, ``reply_to_comment``, ``too_old``,
            ``no_match``.
        language: ``ar`` or ``en``, from the comment text.
        private_text: the private reply's text, when replying.
        public_text: the public reply's text, when configured.
    """

    reply: bool
    reason: str
    language: str
    private_text: Optional[str] = None
    public_text: Optional[str] = None


def comment_language(text: str) -> str:
    """The comment's language when clear, else the configured default."""
    guess = detect(text, default=default_language())
    return guess.code if guess.clear else default_language()


def _fold(text: str) -> str:
    return normalize(text).lower()


def pick_public_text(config: FunnelConfig, language: str, comment_id: str) -> Optional[str]:
    """One public text, the same for the same comment (stable across retries)."""
    choices = config.public_replies.get(language) or ()
    if not config.public_reply or not choices:
        return None
    index = int(hashlib.sha256(comment_id.encode()).hexdigest(), 16) % len(choices)
    return choices[index]


async def decide(config: FunnelConfig, comment: Comment, commented_at: Optional[datetime], now: datetime,
                 intent_of: Optional[IntentLookup] = None) -> CommentDecision:
    """Whether and how to answer ``comment``.

    Args:
        config: the funnel configuration.
        comment: the parsed comment.
        commented_at: when it was written (None: unknown, treated as recent).
        now: the current time.
        intent_of: NLU lookup, used only when intents are configured and no keyword matched.
    """
    language = comment_language(comment.text)

    def no(reason: str) -> CommentDecision:
        return CommentDecision(reply=False, reason=reason, language=language)

    if not config.enabled:
        return no("disabled")
    if not config.covers(comment.media_id):
        return no("post")
    if comment.parent_id and not config.include_replies:
        return no("reply_to_comment")
    if not private_reply_allowed(commented_at, now):
        return no("too_old")
    reason = await _trigger(config, comment.text, intent_of)
    if reason is None:
        return no("no_match")
    return CommentDecision(reply=True, reason=reason, language=language,
                           private_text=config.private_reply[language],
                           public_text=pick_public_text(config, language, comment.id))


async def _trigger(config: FunnelConfig, text: str, intent_of: Optional[IntentLookup]) -> Optional[str]:
    if not config.keywords and not config.intents:
        return "all"
    folded = _fold(text)
    if any(_fold(keyword) in folded for keyword in config.keywords):
        return "keyword"
    if config.intents and intent_of is not None and text.strip():
        found = await intent_of(text)
        if found and found[0] in config.intents and found[1] >= config.min_confidence:
            return "intent"
    return None
