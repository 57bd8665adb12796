#!/usr/bin/env bash
# Gradescope autograder set-up (runs once, as root, when the image is built):
# Python, CPU PyTorch first (a bare `pip install torch` pulls a multi-GB CUDA build), then the kit.
set -euo pipefail
KIT="${LOGREG_KIT_SOURCE:-/autograder/source/kit}"
VENV="${LOGREG_KIT_VENV:-/autograder/venv}"
if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
"$VENV/bin/python" -m pip install -q "$KIT"
# parse and cache the embedded digits now, not during the first student's grading
"$VENV/bin/python" -c "from logreg_kit.data import load_embedded; load_embedded()"
