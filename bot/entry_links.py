"""Entry links: how customers from Snapchat (and other campaigns) reach Majlis.

Snapchat has no messaging API for businesses (docs/channels/snapchat.md), so a
Snapchat profile, story or ad links to a channel Majlis does serve, carrying a
short reference to where the customer came from:

- WhatsApp click-to-chat: ``https://wa.me/<number>?text=<prefill> [ref:snap-ramadan]``;
  the channel reads the ref from the first text (:func:`split_ref`);
- web chat: ``<webchat URL>?src=snapchat&campaign=ramadan`` (:func:`from_query`);
- Instagram: ``https://ig.me/m/<username>?ref=snap-ramadan`` (arrives as ``referral.ref``).

Each link prints as a QR code (PNG or SVG, segno).  Channels put the parsed source in
``UserMessage.metadata["entry_source"]`` and record it per conversation in
``majlis_entry_source`` (:class:`EntrySourceStore`), so agents and reports see it.

CLI::

    python -m bot.entry_links list --config entry_links.yml
    python -m bot.entry_links link snap-ramadan --channel whatsapp --config entry_links.yml --qr snap.png
"""
from __future__ import annotations

import argparse
import io
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import segno
import sqlalchemy as sa
import yaml
from sqlalchemy.exc import IntegrityError

from bot.config import config as default_config
from bot.storage.schema import entry_source as entry_source_table
from bot.storage.table_store import TableStore

logger = logging.getLogger(__name__)

#: ``[ref:snap-ramadan]`` anywhere in a message.
REF_PATTERN = re.compile(r"\s*\[ref:([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\]\s*", re.IGNORECASE)
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Short source codes used in refs → the source's name in records.
SOURCE_ALIASES: Mapping[str, str] = {
    "snap": "snapchat", "sc": "snapchat", "ig": "instagram", "tt": "tiktok", "fb": "facebook",
    "yt": "youtube", "qr": "qr", "web": "web", "sms": "sms", "mail": "email",
}
_SHORT_CODES = {name: code for code, name in reversed(list(SOURCE_ALIASES.items()))}
CHANNELS = ("whatsapp", "webchat", "instagram")
METADATA_KEY = "entry_source"


@dataclass(frozen=True, slots=True, kw_only=True)
class EntrySource:
    """Where a customer came from.

    Attributes:
        ref: the short reference (``snap-ramadan``).
        source: the referring place (``snapchat``).
        campaign: the campaign (``ramadan``), if any.
    """

    ref: str
    source: str
    campaign: Optional[str] = None

    def as_metadata(self) -> Dict[str, Optional[str]]:
        """The ``metadata["entry_source"]`` value."""
        return {"ref": self.ref, "source": self.source, "campaign": self.campaign}


def _token(value: Any) -> Optional[str]:
    text = str(value).strip() if value is not None else ""
    return text if _TOKEN.match(text) else None


def make_ref(source: str, campaign: Optional[str] = None) -> str:
    """``snapchat`` + ``ramadan`` → ``snap-ramadan``.

    Raises:
        ValueError: source or campaign has characters other than letters, digits, ``_.-``.
    """
    if _token(source) is None or (campaign and _token(campaign) is None):
        raise ValueError("source and campaign may only use letters, digits, '_', '.' and '-'")
    code = _SHORT_CODES.get(source.lower(), source.lower())
    return f"{code}-{campaign}" if campaign else code


def parse_ref(ref: str) -> Optional[EntrySource]:
    """``snap-ramadan`` → source ``snapchat``, campaign ``ramadan``; None if not a ref."""
    ref = _token(ref) or ""
    if not ref:
        return None
    code, _, campaign = ref.partition("-")
    return EntrySource(ref=ref, source=SOURCE_ALIASES.get(code.lower(), code.lower()), campaign=campaign or None)


def split_ref(text: str) -> Tuple[str, Optional[EntrySource]]:
    """The text without its ``[ref:…]`` marker, and the source it names.

    >>> split_ref("Hello [ref:snap-ramadan]")
    ('Hello', EntrySource(ref='snap-ramadan', source='snapchat', campaign='ramadan'))
    """
    match = REF_PATTERN.search(text or "")
    if match is None:
        return text, None
    cleaned = (text[: match.start()] + " " + text[match.end():]).strip()
    return cleaned, parse_ref(match.group(1))


