"""Do both models of the load benchmarks pass the same end-to-end test stories?

The CPU target compares Majlis with the default-config bot "with the same end-to-end
test stories passing": this runs ``rasa test core`` on tests/test_stories.yml (English,
Gulf Arabic and Arabizi conversations) against each model, with this repo's action
server, and counts the stories that pass.  Majlis answers through bot.nlg.BilingualNLG
(as shipped); the baseline through Rasa's own response templates (as plain Rasa does).

Usage::

    python bench/stories.py [--allow-stale-baseline]    → bench/results/stories.md
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, base_env, be_nice, default_model, load_line, machine_line, majlis_model, rasa_bin, table, write_report  # noqa: E402
from stack import free_port, wait_for_http  # noqa: E402

STORIES = ROOT / "tests" / "test_stories.yml"


def count_stories(path: Path) -> int:
    if not path.exists():
        return 0
    return len((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories") or [])


def run_stories(model: Path, endpoints: Dict[str, object], out: Path) -> Dict[str, int]:
    out.mkdir(parents=True)
    endpoints_file = out / "endpoints.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    subprocess.run([rasa_bin(), "test", "core", "--model", str(model), "--stories", str(STORIES),
                    "--endpoints", str(endpoints_file), "--out", str(out), "--successes"],
                   cwd=ROOT, env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=False)
    return {"passed": count_stories(out / "successful_test_stories.yml"),
            "failed": count_stories(out / "failed_test_stories.yml")}


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--allow-stale-baseline", action="store_true")
    args = parser.parse_args(argv)
    be_nice()
    models = {"majlis (config.yml)": majlis_model(), "rasa default config": default_model(args.allow_stale_baseline)}
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = base_env(MAJLIS_DATA_DIR=tmp)
        actions = subprocess.Popen([rasa_bin(), "run", "actions", "--actions", "actions", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health", actions, timeout=180)
            action = {"url": f"http://127.0.0.1:{port}/webhook"}
            results = {
                "majlis (config.yml)": run_stories(models["majlis (config.yml)"],
                                                   {"action_endpoint": action, "nlg": {"type": "bot.nlg.BilingualNLG"}},
                                                   Path(tmp) / "majlis"),
                "rasa default config": run_stories(models["rasa default config"], {"action_endpoint": action},
                                                   Path(tmp) / "default"),
            }
        finally:
            actions.terminate()
            actions.wait(timeout=30)
    total = count_stories(STORIES)
    rows = [[name, models[name].name, f"{r['passed']} / {total}", str(r["failed"])] for name, r in results.items()]
    lines = ["# End-to-end test stories, both models", "", machine_line(), "",
             f"`rasa test core` on {STORIES.relative_to(ROOT)} ({total} stories: English, Gulf Arabic, Arabizi), "
             "this repo's action server.", ""]
    lines += table(["pipeline", "model", "stories passed", "failed"], rows)
    lines += ["", load_line(), "", "Command: `python bench/stories.py`"]
    write_report("stories", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
