#!/usr/bin/env bash
# Set up NomaSplit in ./.venv: CPU PyTorch first (a plain `torch` requirement would
# pull a multi-GB CUDA build), then the project, editable, with its test tools.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
if ! "$PY" -c "import torch" 2>/dev/null; then
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet "torch==2.13.0"
fi
"$PY" -m pip install --quiet -e ".[rl,dev]"
echo "NomaSplit is set up in .venv ($("$PY" -c 'import torch, noma_split_env; print("torch", torch.__version__)'))"