def from_query(args: Mapping[str, Any]) -> Optional[EntrySource]:
    """The source of a web-chat visit from ``?src=…&campaign=…`` (or ``?ref=…``)."""
    source, campaign = _token(args.get("src")), _token(args.get("campaign"))
    if source:
        return EntrySource(ref=make_ref(source, campaign), source=source.lower(), campaign=campaign)
    ref = _token(args.get("ref"))
    return parse_ref(ref) if ref else None


def from_metadata(value: Any) -> Optional[EntrySource]:
    """Validate an ``entry_source`` mapping that came from a client."""
    if not isinstance(value, Mapping):
        return None
    return from_query({"src": value.get("source") or value.get("src"), "campaign": value.get("campaign"),
                       "ref": value.get("ref")})


# -- links and QR codes ------------------------------------------------------

def whatsapp_link(number: str, ref: str, prefill: str = "") -> str:
    """Click-to-chat link whose prefilled text carries ``[ref:<ref>]``.

    Raises:
        ValueError: the number has no digits.
    """
    digits = re.sub(r"\D", "", number)
    if not digits:
        raise ValueError("WhatsApp number needs digits (international format)")
    text = f"{prefill.strip()} [ref:{ref}]".strip()
    return f"https://wa.me/{digits}?text={quote(text, safe='')}"


def webchat_link(base_url: str, source: str, campaign: Optional[str] = None) -> str:
    """The web-chat page URL with ``src`` and ``campaign`` (kept query parameters stay)."""
    parts = urlsplit(base_url)
    params = [(k, v) for k, v in (("src", source), ("campaign", campaign)) if v]
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


def instagram_link(username: str, ref: str) -> str:
    """An ig.me link; Instagram passes ``ref`` to the webhook as ``referral.ref``."""
    return f"https://ig.me/m/{username.lstrip('@')}?ref={quote(ref, safe='')}"


