"""Shared helpers of the benchmarks: the machine line, models, tables and plots.

Every benchmark states the machine it ran on (cores, CPU model, RAM, load, date, git
commit), so a reader can tell a slow machine from a slow assistant.  Heavy work runs
at ``nice 10`` (the machines these run on are shared).
"""
from __future__ import annotations

import hashlib
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
TMP = RESULTS / "tmp"  # git-ignored: baseline models, server logs, scratch data
# Banking77 (CC BY 4.0) and ArBanking77 (CC BY-SA 4.0), kept in the repository with their
# licences: bench/data/SOURCES.md.
DATA = BENCH / "data"
DEFAULT_CONFIG = BENCH / "config.rasa-default.yml"
TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]
NICE = 10

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def dataset(*parts: str) -> Path:
    """A file of bench/data, or exit with what is missing and how to get it back (never a traceback)."""
    path = DATA.joinpath(*parts)
    if not path.is_file():
        sys.exit(f"[bench] missing dataset file {path.relative_to(ROOT)}: it ships with the repository "
                 f"(see bench/data/SOURCES.md); restore it with `git checkout -- bench/data`.")
    return path


def be_nice() -> None:
    """Lower this process' priority to ``nice 10`` (children inherit it)."""
    current = os.nice(0)
    if current < NICE:
        os.nice(NICE - current)


def rasa_bin() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def base_env(**extra: str) -> Dict[str, str]:
    """The environment ``./majlis`` exports (scripts/lib.sh), plus ``extra``."""
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
    })
    env.update(extra)
    return env


# -- the machine -------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        untracked = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.strip()
        suffix = " (+ local changes)" if dirty or untracked else ""
        return commit + suffix
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_line() -> str:
    """One markdown line: what this ran on, and how busy the machine was."""
    load = os.getloadavg()
    import rasa

    return (f"Machine: {os.cpu_count()} cores ({_cpu_model()}), {_ram_gib():.1f} GiB RAM, "
            f"load average {load[0]:.2f} at start; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"git {git_commit()}; Python {platform.python_version()}, Rasa {rasa.__version__}; "
            f"benchmark processes at nice {os.nice(0)}.")


def load_line() -> str:
    load = os.getloadavg()
    return f"Load average at the end: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)."


# -- models ------------------------------------------------------------------


def majlis_model() -> Path:
    """Majlis' model for the current config, domain and data (``./majlis train``; trained if stale)."""
    from ensure_model import model_path

    path = model_path()
    if not path.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_model.py")], cwd=ROOT, env=base_env(),
                       check=True, stdout=subprocess.DEVNULL)
    return path


def _fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def default_model(allow_stale: bool = False) -> Path:
    """The same domain and data trained with Rasa's default config (cached in bench/results/tmp).

    Args:
        allow_stale: use the newest cached baseline even if domain.yml or data/ changed since
            (training it takes half an hour on 2 cores); the reports name the model used.
    """
    inputs = [DEFAULT_CONFIG, ROOT / "domain.yml", ROOT / "requirements.lock", *(ROOT / d for d in TRAINING_DATA)]
    name = f"rasa-default-{_fingerprint(inputs)}"
    out = TMP / "models"
    target = out / f"{name}.tar.gz"
    if target.exists():
        return target
    cached = sorted(out.glob("rasa-default-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if allow_stale and cached:
        print(f"[bench] using {cached[-1].name}: trained before the latest change to domain/data", file=sys.stderr)
        return cached[-1]
    out.mkdir(parents=True, exist_ok=True)
    print(f"[bench] training the Rasa-default baseline {name} (20-40 minutes on 2 cores)", file=sys.stderr)
    log = TMP / f"{name}.train.log"
    with open(log, "w") as handle:
        result = subprocess.run(
            [rasa_bin(), "train", "--config", str(DEFAULT_CONFIG), "--domain", "domain.yml", "--data", *TRAINING_DATA,
             "--out", str(out), "--fixed-model-name", name],
            cwd=ROOT, env=base_env(), stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"training the baseline failed; see {log}")
    for old in cached:
        old.unlink()
    return target


# -- numbers, tables, plots ----------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank-interpolated percentile (q in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def write_report(name: str, lines: Sequence[str]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print("\n".join(lines))
    return path


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fmt_ms(value: Optional[float]) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"
