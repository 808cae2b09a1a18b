"""The demo backend: seed data relative to today, cases and purchases in SQLite."""
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from actions.api.care_backend import BackendError
from actions.api.demo_backend import DATABASE_NAME, DEFAULT_SEED, DemoCareBackend

NOW = datetime(2025, 6, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def seed():
    return json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))


@pytest.fixture
def demo(seed, tmp_path):
    return DemoCareBackend(seed, tmp_path / DATABASE_NAME, now=lambda: NOW)


async def test_unknown_lines_belong_to_the_demo_account(demo):
    assert await demo.customer_for_line("971509999999") == "demo"
    assert await demo.customer_for_line("971500000001") == "971500000001"
    assert await demo.customer_for_line("not-a-line") is None
    assert await demo.get_bill("someone-new") is None  # a customer id, not a sender id: no fallback
    bill = await demo.get_bill("demo")
    assert bill is not None
    assert bill.amount == Decimal("318.50")
    assert bill.paid is False
    assert bill.currency == "AED"


async def test_the_latest_bill_is_due_on_the_next_due_day(demo):
    bill = await demo.get_bill("demo")
    # Due day 15; on 20 June the next one is 15 July, for June.
    assert bill.due_date == date(2025, 7, 15)
    assert bill.period == date(2025, 6, 1)


async def test_due_today_counts_as_due(seed, tmp_path):
    demo = DemoCareBackend(seed, tmp_path / DATABASE_NAME, now=lambda: datetime(2025, 6, 15, tzinfo=timezone.utc))
    assert (await demo.get_bill("demo")).due_date == date(2025, 6, 15)


async def test_the_year_rolls_over(seed, tmp_path):
    demo = DemoCareBackend(seed, tmp_path / DATABASE_NAME, now=lambda: datetime(2025, 12, 20, tzinfo=timezone.utc))
    bill = await demo.get_bill("demo")
    assert bill.due_date == date(2026, 1, 15)
    assert bill.period == date(2025, 12, 1)


async def test_known_customers_and_customers_without_bills(demo):
    assert (await demo.get_bill("971500000001")).paid is True
    assert await demo.get_bill("971500000002") is None


@pytest.mark.parametrize("number, status", [
    ("4821937", "shipped"), ("7301846", "out_for_delivery"), ("5512340", "delivered"), ("6624018", "delayed"),
])
async def test_orders_in_every_status(demo, number, status):
    order = await demo.find_order("demo", number)
    assert order.status == status
    assert order.item_en and order.item_ar
    if status == "delivered":
        assert order.delivered_on == NOW.date() - timedelta(days=3)
        assert order.eta is None
    else:
        assert order.eta >= NOW.date()


async def test_unknown_order(demo):
    assert await demo.find_order("demo", "1111111") is None


@pytest.mark.parametrize("text, name", [
    ("Dubai", "Dubai"), ("dxb", "Dubai"), ("دبي", "Dubai"), ("بالشارقة", "Sharjah"), ("RAK", "Ras Al Khaimah"),
    ("abu dhabi", "Abu Dhabi"), ("اسطنبول", "Istanbul"), ("Kuwait City", "Kuwait City"),
])
async def test_find_area_in_any_script(demo, text, name):
    assert (await demo.find_area(text)).name == name


async def test_every_area_has_an_arabic_name(demo, seed):
    for entry in seed["areas"]:
        area = await demo.find_area(entry["name"])
        assert area is not None and area.name == entry["name"]
        assert any("\u0621" <= ch <= "\u064a" for ch in area.name_ar)


async def test_outages_have_a_fix_time(demo):
    [outage] = await demo.outages_in("Sharjah")
    assert outage.expected_fix == NOW + timedelta(hours=3)
    assert await demo.outages_in("Dubai") == []


async def test_stores(demo):
    assert len(await demo.stores_in("Dubai")) == 2
    assert await demo.stores_in("Ajman") == []
    assert "Dubai" in [area.name for area in await demo.store_areas()]


async def test_bundles_cheapest_first(demo):
    prices = [bundle.price for bundle in await demo.bundles()]
    assert prices == sorted(prices)
    assert "unlimited" in [bundle.code for bundle in await demo.bundles()]


async def test_roaming(demo):
    offer = await demo.roaming_offer("London")
    assert offer.price == Decimal("99") and offer.destination.name_ar == "لندن"
    assert (await demo.roaming_offer("Riyadh")).data_en == "5GB"
    assert await demo.roaming_offer("Dubai") is None
    assert await demo.is_home_area("Dubai") is True
    assert await demo.is_home_area("London") is False


async def test_record_and_read_back_a_case(demo, tmp_path):
    first = await demo.record_case("971501234567", "compensation", "No internet for 3 days", Decimal("150"))
    second = await demo.record_case("971501234567", "handoff", "wants a person", None)
    assert first == "MJ-000001" and second == "MJ-000002"
    case = await demo.get_case(first)
    assert (case.kind, case.details, case.amount, case.customer_id) == (
        "compensation", "No internet for 3 days", Decimal("150"), "971501234567")
    assert (await demo.get_case(second)).amount is None
    assert await demo.get_case("MJ-999999") is None
    assert await demo.get_case("nonsense") is None
    rows = sqlite3.connect(tmp_path / DATABASE_NAME).execute("SELECT COUNT(*) FROM cases").fetchone()
    assert rows == (2,)


async def test_cases_survive_a_new_backend_instance(seed, tmp_path):
    case_id = await DemoCareBackend(seed, tmp_path / DATABASE_NAME).record_case("x", "complaint", "rude staff", None)
    assert (await DemoCareBackend(seed, tmp_path / DATABASE_NAME).get_case(case_id)).details == "rude staff"


async def test_buy_bundle(demo):
    purchase = await demo.buy_bundle("971501234567", "10GB")
    assert purchase.reference == "BN-000001"
    assert purchase.bundle.price == Decimal("40")
    with pytest.raises(BackendError):
        await demo.buy_bundle("971501234567", "7GB")


def test_from_config_reads_the_seed_and_data_dir(tmp_path):
    from bot.config import Config

    backend = DemoCareBackend.from_config(Config(environ={"MAJLIS_DATA_DIR": str(tmp_path / "var")}))
    assert isinstance(backend, DemoCareBackend)
    assert (tmp_path / "var").is_dir()


def test_a_missing_seed_is_a_backend_error(tmp_path):
    from bot.config import Config

    with pytest.raises(BackendError):
        DemoCareBackend.from_config(Config(environ={"MAJLIS_DATA_DIR": str(tmp_path),
                                                    "MAJLIS_DEMO_SEED": str(tmp_path / "missing.json")}))
