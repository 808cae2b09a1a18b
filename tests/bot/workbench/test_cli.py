"""``./majlis nlu inbox --export`` and ``./majlis nlu coverage``."""
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
