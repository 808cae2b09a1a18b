"""Business hours: is the care team working now, and when does it open next."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from bot.config import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
}
Span = Tuple[time, time]


def _span(text: str) -> Span:
    try:
        start, end = (part.strip() for part in text.split("-", 1))
        opens = time.fromisoformat(start)
        closes = time.max if end in ("24:00", "23:59") else time.fromisoformat(end)
    except ValueError:
        raise ConfigError("handoff.yml business_hours", f"cannot read span {text!r} (use 08:00-22:00)") from None
    return opens, closes


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessHours:
    """Weekly opening spans in a time zone, minus closed dates.

    Attributes:
        timezone: IANA name, e.g. ``Asia/Dubai``.
        weekly: weekday (0 = Monday) to its opening spans in local time.
        closed: dates without any opening.
        always_open: ignore everything above (24/7 desks).
    """

    timezone: str = "UTC"
    weekly: Mapping[int, Tuple[Span, ...]] = None  # type: ignore[assignment]
    closed: frozenset = frozenset()
    always_open: bool = False

    @classmethod
    def always(cls) -> "BusinessHours":
        return cls(weekly={}, always_open=True)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "BusinessHours":
        """Read the ``business_hours`` section of handoff.yml (empty: always open)."""
        if not data:
            return cls.always()
        weekly: Dict[int, Tuple[Span, ...]] = {}
        for key, spans in (data.get("weekly") or {}).items():
            if key not in DAYS:
                raise ConfigError("handoff.yml business_hours", f"unknown day {key!r}")
            weekly[DAYS.index(key)] = tuple(_span(str(s)) for s in spans or ())
        try:
            ZoneInfo(str(data.get("timezone", "UTC")))
        except (KeyError, ValueError):
            raise ConfigError("handoff.yml business_hours", "unknown timezone") from None
        closed = frozenset(date.fromisoformat(str(d)) for d in data.get("closed_dates") or ())
        return cls(timezone=str(data.get("timezone", "UTC")), weekly=weekly, closed=closed)

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(ZoneInfo(self.timezone))

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` (an aware datetime) falls inside an opening span."""
        if self.always_open:
            return True
        local = self._local(at)
        if local.date() in self.closed:
            return False
        now = local.time()
        return any(start <= now < end or (end == time.max and now >= start)
                   for start, end in self.weekly.get(local.weekday(), ()))

    def next_open(self, at: datetime) -> Optional[datetime]:
        """The next opening at or after ``at`` (aware, local zone); None if never."""
        if self.always_open or self.is_open(at):
            return at
        local = self._local(at)
        for offset in range(0, 15):
            day = local.date() + timedelta(days=offset)
            if day in self.closed:
                continue
            for start, _end in sorted(self.weekly.get(day.weekday(), ())):
                candidate = datetime.combine(day, start, tzinfo=local.tzinfo)
                if candidate > local:
                    return candidate
        return None

    def describe_next_open(self, at: datetime, language: str) -> str:
        """"today at 08:00" / "اليوم الساعة 08:00", tomorrow, or the weekday."""
        opens = self.next_open(at)
        if opens is None:
            return "قريباً" if language == "ar" else "soon"
        local = self._local(at)
        clock = opens.strftime("%H:%M")
        days = (opens.date() - local.date()).days
        if language == "ar":
            when = "اليوم" if days == 0 else "بكرة" if days == 1 else f"يوم {DAY_NAMES['ar'][opens.weekday()]}"
            return f"{when} الساعة {clock}"
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"on {DAY_NAMES['en'][opens.weekday()]}"
        return f"{when} at {clock}"
