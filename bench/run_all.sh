#!/usr/bin/env bash
# Run every Majlis benchmark, one after the other (never two at once), at nice 10.
#
#   bench/run_all.sh           the reported protocols (about 1.5-2 hours on 2 busy cores)
#   bench/run_all.sh --quick   smoke runs of each (about 25 minutes, mostly model loading)
#
# Needs the set-up of `./majlis test` or `./majlis start` (the .venv and the Majlis model).
# The first run also trains the Rasa-default baseline model (20-40 minutes, cached in
# bench/results/tmp/models). Results: bench/results/<name>.md and .png; see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${MAJLIS_VENV:-.venv}/bin/python"
[[ -x "$PY" ]] || { echo "no $PY: run ./majlis test or ./majlis start once first" >&2; exit 1; }
"$PY" -c "import psutil" 2>/dev/null || "$PY" -m pip install --quiet -r bench/requirements.txt

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

status=0
for bench in turns ack growth nlu; do
  echo "=== bench/$bench.py $*" >&2
  nice -n 10 "$PY" "bench/$bench.py" "$@" || { echo "=== bench/$bench.py reported a problem (exit $?)" >&2; status=1; }
done
echo "=== bench/langid/run.py" >&2
nice -n 10 "$PY" bench/langid/run.py || status=1
if [[ "${1:-}" != "--quick" ]]; then
  echo "=== bench/stories.py" >&2
  nice -n 10 "$PY" bench/stories.py || status=1
fi
exit $status