def qr_code(url: str, fmt: str = "svg", scale: int = 8) -> bytes:
    """The QR code of ``url`` as SVG or PNG bytes (error correction M, quiet zone 4).

    Raises:
        ValueError: ``fmt`` is neither ``svg`` nor ``png``.
    """
    if fmt not in ("svg", "png"):
        raise ValueError("QR format must be svg or png")
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind=fmt, scale=scale, border=4)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    """One configured campaign: its ref and the prefilled WhatsApp text per language."""

    name: str
    source: str
    campaign: Optional[str] = None
    prefill: str = ""

    @property
    def ref(self) -> str:
        return make_ref(self.source, self.campaign)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryLinksConfig:
    """The YAML file (``MAJLIS_ENTRY_LINKS_FILE``): where links point, and the campaigns."""

    whatsapp_number: Optional[str] = None
    webchat_url: Optional[str] = None
    instagram_username: Optional[str] = None
    campaigns: Mapping[str, Campaign] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Optional[Mapping[str, Any]]) -> "EntryLinksConfig":
        data = data or {}
        campaigns = {}
        for name, item in (data.get("campaigns") or {}).items():
            item = item or {}
            campaigns[str(name)] = Campaign(name=str(name), source=str(item.get("source", "snapchat")),
                                            campaign=item.get("campaign"), prefill=str(item.get("prefill", "")))
        return cls(whatsapp_number=_opt(data.get("whatsapp_number")), webchat_url=_opt(data.get("webchat_url")),
                   instagram_username=_opt(data.get("instagram_username")), campaigns=campaigns)

    @classmethod
    def from_file(cls, path: Optional[str]) -> "EntryLinksConfig":
        if not path:
            return cls()
        return cls.from_mapping(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def link(self, channel: str, campaign: Campaign) -> str:
        """The entry link of ``campaign`` on ``channel``.

        Raises:
            ValueError: unknown channel, or its target (number, URL, username) not configured.
        """
        if channel == "whatsapp" and self.whatsapp_number:
            return whatsapp_link(self.whatsapp_number, campaign.ref, campaign.prefill)
        if channel == "webchat" and self.webchat_url:
            return webchat_link(self.webchat_url, campaign.source, campaign.campaign)
        if channel == "instagram" and self.instagram_username:
            return instagram_link(self.instagram_username, campaign.ref)
        raise ValueError(f"no {channel} target configured (channels: {', '.join(CHANNELS)})")


def _opt(value: Any) -> Optional[str]:
    return str(value) if value not in (None, "") else None


# -- per-conversation record ----------------------------------------------------
def _naive_utc(value: datetime) -> datetime:
    """Stored as naive UTC (SQLite keeps no zone), like every Majlis table."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return None if value is None else value.replace(tzinfo=timezone.utc)


class EntrySourceStore(TableStore):
    """Where each conversation came from; the first source recorded stays.

    Args:
        engine: from :func:`bot.storage.get_engine`.
        executor: where database calls run; pass the delivery store's, so calls on one
            SQLite connection never overlap (default: the loop's thread pool).
    """

    async def record(self, channel: str, customer: str, source: EntrySource, at: datetime) -> bool:
        """Store ``source`` for the conversation unless one is stored; True if stored now."""
        return await self._run(self._record, channel, customer, source, at)

    def _record(self, channel: str, customer: str, source: EntrySource, at: datetime) -> bool:
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(entry_source_table.c.ref).where(
                entry_source_table.c.channel == channel, entry_source_table.c.customer == customer)).first()
            if exists is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(entry_source_table.insert().values(
                        channel=channel, customer=customer, ref=source.ref, source=source.source,
                        campaign=source.campaign, first_seen_at=_naive_utc(at)))
            except IntegrityError:  # another instance recorded the first source meanwhile: it stays
                return False
            return True

    async def get(self, channel: str, customer: str) -> Optional[Tuple[EntrySource, datetime]]:
        """The recorded source of a conversation and when it was first seen."""
        return await self._run(self._get, channel, customer)

    def _get(self, channel: str, customer: str) -> Optional[Tuple[EntrySource, datetime]]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entry_source_table).where(
                entry_source_table.c.channel == channel, entry_source_table.c.customer == customer)).first()
        if row is None:
            return None
        return EntrySource(ref=row.ref, source=row.source, campaign=row.campaign), _aware(row.first_seen_at)


# -- command line --------------------------------------------------------------

def _campaign(cfg: EntryLinksConfig, args: argparse.Namespace) -> Campaign:
    if args.campaign in cfg.campaigns:
        return cfg.campaigns[args.campaign]
    parsed = parse_ref(args.campaign)
    if parsed is None:
        raise ValueError(f"unknown campaign {args.campaign!r}")
    return Campaign(name=parsed.ref, source=parsed.source, campaign=parsed.campaign, prefill=args.prefill or "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``list`` the configured links, or print one ``link`` (and write its QR code)."""
    parser = argparse.ArgumentParser(prog="python -m bot.entry_links", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=default_config("MAJLIS_ENTRY_LINKS_FILE", default=None),
                        help="YAML with whatsapp_number, webchat_url, instagram_username, campaigns")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every campaign's links")
    one = commands.add_parser("link", help="one link, optionally as a QR code")
    one.add_argument("campaign", help="a configured campaign name, or a ref such as snap-ramadan")
    one.add_argument("--channel", choices=CHANNELS, default="whatsapp")
    one.add_argument("--number", help="WhatsApp number (overrides the config)")
    one.add_argument("--webchat-url", help="web-chat page URL (overrides the config)")
    one.add_argument("--instagram", help="Instagram username (overrides the config)")
    one.add_argument("--prefill", help="prefilled WhatsApp text for an unconfigured campaign")
    one.add_argument("--qr", help="write the QR code here (.png or .svg)")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        cfg = EntryLinksConfig.from_file(args.config)
        if args.command == "list":
            for campaign in cfg.campaigns.values():
                for channel in CHANNELS:
                    try:
                        out.write(f"{campaign.name}\t{channel}\t{cfg.link(channel, campaign)}\n")
                    except ValueError:
                        continue
            return 0
        cfg = EntryLinksConfig(
            whatsapp_number=args.number or cfg.whatsapp_number, webchat_url=args.webchat_url or cfg.webchat_url,
            instagram_username=args.instagram or cfg.instagram_username, campaigns=cfg.campaigns)
        url = cfg.link(args.channel, _campaign(cfg, args))
        out.write(url + "\n")
        if args.qr:
            fmt = Path(args.qr).suffix.lower().lstrip(".")
            Path(args.qr).write_bytes(qr_code(url, fmt))
            out.write(f"QR code written to {args.qr}\n")
        return 0
    except (OSError, ValueError, yaml.YAMLError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
