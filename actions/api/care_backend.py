"""The interface between the care actions and the operator's systems.

Actions only ever talk to a :class:`CareBackend`.  The demo implementation
(:mod:`actions.api.demo_backend`) reads a seed file and keeps recorded cases in
SQLite; an operator plugs in its own billing, order, network and CRM systems by
writing one module that implements this Protocol and naming it in
``MAJLIS_CARE_BACKEND=package.module:ClassName``.

Every method is a coroutine: a real backend calls HTTP services, and the action
server must not block while it waits.  Values cross the interface as the frozen
dataclasses below, never as raw dicts, and "not found" is ``None`` (or an empty
list), not an exception.  Exceptions are for a backend that cannot answer.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Dict, List, Optional, Protocol, Tuple, runtime_checkable

from bot.config import Config, config

DEFAULT_BACKEND = "actions.api.demo_backend:DemoCareBackend"
"""Used when ``MAJLIS_CARE_BACKEND`` is not set."""

ORDER_STATUSES = ("shipped", "out_for_delivery", "delivered", "delayed")
CODE_OUTCOMES = ("verified", "wrong", "expired", "locked")
CASE_KINDS = ("complaint", "dispute", "compensation", "network", "handoff")


class BackendError(Exception):
    """The backend could not answer (service down, bad data); not "nothing found"."""


class BackendConfigError(BackendError):
    """``MAJLIS_CARE_BACKEND`` does not name a usable class."""

    def __init__(self, spec: str, reason: str) -> None:
        super().__init__(f"MAJLIS_CARE_BACKEND={spec!r}: {reason}")
        self.spec = spec
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Bill:
    """One monthly bill. ``period`` is the first day of the billed month."""

    period: date
    amount: Decimal
    due_date: date
    paid: bool
    currency: str = "AED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """A device order. ``eta`` is set unless delivered; ``delivered_on`` only when delivered."""

    order_number: str
    status: str
    item_en: str
    item_ar: str
    eta: Optional[date] = None
    delivered_on: Optional[date] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Area:
    """A place customers name: a city or emirate, or a travel destination."""

    name: str
    name_ar: str
    country: str
    aliases: Tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Outage:
    """A known network outage and when it should be fixed."""

    area: str
    service_en: str
    service_ar: str
    expected_fix: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Store:
    """A shop where customers can buy, pay, or swap a SIM."""

    area: str
    name_en: str
    name_ar: str
    address_en: str
    address_ar: str
    hours_en: str
    hours_ar: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    """A data add-on from the catalogue. ``code`` is the canonical size: ``10GB``, ``unlimited``."""

    code: str
    name_en: str
    name_ar: str
    price: Decimal
    validity_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Purchase:
    """A bundle added to a line."""

    reference: str
    bundle: Bundle


@dataclass(frozen=True, slots=True, kw_only=True)
class RoamingOffer:
    """The roaming pass that applies in a destination."""

    destination: Area
    data_en: str
    data_ar: str
    price: Decimal
    validity_days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """A recorded care case (complaint, dispute, compensation, network report, handoff)."""

    case_id: str
    customer_id: Optional[str]
    kind: str
    details: str
    amount: Optional[Decimal]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeCheck:
    """The answer to a one-time code.

    ``outcome`` is ``verified`` (then ``customer_id`` is set), ``wrong`` (try again),
    ``expired`` (no valid code for this line: send a new one) or ``locked`` (too many
    wrong tries: the code is void, send a new one).
    """

    outcome: str
    customer_id: Optional[str] = None


@runtime_checkable
class CareBackend(Protocol):
    """What the care actions need from the operator's systems."""

    async def get_bill(self, customer_id: str) -> Optional[Bill]:
        """The customer's latest bill, or ``None`` if there is none yet."""

    async def find_order(self, customer_id: str, order_number: str) -> Optional[Order]:
        """The customer's order with this 7-digit number, or ``None`` (also when it is another customer's)."""

    async def find_area(self, text: str) -> Optional[Area]:
        """The known place ``text`` names (canonical name or any alias), or ``None``."""

    async def outages_in(self, area: str) -> List[Outage]:
        """Known outages in a canonical area (empty if none)."""

    async def stores_in(self, area: str) -> List[Store]:
        """Stores in a canonical area (empty if none)."""

    async def store_areas(self) -> List[Area]:
        """The areas that have at least one store."""

    async def bundles(self) -> List[Bundle]:
        """The data bundle catalogue, cheapest first."""

    async def buy_bundle(self, customer_id: str, size: str) -> Purchase:
        """Add the bundle with code ``size`` to the customer's line.

        Raises:
            BackendError: the size is not in the catalogue or the purchase failed.
        """

    async def roaming_offer(self, destination: str) -> Optional[RoamingOffer]:
        """The roaming pass for a canonical destination, or ``None``."""

    async def is_home_area(self, area: str) -> bool:
        """True if ``area`` is on the home network (no roaming needed there)."""

    async def record_case(self, customer_id: Optional[str], kind: str, details: str,
                          amount: Optional[Decimal]) -> str:
        """Record a care case and return its id (e.g. ``MJ-000042``); ``customer_id`` is
        ``None`` for a contact not verified as a customer (a network report, a handoff)."""

    async def get_case(self, case_id: str) -> Optional[Case]:
        """A recorded case by id, or ``None``."""

    # -- identity (docs/security.md#identities) --------------------------------------

    async def customer_for_line(self, line: str) -> Optional[str]:
        """The customer whose mobile line this is (international digits, ``971501234567``), or ``None``.

        Called for numbers a provider's signature proves (WhatsApp ``wa_id``, Twilio
        ``From``) and after a one-time code sent to the line was typed back.
        """

    async def linked_customer(self, channel: str, provider_id: str) -> Optional[str]:
        """The customer an account on a social channel is linked to (Instagram IGSID), or ``None``."""

    async def send_verification_code(self, line: str) -> bool:
        """Send a one-time code to ``line`` (SMS); False when too many were sent recently.

        Says nothing about whether the line is a customer's: a line that is none gets
        no code, and the caller answers the same either way.
        """

    async def check_verification_code(self, line: str, code: str) -> CodeCheck:
        """Check a code typed back; a verified code is used up."""


