"""A clone of the repository alone installs, runs and passes its tests.

Nothing the project runs may read outside the repository: a user has only the clone.
This test scans every file the project ships for the ways a path escapes the tree
(a string literal starting with a parent-folder step, ``ROOT.parent``, ``parents[k]`` above
the root, parent-folder joins) and fails naming the file and line.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Copied third-party data: scanned by nothing (they are payloads, not code).
DATA_DIRS = ("tests/fixtures/", "bench/data/", "bench/results/")
THIS_FILE = "tests/test_self_contained.py"  # it names the escapes it looks for
SCANNED_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".ini", ".cfg", ".toml", ""}

_PARENTS = re.compile(r"parents\[(\d+)\]")
_ESCAPES = [
    re.compile(r"""["']\.\.[/\\][A-Za-z_]"""),  # "../<folder>": a folder beside the clone
    re.compile(r"ROOT\.parent\b"),
    re.compile(r"""/\s*["']\.\.["']"""),
    re.compile(r"\.parent\.parent\.parent"),
]


def shipped_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    files = []
    for name in listed:
        path = ROOT / name
        if name.startswith(DATA_DIRS) or name == THIS_FILE or not path.is_file() or path.suffix not in SCANNED_SUFFIXES:
            continue
        if path.suffix == "" and not path.read_bytes().startswith(b"#!"):
            continue
        files.append(path)
    return files


def escapes(path: Path) -> list[str]:
    """Lines of ``path`` whose paths lead outside the repository."""
    depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is ROOT itself
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if any(pattern.search(line) for pattern in _ESCAPES):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
        for match in _PARENTS.finditer(line):
            if int(match.group(1)) > depth:
                found.append(f"{path.relative_to(ROOT)}:{number}: parents[{match.group(1)}] leaves the repository")
    return found


def test_nothing_reads_outside_the_repository() -> None:
    files = shipped_files()
    assert len(files) > 100, "the scan found too few files to be looking at the project"
    problems = [problem for path in files for problem in escapes(path)]
    assert problems == [], "paths leading outside the repository:\n" + "\n".join(problems)


def test_the_scan_catches_each_way_out(tmp_path: Path) -> None:
    """The patterns above are not dead: each escape, written in a file in the tree, is found."""
    probe = ROOT / "tests" / "_escape_probe.py"
    up = "." + "."  # written in two halves so that this file itself names no parent folder
    samples = [f'A = Path("{up}/data/fixtures")', "C = ROOT.parent / 'x'",
               "D = Path(__file__).resolve().parents[2]", f'E = ROOT / "{up}" / "x"']
    try:
        probe.write_text("\n".join(samples) + "\n", encoding="utf-8")
        assert len(escapes(probe)) == len(samples)
    finally:
        probe.unlink()


def test_fixtures_and_datasets_name_their_sources() -> None:
    sources = (ROOT / "tests" / "fixtures" / "SOURCES.md").read_text(encoding="utf-8")
    for folder in ("whatsapp/", "twilio/", "instagram/", "signatures/"):
        assert folder in sources
    for licence in (ROOT / "tests" / "fixtures" / "LICENSES").iterdir():
        assert licence.name in sources, f"{licence.name} is not referenced from SOURCES.md"
    assert (ROOT / "bench" / "data" / "banking77" / "LICENSE").is_file()
    assert (ROOT / "bench" / "data" / "arbanking77" / "LICENSE").is_file()
    assert "CC BY-SA 4.0" in (ROOT / "bench" / "data" / "SOURCES.md").read_text(encoding="utf-8")
