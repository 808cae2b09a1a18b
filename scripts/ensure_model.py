"""Train the model if it is missing or stale; print its path.

A model is named after a fingerprint of everything that shapes it (config,
domain, training data, our NLU components, pinned packages), so "stale" is a
file-name check and a fresh clone trains exactly once.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]
FINGERPRINTED = ["config.yml", "domain.yml", "requirements.lock", *TRAINING_DATA, "bot/nlu", "bot/language"]


#: What a trainer edits: read from ``data_root`` (the trainer's workbench trains from a copy in tests).
PROJECT_DATA = {"config.yml", "domain.yml", *TRAINING_DATA}


def fingerprint(data_root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for entry in FINGERPRINTED:
        root = data_root if entry in PROJECT_DATA else ROOT
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            if file.suffix in {".pyc"}:
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def model_path() -> Path:
    return MODELS / f"majlis-{fingerprint()}.tar.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if the model is up to date")
    args = parser.parse_args()
    MODELS.mkdir(exist_ok=True)
    # Two test sessions (or a test run and `./majlis start`) must not train the same model twice
    # at once: the second waits for the first and then finds the model up to date.
    with open(MODELS / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _train_if_stale(args.force)


def _train_if_stale(force: bool) -> int:
    target = model_path()
    if target.exists() and not force:
        print(f"[majlis] model up to date: {target.relative_to(ROOT)}", file=sys.stderr)
        print(target)
        return 0
    print(f"[majlis] training {target.name} (about 2-4 minutes on 2 cores)", file=sys.stderr)
    rasa = str(Path(sys.executable).with_name("rasa"))
    command = [rasa, "train", "--config", "config.yml", "--domain", "domain.yml", "--data", *TRAINING_DATA,
               "--out", str(MODELS), "--fixed-model-name", target.name[: -len(".tar.gz")]]
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode != 0 or not target.exists():
        print("[majlis] training failed", file=sys.stderr)
        return result.returncode or 1
    for old in MODELS.glob("majlis-*.tar.gz"):
        if old != target:
            old.unlink()
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
