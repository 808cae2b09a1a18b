"""Handoff settings: handoff.yml plus a few environment overrides, read once.

Everything an operator tunes (rules per intent, thresholds, business hours, queue
updates, what the customer hears, canned replies, webhooks) lives in the YAML file,
not in code.  The file is validated here, into frozen dataclasses, so a typo fails at
start-up rather than during a conversation.

Environment (injectable through :class:`bot.config.Config`):

================================== ==================================================
``MAJLIS_HANDOFF_CONFIG``           path of the YAML file (``./handoff.yml``)
``MAJLIS_COMPENSATION_AUTO_LIMIT``  overrides ``compensation.auto_limit``
``MAJLIS_HANDOFF_UPDATE_SECONDS``   overrides ``updates.interval_seconds``
``MAJLIS_BUSINESS_HOURS``           ``always`` ignores ``business_hours`` (24/7 desks)
``MAJLIS_OFFER_TIMEOUT_SECONDS``    overrides ``assignment.offer_timeout_seconds``
``MAJLIS_WINDOW_ESCALATE_MINUTES``  overrides ``assignment.window_escalate_minutes``
================================== ==================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from bot.config import Config, ConfigError, config
from bot.handoff.hours import BusinessHours

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = ("always", "distress", "amount_above_limit")
MESSAGE_KEYS = ("queued", "queue_position", "queued_update", "after_hours", "handback", "rating_request",
                "rating_thanks", "rate_limited")


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where a handoff goes and why: the outcome shared by every trigger."""

    reason: str
    queue: str
    priority: str = "normal"


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentRule:
    """Hand off when ``intent`` is recognised and ``when`` holds."""

    intent: str
    when: str
    route: Route
    after_intent: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackRule:
    consecutive: int
    min_confidence: float
    route: Route


@dataclass(frozen=True, slots=True, kw_only=True)
class RepeatRule:
    times: int
    within: int
    ignore_intents: frozenset
    route: Route


@dataclass(frozen=True, slots=True, kw_only=True)
class DistressRule:
    threshold: int
    exclamations: int
    caps_min_letters: int
    caps_ratio: float
    urgency: Tuple[str, ...]
    leaving: Tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bilingual:
    """A text in Arabic and English."""

    ar: str
    en: str

    def get(self, language: str) -> str:
        return self.ar if language == "ar" else self.en


@dataclass(frozen=True, slots=True, kw_only=True)
class CannedReply:
    id: str
    text: Bilingual


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookTarget:
    """An outgoing webhook subscription; the secret is read from the environment."""

    name: str
    url: str
    secret: str = field(repr=False)
    events: frozenset


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffLimits:
    """How many handoffs may be created in any hour (0: no limit).

    ``per_customer``: per conversation (channel + sender id);
    ``per_channel``: per channel, for channels anyone can open anonymously (web chat),
    so scripted sessions cannot flood the queue.
    """

    per_customer: int = 3
    per_channel: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentSettings:
    """Offering handoffs to available agents (bot.handoff.assignment) and the window-aware queue.

    ``auto_assign``: whether a queue offers handoffs until a supervisor switches it
    (the switch is stored per queue); ``offer_timeout``: seconds an agent has to accept
    before the next one is offered; ``default_capacity``: concurrent conversations of an
    agent whose capacity was not set; ``escalate_minutes``: a conversation whose reply
    window closes within this many minutes is escalated to supervisors;
    ``check_seconds``: how often reply windows are read again.
    """

    auto_assign: bool = True
    offer_timeout: float = 60.0
    default_capacity: int = 3
    escalate_minutes: float = 60.0
    check_seconds: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffSettings:
    """Everything :mod:`bot.handoff` needs, validated."""

    default_queue: str
    queues: Tuple[str, ...]
    rules: Tuple[IntentRule, ...]
    fallback: FallbackRule
    repeat: RepeatRule
    distress: DistressRule
    compensation_limit: float
    priority_levels: Mapping[str, int]
    returning_days: int
    hours: BusinessHours
    minutes_per_position: float
    update_interval: float
    ask_rating: bool
    #: ask a 1-5 rating when a conversation the bot settled alone ends (bot/handoff/bot_rating.py)
    ask_bot_rating: bool
    messages: Mapping[str, Bilingual]
    resolutions: Tuple[str, ...]
    canned: Tuple[CannedReply, ...]
    webhooks: Tuple[WebhookTarget, ...]
    intent_labels: Mapping[str, Bilingual]
    form_labels: Mapping[str, Bilingual] = field(default_factory=dict)
    action_labels: Mapping[str, Bilingual] = field(default_factory=dict)
    limits: HandoffLimits = field(default_factory=HandoffLimits)
    assignment: AssignmentSettings = field(default_factory=AssignmentSettings)

    def level(self, name: str) -> int:
        """The numeric priority of a level name (unknown names: normal)."""
        return self.priority_levels.get(name, self.priority_levels.get("normal", 2))

    def label(self, intent: Optional[str], language: str) -> str:
        """A readable name of ``intent`` in ``language``."""
        return self.label_of("intent", intent, language)

    def label_of(self, kind: str, name: Optional[str], language: str) -> str:
        """A readable name of an intent, form or action (``kind``) in ``language``.

        Agents read these on the context card: an internal identifier such as
        ``order_status_form`` means nothing to them, so a name without a label is
        still turned into words (``order status``), and a test keeps every intent,
        form and action of the domain labelled.
        """
        if not name:
            return ""
        table = {"intent": self.intent_labels, "form": self.form_labels, "action": self.action_labels}[kind]
        label = table.get(name)
        return label.get(language) if label else humanised(name)


