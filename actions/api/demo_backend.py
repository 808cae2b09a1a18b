"""A self-contained :class:`~actions.api.care_backend.CareBackend` for demos and tests.

Reads bills, orders, places, outages, stores, bundles and roaming passes from a
seed file (``data/demo_backend.json``, or ``MAJLIS_DEMO_SEED``) and writes the
cases and bundle purchases it records to SQLite in ``MAJLIS_DATA_DIR``
(``care_demo.sqlite``).  Dates in the seed are relative to today, so a demo
bill is always due soon and a shipped order always arrives in two days.

Identity (docs/security.md#identities): a mobile line the seed lists belongs to
that customer; any other line belongs to the ``default_customer`` account, so every
WhatsApp number that tries the demo sees a bill (a real backend returns ``None``
for a line that is not its customer's).  Instagram accounts are linked through the
seed's ``linked_accounts``.  One-time codes: :mod:`actions.api.demo_verification`
(the SMS it would send is recorded in the same SQLite file).  Orders belong to the
customer named in their ``customer`` field (default: ``default_customer``).
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional

from actions.api.care_backend import (
    Area,
    CodeCheck,
    Bill,
    BackendError,
    Bundle,
    Case,
    Order,
    Outage,
    Purchase,
    RoamingOffer,
    Store,
)
from actions.api.geo import Centre, nearest_area
from actions.api.demo_verification import SCHEMA as VERIFICATION_SCHEMA, DemoVerification
from actions.parsing import find_alias, place_aliases
from bot.config import Config, config, data_dir

logger = logging.getLogger(__name__)

DEFAULT_SEED = Path(__file__).resolve().parents[2] / "data" / "demo_backend.json"
DATABASE_NAME = "care_demo.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    details TEXT NOT NULL,
    amount TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purchases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    bundle TEXT NOT NULL,
    price TEXT NOT NULL,
    created_at TEXT NOT NULL
);
""" + VERIFICATION_SCHEMA


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, 1)


def _due_on_or_after(today: date, due_day: int) -> date:
    """The next date with day-of-month ``due_day`` (clamped to 28), today included."""
    day = min(max(due_day, 1), 28)
    this_month = today.replace(day=day)
    return this_month if this_month >= today else _add_months(today, 1).replace(day=day)


