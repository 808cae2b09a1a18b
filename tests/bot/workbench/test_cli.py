"""``./majlis nlu inbox --export``, ``coverage``, ``check`` and ``answers``."""
from __future__ import annotations

import json

from bot.workbench.cli import main


def test_inbox_export_prints_masked_groups(tmp_path, trackers, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MAJLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    monkeypatch.setenv("MAJLIS_TRACKER_DB", str(tmp_path / "tracker.sqlite"))
    assert main(["inbox", "--export"]) == 0
    groups = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert groups[0]["count"] == 4
    assert not any("0501234567" in g["text"] or "sara@example.com" in g["text"] for g in groups)
    assert main(["inbox", "--export", "--form", "english"]) == 0
    english = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [g["language"] for g in english] == ["en"]
    assert main(["inbox", "--reason", "nonsense"]) == 2


def test_coverage_marks_weak_cells(capsys) -> None:
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["intent", "en", "ar", "ar:gulf", "ar:egyptian", "ar:msa", "arabizi"]
    assert "buy_data_bundle" in out and "*" in out


def test_check_fails_on_an_answer_without_owner(project, monkeypatch, capsys) -> None:
    from tests.bot.workbench.test_checks import without_greet_owner

    monkeypatch.setenv("MAJLIS_WORKBENCH_ROOT", str(project))
    assert main(["check", "--answers-only"]) == 0
    assert "checks passed" in capsys.readouterr().out
    without_greet_owner(project)
    assert main(["check", "--answers-only"]) == 1
    out = capsys.readouterr().out
    assert "error: data/answers.yml: utter_greet (a response in domain.yml) has no owner and review date" in out


def test_answers_lists_review_dates(capsys) -> None:
    assert main(["answers", "--state", "all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    from bot.answers.book import domain_responses
    from bot.handoff.config import ROOT

    assert len(lines) == len(domain_responses(ROOT)) and any("utter_roaming_offer" in line and "offers@majlis.example" in line for line in lines)


def test_activate_writes_the_row_every_instance_follows(tmp_path, monkeypatch, capsys) -> None:
    from bot.storage import create_engine
    from bot.workbench.follow import latest_activation
    from bot.workbench.models import REPO

    monkeypatch.setenv("MAJLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    assert main(["activate", "majlis-000000000000.tar.gz"]) == 2
    assert "no model" in capsys.readouterr().err
    model = next((REPO / "models").glob("majlis-*.tar.gz"))
    assert main(["activate", model.name, "--author", "Tina"]) == 0
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    try:
        assert latest_activation(engine)[1] == model.name
    finally:
        engine.dispose()