def _import_backend_class(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise BackendConfigError(spec, "expected 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendConfigError(spec, f"cannot import {module_name}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise BackendConfigError(spec, f"{module_name} has no class {class_name}")
    return cls


def create_backend(cfg: Config = config) -> CareBackend:
    """Build the backend named by ``MAJLIS_CARE_BACKEND`` (default: the demo backend).

    The class is built with ``from_config(cfg)`` if it has that classmethod, else
    with no arguments.

    Raises:
        BackendConfigError: the setting names no importable class, or the class does
            not implement :class:`CareBackend`.
    """
    spec = cfg("MAJLIS_CARE_BACKEND", default=DEFAULT_BACKEND)
    cls = _import_backend_class(spec)
    factory = getattr(cls, "from_config", None)
    backend = factory(cfg) if callable(factory) else cls()
    if not isinstance(backend, CareBackend):
        raise BackendConfigError(spec, f"{cls.__name__} does not implement CareBackend")
    return backend


_cache: Dict[Tuple[str, ...], CareBackend] = {}
_cache_lock = threading.Lock()


def get_backend(cfg: Config = config) -> CareBackend:
    """The process's backend for the current settings, built once per distinct setting.

    The settings are read on every call, so a test that points ``MAJLIS_DATA_DIR``
    somewhere else gets a fresh backend rather than the previous test's.
    """
    key = tuple(
        str(cfg(name, default=""))
        for name in ("MAJLIS_CARE_BACKEND", "MAJLIS_DATA_DIR", "MAJLIS_DEMO_SEED")
    )
    with _cache_lock:
        backend = _cache.get(key)
        if backend is None:
            backend = create_backend(cfg)
            _cache[key] = backend
        return backend