class DemoCareBackend:
    """The demo backend: seed file in, SQLite out.

    Args:
        seed: the parsed seed document (see ``data/demo_backend.json``).
        database: path of the SQLite file for cases and purchases.
        now: clock, injectable for tests; returns an aware UTC datetime.
    """

    def __init__(self, seed: Mapping[str, Any], database: Path, now: Callable[[], datetime] = _utc_now) -> None:
        self._seed = seed
        self._database = database
        self._now = now
        self._areas = [
            Area(name=a["name"], name_ar=a["name_ar"], country=a["country"], aliases=tuple(a.get("aliases", ())))
            for a in seed.get("areas", [])
        ]
        self._aliases = place_aliases((area.name, area.aliases) for area in self._areas)
        self._centres = [Centre.from_seed(a["name"], a["centre"]) for a in seed.get("areas", []) if a.get("centre")]
        self._bundles = sorted(
            (
                Bundle(code=b["code"], name_en=b["name_en"], name_ar=b["name_ar"], price=Decimal(b["price"]),
                       validity_days=int(b["validity_days"]))
                for b in seed.get("bundles", [])
            ),
            key=lambda bundle: (bundle.price, bundle.code),
        )
        self._schema_ready = False
        self.verification = DemoVerification(self._connect, now)

    @property
    def database(self) -> Path:
        return self._database

    @classmethod
    def from_config(cls, cfg: Config = config) -> "DemoCareBackend":
        """Build from ``MAJLIS_DEMO_SEED`` (optional) and ``MAJLIS_DATA_DIR``."""
        seed_path = Path(cfg("MAJLIS_DEMO_SEED", default=str(DEFAULT_SEED)))
        try:
            seed = json.loads(seed_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot read the demo seed {seed_path}: {exc}") from exc
        return cls(seed, Path(data_dir(cfg)) / DATABASE_NAME)

    # -- reading the seed ---------------------------------------------------------

    def _today(self) -> date:
        return self._now().date()

    def _default_customer(self) -> str:
        return str(self._seed.get("default_customer", "demo"))

    def _account(self, customer_id: str) -> Mapping[str, Any]:
        return self._seed.get("customers", {}).get(customer_id) or {}

    # -- identity ---------------------------------------------------------------------

    async def customer_for_line(self, line: str) -> Optional[str]:
        if not line.isdigit():
            return None
        return line if line in self._seed.get("customers", {}) else self._default_customer()

    async def linked_customer(self, channel: str, provider_id: str) -> Optional[str]:
        linked = self._seed.get("linked_accounts", {}).get(channel, {})
        return linked.get(provider_id) if isinstance(linked, Mapping) else None

    async def send_verification_code(self, line: str) -> bool:
        if await self.customer_for_line(line) is None:
            return True  # nothing sent, and the caller cannot tell: no probing for customers
        return await self.verification.send(line)

    async def check_verification_code(self, line: str, code: str) -> CodeCheck:
        return await self.verification.check(line, code, await self.customer_for_line(line))

    async def get_bill(self, customer_id: str) -> Optional[Bill]:
        bills = self._account(customer_id).get("bills", [])
        if not bills:
            return None
        latest = min(bills, key=lambda bill: int(bill.get("months_ago", 0)))
        due = _due_on_or_after(self._today(), int(latest.get("due_day", 15)))
        months_ago = int(latest.get("months_ago", 0))
        if months_ago:
            due = _add_months(due, -months_ago).replace(day=due.day)
        return Bill(
            period=_add_months(due, -1),
            amount=Decimal(latest["amount"]),
            due_date=due,
            paid=bool(latest.get("paid", False)),
        )

    async def find_order(self, customer_id: str, order_number: str) -> Optional[Order]:
        today = self._today()
        for entry in self._seed.get("orders", []):
            if entry["order_number"] != order_number or entry.get("customer", self._default_customer()) != customer_id:
                continue
            eta = today + timedelta(days=int(entry["eta_in_days"])) if "eta_in_days" in entry else None
            delivered = (
                today - timedelta(days=int(entry["delivered_days_ago"])) if "delivered_days_ago" in entry else None
            )
            return Order(order_number=order_number, status=entry["status"], item_en=entry["item_en"],
                         item_ar=entry["item_ar"], eta=eta, delivered_on=delivered)
        return None

    async def find_area(self, text: str) -> Optional[Area]:
        canonical = find_alias(text, self._aliases)
        return self._area(canonical) if canonical else None

    async def area_at(self, latitude: float, longitude: float) -> Optional[Area]:
        """The area a location pin lies in (nearest seeded centre within its radius), or ``None``."""
        name = nearest_area(latitude, longitude, self._centres)
        return self._area(name) if name else None

    def _area(self, name: str) -> Optional[Area]:
        return next((area for area in self._areas if area.name == name), None)

    async def outages_in(self, area: str) -> List[Outage]:
        now = self._now()
        return [
            Outage(area=entry["area"], service_en=entry["service_en"], service_ar=entry["service_ar"],
                   expected_fix=now + timedelta(hours=int(entry["eta_hours"])))
            for entry in self._seed.get("outages", [])
            if entry["area"] == area
        ]

    async def stores_in(self, area: str) -> List[Store]:
        return [Store(**entry) for entry in self._seed.get("stores", []) if entry["area"] == area]

    async def store_areas(self) -> List[Area]:
        names = {entry["area"] for entry in self._seed.get("stores", [])}
        return [area for area in self._areas if area.name in names]

    async def bundles(self) -> List[Bundle]:
        return list(self._bundles)

    async def roaming_offer(self, destination: str) -> Optional[RoamingOffer]:
        area = self._area(destination)
        if area is None:
            return None
        for zone in self._seed.get("roaming", []):
            if area.country in zone.get("countries", []):
                return RoamingOffer(destination=area, data_en=zone["data_en"], data_ar=zone["data_ar"],
                                    price=Decimal(zone["price"]), validity_days=int(zone["validity_days"]))
        return None

    async def is_home_area(self, area: str) -> bool:
        found = self._area(area)
        return found is not None and found.country == self._seed.get("home_country", "AE")

    # -- writing to SQLite ----------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._database)
        if not self._schema_ready:
            connection.executescript(_SCHEMA)
            self._schema_ready = True
        return connection

    def _insert(self, sql: str, values: tuple) -> int:
        connection = self._connect()
        try:
            with connection:
                cursor = connection.execute(sql, values)
            return int(cursor.lastrowid)
        finally:
            connection.close()

    async def buy_bundle(self, customer_id: str, size: str) -> Purchase:
        bundle = next((b for b in self._bundles if b.code == size), None)
        if bundle is None:
            raise BackendError(f"no bundle {size!r} in the catalogue")
        row = await asyncio.to_thread(
            self._insert,
            "INSERT INTO purchases (customer_id, bundle, price, created_at) VALUES (?, ?, ?, ?)",
            (customer_id, bundle.code, str(bundle.price), self._now().isoformat()),
        )
        logger.info("Bundle purchase recorded (bundle=%s, row=%d).", bundle.code, row)
        return Purchase(reference=f"BN-{row:06d}", bundle=bundle)

    async def record_case(self, customer_id: Optional[str], kind: str, details: str,
                          amount: Optional[Decimal]) -> str:
        # The column predates anonymous cases (NOT NULL): "" stands for "no verified customer".
        row = await asyncio.to_thread(
            self._insert,
            "INSERT INTO cases (customer_id, kind, details, amount, created_at) VALUES (?, ?, ?, ?, ?)",
            (customer_id or "", kind, details, None if amount is None else str(amount), self._now().isoformat()),
        )
        case_id = f"MJ-{row:06d}"
        logger.info("Case %s recorded (kind=%s).", case_id, kind)
        return case_id

    def _select_case(self, row_id: int) -> Optional[tuple]:
        connection = self._connect()
        try:
            return connection.execute(
                "SELECT id, customer_id, kind, details, amount, created_at FROM cases WHERE id = ?", (row_id,)
            ).fetchone()
        finally:
            connection.close()

    async def get_case(self, case_id: str) -> Optional[Case]:
        prefix, _, number = case_id.partition("-")
        if prefix != "MJ" or not number.isdigit():
            return None
        row = await asyncio.to_thread(self._select_case, int(number))
        if row is None:
            return None
        _, customer_id, kind, details, amount, created_at = row
        return Case(case_id=case_id, customer_id=customer_id or None, kind=kind, details=details,
                    amount=None if amount is None else Decimal(amount),
                    created_at=datetime.fromisoformat(created_at))
