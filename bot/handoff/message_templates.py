"""Approved WhatsApp message templates an agent may send after the 24-hour window.

After the window WhatsApp delivers only templates Meta approved beforehand.  The
operator lists them in ``whatsapp_templates.yml`` (``MAJLIS_WHATSAPP_TEMPLATES`` names
another file): name and language exactly as approved, the body as approved (the desk
shows it filled in), and for each parameter which value of the handoff's context packet
fills it (a dotted path into the JSON the desk and webhooks get: ``slots.order_number``,
``customer.display_name``, ``summary.facts.order_number``, ``agent``)::

    templates:
      - name: order_update
        language: ar
        label: {en: Order update, ar: تحديث الطلب}
        body: "مرحباً {{1}}، بخصوص طلبك رقم {{2}}: تواصل معنا بالرد على هذه الرسالة."
        parameters:
          - {from: customer.display_name, label: {en: name, ar: الاسم}}
          - {from: slots.order_number, label: {en: order number, ar: رقم الطلب}}

Parameters are body parameters, ``{{1}}`` … ``{{n}}`` in order.  The agent sees them
filled from the context and may change them before sending.  Pure: no I/O but reading
the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.config import Config, ConfigError, config

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = ROOT / "whatsapp_templates.yml"
#: Meta's limits for a body text parameter: no newline or tab, at most 4 spaces in a row.
_BAD_PARAMETER = re.compile(r"[\n\r\t]| {5,}")
MAX_PARAMETER_CHARS = 1024


class TemplateError(ValueError):
    """A template or its values cannot be sent (the desk answers 400 with ``str(exc)``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateParameter:
    """One body parameter: where its value comes from and what the agent reads beside it."""

    source: str
    label: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageTemplate:
    """One approved template (name + language identify it at Meta)."""

    name: str
    language: str
    label: Mapping[str, str]
    body: str
    parameters: Tuple[TemplateParameter, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}:{self.language}"

    def values_from(self, context: Mapping[str, Any]) -> List[str]:
        """Each parameter's value from the context packet ("" where the context has none)."""
        return [_lookup(context, parameter.source) for parameter in self.parameters]

    def check(self, values: Sequence[Any]) -> List[str]:
        """The values an agent sends, validated.

        Raises:
            TemplateError: wrong count, an empty value, or one WhatsApp refuses.
        """
        if not isinstance(values, (list, tuple)) or len(values) != len(self.parameters):
            raise TemplateError(f"template {self.name} needs {len(self.parameters)} value(s)")
        checked = []
        for number, value in enumerate(values, start=1):
            text = str(value).strip() if isinstance(value, (str, int, float)) else ""
            if not text:
                raise TemplateError(f"value {{{{{number}}}}} of template {self.name} is empty")
            if len(text) > MAX_PARAMETER_CHARS or _BAD_PARAMETER.search(text):
                raise TemplateError(f"value {{{{{number}}}}} may not contain line breaks, tabs or more than "
                                    f"4 spaces in a row, nor exceed {MAX_PARAMETER_CHARS} characters")
            checked.append(text)
        return checked

    def text(self, values: Sequence[str]) -> str:
        """The body as the customer reads it (the transcript line)."""
        out = self.body
        for number, value in enumerate(values, start=1):
            out = out.replace(f"{{{{{number}}}}}", value)
        return out

    def message(self, values: Sequence[str]) -> Dict[str, Any]:
        """The WhatsApp ``template`` message object (Cloud API, "Template messages")."""
        template: Dict[str, Any] = {"name": self.name, "language": {"code": self.language}}
        if values:
            template["components"] = [{"type": "body",
                                       "parameters": [{"type": "text", "text": value} for value in values]}]
        return {"type": "template", "template": template}


def _lookup(data: Any, path: str) -> str:
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        else:
            return ""
    return "" if data is None or isinstance(data, (Mapping, list)) else str(data)


def _label(raw: Any, fallback: str) -> Dict[str, str]:
    if isinstance(raw, str):
        return {"en": raw, "ar": raw}
    if isinstance(raw, Mapping):
        return {"en": str(raw.get("en") or fallback), "ar": str(raw.get("ar") or raw.get("en") or fallback)}
    return {"en": fallback, "ar": fallback}


def parse_templates(data: Any) -> Dict[str, MessageTemplate]:
    """Templates by key (``name:language``) from the YAML document.

    Raises:
        ConfigError: malformed entries (named by position, so the operator finds them).
    """
    entries = (data or {}).get("templates") if isinstance(data, Mapping) else None
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ConfigError("whatsapp_templates.yml", "templates must be a list")
    found: Dict[str, MessageTemplate] = {}
    for index, entry in enumerate(entries):
        where = f"whatsapp_templates.yml templates[{index}]"
        if not isinstance(entry, Mapping) or not entry.get("name") or not entry.get("language"):
            raise ConfigError(where, "needs a name and a language")
        raw_parameters = entry.get("parameters") or []
        if not isinstance(raw_parameters, list) or not all(
                isinstance(p, Mapping) and isinstance(p.get("from"), str) for p in raw_parameters):
            raise ConfigError(where, "each parameter needs a 'from' (a context path)")
        body = str(entry.get("body") or "")
        parameters = tuple(TemplateParameter(source=str(p["from"]), label=_label(p.get("label"), str(p["from"])))
                           for p in raw_parameters)
        missing = [n for n in range(1, len(parameters) + 1) if f"{{{{{n}}}}}" not in body]
        if missing:
            raise ConfigError(where, f"body lacks placeholder(s) {missing} for its parameters")
        template = MessageTemplate(name=str(entry["name"]), language=str(entry["language"]),
                                   label=_label(entry.get("label"), str(entry["name"])), body=body,
                                   parameters=parameters)
        found[template.key] = template
    return found


def load_templates(cfg: Config = config, path: Optional[Path] = None) -> Dict[str, MessageTemplate]:
    """The configured templates (none when the file does not exist)."""
    path = path or Path(cfg("MAJLIS_WHATSAPP_TEMPLATES", default=str(DEFAULT_FILE)))
    if not path.is_file():
        return {}
    return parse_templates(yaml.safe_load(path.read_text(encoding="utf-8")))
