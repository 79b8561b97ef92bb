#!/usr/bin/env bash
# The main job on the bundled corpus: set up, index corpus/, answer a sample question,
# then serve the API and the chat widget (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")"
QA_BROWSER=0 scripts/setup.sh --main   # the main job's parts only: no eval, ONNX or test extras
# corpus/qa-calibration.json (fitted on eval/seeds dev) goes into the index: qa ask and qa serve use it
.venv/bin/qa index corpus/ --out index/default
.venv/bin/qa ask "FLT3-ITD AML starting 7+3: what do I add, and on which days?"
if .venv/bin/qa serve --help >/dev/null 2>&1 && [ "${QA_NO_SERVE:-0}" != "1" ]; then
  exec .venv/bin/qa serve --index index/default --port "${QA_PORT:-8000}"
fi
