#!/usr/bin/env bash
# Creates .venv and installs qa. `scripts/setup.sh` installs every extra (the test suite's needs);
# `scripts/setup.sh --main` only what the main job (index, ask, serve) needs, as ./run.sh does.
# Safe to run again: it reinstalls only when pyproject.toml changed or more extras are wanted
# (see the README for the time and size; under a second when nothing changed).
# torch is pinned to 2.13.0 in pyproject.toml so pip takes the local CPU wheel, not CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
target=".[test]"; extras=test
if [ "${1:-}" = "--main" ]; then target="."; extras=main; fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip > .venv/pip.log 2>&1 || { cat .venv/pip.log >&2; exit 1; }
fi
# reinstall only when pyproject.toml changed since the last install, or the test extras are wanted
# where only the main job's parts are installed (a stamp in .venv records "<sha256> <extras>")
stamp=.venv/.qa-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
have_sha=; have_extras=
if [ -f "$stamp" ]; then read -r have_sha have_extras < "$stamp" || true; fi
if [ "${have_sha:-}" != "$want" ] || { [ "$extras" = test ] && [ "${have_extras:-}" != test ]; }; then
  if ! .venv/bin/pip install -q -e "$target" > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "error: pip could not install qa (log above; also in .venv/pip.log)" >&2
    exit 1
  fi
  # on success pip's log (notices about local wheel folders, setuptools' editable-install banner)
  # stays in .venv/pip.log
  echo "$want $extras" > "$stamp"
fi
if [ "${QA_BROWSER:-1}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..." >&2
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: not root, cannot apt-get install chromium; browser tests will be skipped" >&2
  fi
fi
