"""Workbench fixtures: a copy of the project's data to label, a tracker store with customer messages."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest
from sqlalchemy.engine import Engine

from bot.handoff.config import ROOT
from tests.bot.workbench.trackers import action, bot, pause, tracker_engine, user, write
from tests.bot.storage.backends import empty

GULF = "الباقة خلصت قبل وقتها"
GULF_AGAIN = "الباقه خلصت قبل وقتها!!"
ARABIZI = "el bakeh 5elsat"
ARABIZI_AGAIN = "el baqa 5elsat"
UNDERSTOOD = "كم فاتورتي"


def project_copy(target: Path) -> Path:
    """config, domain and data/ as shipped, in ``target`` (labelling writes there, not into the repo)."""
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "data", target / "data")
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return project_copy(tmp_path / "project")


def conversations(now: float) -> List[Dict[str, Any]]:
    """Gulf and Arabizi customers the model did not understand, their rephrasings, and one it did."""
    return [
        user("whatsapp_cloud:971500000001", GULF, now, [("nlu_fallback", 0.5), ("buy_data_bundle", 0.27), ("inform", 0.18)],
             dialect="gulf", name="Mariam Ali"),
        action("whatsapp_cloud:971500000001", "utter_default", now + 1),
        bot("whatsapp_cloud:971500000001", "آسف، ما فهمت عليك زين", now + 1),
        user("whatsapp_cloud:971500000001", "باقتي خلصت، رقمي 0501234567 واسمي مريم", now + 20,
             [("nlu_fallback", 0.5), ("buy_data_bundle", 0.31)], name="Mariam Ali"),
        user("whatsapp_cloud:971500000002", GULF_AGAIN, now + 30, [("nlu_fallback", 0.5), ("buy_data_bundle", 0.27)]),
        pause("whatsapp_cloud:971500000002", now + 31),
        user("instagram:42", ARABIZI, now + 40, [("report_network_outage", 0.58), ("out_of_scope", 0.13)],
             form="arabizi", channel="instagram"),
        user("instagram:42", "ma sa3adni", now + 45, [("deny", 0.9)], form="arabizi", channel="instagram"),
        user("whatsapp_cloud:971500000003", ARABIZI_AGAIN, now + 50, [("report_network_outage", 0.55), ("inform", 0.5)],
             form="arabizi"),
        user("whatsapp_cloud:971500000004", UNDERSTOOD, now + 60, [("check_bill", 0.99), ("dispute_charge", 0.01)]),
        user("webchat:abc", "my bill is wrong, email me at sara@example.com", now + 70,
             [("dispute_charge", 0.55), ("check_bill", 0.44)], form="english", code="en", channel="webchat"),
    ]


@pytest.fixture
def trackers(tmp_path: Path) -> Engine:
    engine = tracker_engine(f"sqlite:///{tmp_path / 'tracker.sqlite'}")
    write(engine, conversations(time.time() - 3600))
    yield engine
    engine.dispose()


@pytest.fixture(params=("sqlite", "postgresql"))
def majlis_db(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """Majlis' database with the workbench tables, empty: SQLite, then PostgreSQL (127.0.0.1)."""
    from bot.storage import create_engine, migrate

    url = f"sqlite:///{tmp_path / 'majlis.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = create_engine(url)
    empty(engine)  # tables and the migrations' record: migrate builds them again
    migrate(engine)
    yield engine
    engine.dispose()


def stand_in_agent(agent: Any, tracker: Engine) -> None:
    """Give the desk tests' stand-in agent a tracker store (Rasa's SQL store exposes ``engine``)."""
    agent.tracker_store = SimpleNamespace(engine=tracker)