def humanised(name: str) -> str:
    """``action_order_status`` / ``order_status_form`` -> ``order status``."""
    core = name[len("action_"):] if name.startswith("action_") else name
    core = core[: -len("_form")] if core.endswith("_form") else core
    return core.replace("_", " ").strip()


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"handoff.yml {where}", f"'{key}' is missing")
    return data[key]


def _route(data: Mapping[str, Any], queues: Tuple[str, ...], where: str) -> Route:
    queue = str(_require(data, "queue", where))
    if queue not in queues:
        raise ConfigError(f"handoff.yml {where}", f"unknown queue {queue!r}")
    return Route(reason=str(_require(data, "reason", where)), queue=queue,
                 priority=str(data.get("priority", "normal")))


def _bilingual(data: Any, where: str) -> Bilingual:
    if not isinstance(data, Mapping) or not data.get("ar") or not data.get("en"):
        raise ConfigError(f"handoff.yml {where}", "needs both 'ar' and 'en' texts")
    return Bilingual(ar=str(data["ar"]), en=str(data["en"]))


def _rules(items: List[Mapping[str, Any]], queues: Tuple[str, ...]) -> Tuple[IntentRule, ...]:
    rules = []
    for index, item in enumerate(items or []):
        where = f"rules[{index}]"
        when = str(item.get("when", "always"))
        if when not in CONDITIONS:
            raise ConfigError(f"handoff.yml {where}", f"'when' must be one of {', '.join(CONDITIONS)}")
        rules.append(IntentRule(intent=str(_require(item, "intent", where)), when=when,
                                route=_route(item, queues, where), after_intent=item.get("after_intent")))
    return tuple(rules)


def _webhooks(items: List[Mapping[str, Any]], cfg: Config) -> Tuple[WebhookTarget, ...]:
    targets = []
    for index, item in enumerate(items or []):
        where = f"webhooks[{index}]"
        secret = cfg(str(_require(item, "secret_env", where)))
        targets.append(WebhookTarget(name=str(_require(item, "name", where)), url=str(_require(item, "url", where)),
                                     secret=secret, events=frozenset(item.get("events") or ())))
    return tuple(targets)


