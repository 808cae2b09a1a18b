# Shared helpers for ./majlis (sourced, not run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MAJLIS_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

say() { printf '\033[1m[majlis]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[majlis] %s\033[0m\n' "$*" >&2; exit 1; }

# Rasa 3.6 runs on Python 3.8-3.10 only. Look on PATH, then in pyenv, then in the usual places.
find_python310() {
  local candidates=()
  [[ -n "${MAJLIS_PYTHON:-}" ]] && candidates+=("$MAJLIS_PYTHON")
  command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
  local pyenv_root="${PYENV_ROOT:-}"
  if [[ -z "$pyenv_root" ]] && command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  [[ -z "$pyenv_root" ]] && pyenv_root="$HOME/.pyenv"
  for p in "$pyenv_root"/versions/3.10.*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
    [[ -x "$p" ]] && candidates+=("$p")
  done
  local c
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local stamp="$VENV/.majlis-lock-sha"
  local want
  want="$(sha256sum "$ROOT/requirements.lock" | cut -d' ' -f1)"
  if [[ -x "$PY" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  if [[ ! -x "$PY" ]]; then
    local py310
    py310="$(find_python310)" || die "Python 3.10 is required (Rasa 3.6 does not run on 3.11+) and none was found.
  Install it, then run this command again, for example:
    with pyenv:        pyenv install 3.10.13
    on Debian/Ubuntu:  apt-get install python3.10 python3.10-venv   (deadsnakes PPA on older Ubuntu)
    on macOS:          brew install python@3.10
  Or point MAJLIS_PYTHON at a python3.10 binary."
    say "creating virtualenv at $VENV with $py310"
    "$py310" -m venv "$VENV"
  fi
  say "installing pinned dependencies (first time: about 3 minutes, 2.7 GB)"
  "$PY" -m pip install --quiet --upgrade "pip==24.0"
  "$PY" -m pip install --quiet -r "$ROOT/requirements.lock"
  echo "$want" > "$stamp"
}

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
ensure_chromium() {
  if [[ -x /usr/bin/chromium ]]; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "the browser tests need Chromium at /usr/bin/chromium: install your distribution's chromium package"
  say "installing Debian's chromium for the browser tests"
  local sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
}

# Debian's HAProxy, the load balancer of `./majlis start --instances N` (and of its test).
ensure_haproxy() {
  if command -v haproxy >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "--instances needs HAProxy: install your distribution's haproxy package"
  say "installing Debian's haproxy for the load balancer"
  local sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq haproxy >/dev/null
}

export_defaults() {
  export MAJLIS_DATA_DIR="${MAJLIS_DATA_DIR:-$ROOT/var}"
  export MAJLIS_REDIS_PREFIX="${MAJLIS_REDIS_PREFIX:-majlis}"
  export MAJLIS_RABBITMQ_EXCHANGE="${MAJLIS_RABBITMQ_EXCHANGE:-rasa-exchange}"  # Rasa's own default name
  mkdir -p "$MAJLIS_DATA_DIR"
  export MAJLIS_ACTION_ENDPOINT="${MAJLIS_ACTION_ENDPOINT:-http://127.0.0.1:${MAJLIS_ACTIONS_PORT:-5055}/webhook}"
  export MAJLIS_TRACKER_DB="${MAJLIS_TRACKER_DB:-$MAJLIS_DATA_DIR/tracker.sqlite}"
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  # TensorFlow start-up chatter is not useful to an operator.
  export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
  export SQLALCHEMY_SILENCE_UBER_WARNING=1
  # Rasa's dependencies print pages of deprecation warnings at start-up; they are not ours to fix.
  export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning,ignore::PendingDeprecationWarning}"
}
