#!/usr/bin/env bash
# Set up logreg-kit in ./.venv: CPU PyTorch first (a bare `torch` would pull a multi-GB CUDA
# build), then the kit with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # torch 2.13.0's CPU wheel where this machine has it; otherwise PyTorch's CPU index.
  .venv/bin/python -m pip install -q torch==2.13.0 2>/dev/null \
    || .venv/bin/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
.venv/bin/python -m pip install -q -e '.[test,nbgrader]'
# The kit's bytecode, written now as pip writes an installed package's: where PYTHONDONTWRITEBYTECODE is
# set (CI, this kind of machine) Python would otherwise compile the kit's modules again in every process
# (the grader, the sandbox's template; about 0.1 s each). A changed module is still read from its source.
.venv/bin/python -m compileall -q logreg_kit
echo "logreg-kit is set up in .venv"