def parse_settings(data: Mapping[str, Any], cfg: Config = config) -> HandoffSettings:
    """Validate the YAML document ``data`` (environment overrides from ``cfg``).

    Raises:
        bot.config.ConfigError: a value is missing or unreadable.
    """
    queues = tuple(str(q) for q in _require(data, "queues", "top level"))
    default_queue = str(data.get("default_queue", queues[0]))
    fallback, repeat, distress = data.get("fallback") or {}, data.get("repeat") or {}, data.get("distress") or {}
    hours = BusinessHours.from_mapping(data.get("business_hours") or {})
    if str(cfg("MAJLIS_BUSINESS_HOURS", default="")).lower() == "always":
        hours = BusinessHours.always()
    messages = data.get("messages") or {}
    priority = data.get("priority") or {}
    return HandoffSettings(
        default_queue=default_queue,
        queues=queues,
        rules=_rules(data.get("rules") or [], queues),
        fallback=FallbackRule(consecutive=int(fallback.get("consecutive", 2)),
                              min_confidence=float(fallback.get("min_confidence", 0.3)),
                              route=_route({"queue": default_queue, "reason": "not_understood", **fallback},
                                           queues, "fallback")),
        repeat=RepeatRule(times=int(repeat.get("times", 3)), within=int(repeat.get("within", 4)),
                          ignore_intents=frozenset(repeat.get("ignore_intents") or ()),
                          route=_route({"queue": default_queue, "reason": "repeated_request", **repeat},
                                       queues, "repeat")),
        distress=DistressRule(threshold=int(distress.get("threshold", 1)),
                              exclamations=int(distress.get("exclamations", 3)),
                              caps_min_letters=int(distress.get("caps_min_letters", 8)),
                              caps_ratio=float(distress.get("caps_ratio", 0.8)),
                              urgency=tuple(str(w) for w in distress.get("urgency") or ()),
                              leaving=tuple(str(w) for w in distress.get("leaving") or ())),
        compensation_limit=cfg("MAJLIS_COMPENSATION_AUTO_LIMIT", cast=float,
                               default=float((data.get("compensation") or {}).get("auto_limit", 0))),
        priority_levels={str(k): int(v) for k, v in (priority.get("levels") or
                                                     {"low": 1, "normal": 2, "high": 3, "urgent": 4}).items()},
        returning_days=int(priority.get("returning_days", 7)),
        hours=hours,
        minutes_per_position=float((data.get("wait") or {}).get("minutes_per_position", 4)),
        update_interval=cfg("MAJLIS_HANDOFF_UPDATE_SECONDS", cast=float,
                            default=float((data.get("updates") or {}).get("interval_seconds", 0))),
        ask_rating=bool((data.get("after_close") or {}).get("ask_rating", False)),
        ask_bot_rating=bool((data.get("after_bot_only") or {}).get("ask_rating", False)),
        messages={key: _bilingual(messages.get(key), f"messages.{key}") for key in MESSAGE_KEYS},
        resolutions=tuple(str(r) for r in data.get("resolutions") or ("resolved",)),
        canned=tuple(CannedReply(id=str(_require(item, "id", "canned_replies")),
                                 text=_bilingual(item, f"canned_replies.{item.get('id')}"))
                     for item in data.get("canned_replies") or ()),
        webhooks=_webhooks(data.get("webhooks") or [], cfg),
        intent_labels=_labels(data, "intent_labels"),
        form_labels=_labels(data, "form_labels"),
        action_labels=_labels(data, "action_labels"),
        limits=_limits(data.get("limits") or {}),
        assignment=_assignment(data.get("assignment") or {}, cfg),
    )


def _assignment(data: Mapping[str, Any], cfg: Config) -> AssignmentSettings:
    try:
        settings = AssignmentSettings(
            auto_assign=bool(data.get("auto_assign", True)),
            offer_timeout=cfg("MAJLIS_OFFER_TIMEOUT_SECONDS", cast=float,
                              default=float(data.get("offer_timeout_seconds", 60))),
            default_capacity=int(data.get("default_capacity", 3)),
            escalate_minutes=cfg("MAJLIS_WINDOW_ESCALATE_MINUTES", cast=float,
                                 default=float(data.get("window_escalate_minutes", 60))),
            check_seconds=float(data.get("window_check_seconds", 30)))
    except (TypeError, ValueError):
        raise ConfigError("handoff.yml assignment", "timeouts, minutes and capacity are numbers") from None
    if settings.offer_timeout <= 0 or settings.default_capacity < 0 or settings.check_seconds <= 0:
        raise ConfigError("handoff.yml assignment", "offer_timeout_seconds and window_check_seconds must be "
                                                   "above 0, default_capacity 0 or more")
    return settings


def _labels(data: Mapping[str, Any], section: str) -> Dict[str, Bilingual]:
    return {str(k): _bilingual(v, f"{section}.{k}") for k, v in (data.get(section) or {}).items()}


def _limits(data: Mapping[str, Any]) -> HandoffLimits:
    try:
        return HandoffLimits(per_customer=int(data.get("per_customer_per_hour", 3)),
                             per_channel={str(k): int(v) for k, v in (data.get("per_channel_per_hour") or {}).items()})
    except (TypeError, ValueError, AttributeError):
        raise ConfigError("handoff.yml limits", "per_customer_per_hour is a number, per_channel_per_hour a "
                                                "mapping of channel to number") from None


def load_settings(cfg: Config = config, path: Optional[str] = None) -> HandoffSettings:
    """Read and validate the handoff YAML (``MAJLIS_HANDOFF_CONFIG`` or ./handoff.yml)."""
    source = Path(path or cfg("MAJLIS_HANDOFF_CONFIG", default=str(ROOT / "handoff.yml")))
    try:
        data: Dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError("MAJLIS_HANDOFF_CONFIG", f"cannot read {source}: {exc.strerror}") from None
    return parse_settings(data, cfg)
