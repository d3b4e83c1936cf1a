#!/usr/bin/env bash
# Run here (the CPU machine, after scripts/setup.sh) before issue 7's GPU run: packs what the GPU
# machine lacks into .device/ (ignored by git), in two parts that each fit one call's 64 MiB carry.
#   .device/part1: the first 60 MB of the embedded model's GGUF file (98 MB in all)
#   .device/part2: the rest of it, plus wheels of the packages that machine's image has not got
# Then, with the `device` tool (see bench/gpu/README.md):
#   run  carry [".device/part1"]  command "bash bench/gpu/run.sh stash"
#   run  carry [".device/part2"]  command "bash bench/gpu/run.sh all"   (timeout_s 600)
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
rm -rf .device && mkdir -p .device/part1 .device/part2/wheels
gguf=$(.venv/bin/python -c "from huggingtweets.training.base_models import embedded_gguf; print(embedded_gguf())")
split -b 60000000 -d "$gguf" .device/split-
mv .device/split-00 .device/part1/gguf.00
mv .device/split-01 .device/part2/gguf.01
(cd .device && sha256sum "$gguf" | cut -d' ' -f1 > part2/gguf.sha256)
# The GPU image runs Python 3.12 and has torch, transformers, peft, click, tqdm, jinja2, numpy, pyyaml;
# huggingtweets also needs orjson, and the GGUF conversion needs gguf.
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .device/part2/wheels orjson gguf
du -sh .device/part1 .device/part2
