#!/usr/bin/env bash
# Creates .venv and installs qa with its test extras. Safe to run again: it reinstalls only when
# pyproject.toml changed (about 3-5 minutes and ~2.3 GB the first time, under a second after).
# torch is pinned to 2.13.0 in pyproject.toml so pip takes the local CPU wheel, not CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# reinstall only when pyproject.toml changed since the last install (a stamp in .venv records it)
stamp=.venv/.qa-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! .venv/bin/pip install -q -e ".[test]" > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "error: pip could not install qa (log above; also in .venv/pip.log)" >&2
    exit 1
  fi
  # on success pip's log (notices about local wheel folders, setuptools' editable-install banner)
  # stays in .venv/pip.log
  echo "$want" > "$stamp"
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
