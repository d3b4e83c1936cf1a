#!/usr/bin/env bash
# The recipes side by side on each real account of ../shared/realdata (issue 14's measurement), then the
# `default` bot of each measured as a user would: `huggingtweets evaluate -n 100` and generation speed.
#
#   bash bench/real_accounts.sh [OUT_DIR] [ACCOUNT.zip ...]    # default: /tmp/ht-real, every account
#
# Each account is prepared in a home of its own (OUT_DIR/home-NAME); the bots are kept under
# OUT_DIR/NAME/{huggingtweets,default,quick}; the JSON reports are OUT_DIR/{recipes,evaluate,generate}-NAME.json.
# About 20 minutes per account on a 2-core CPU: run nothing else CPU-heavy meanwhile. The posts are read
# from ../shared/realdata and never copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/ht-real}
shift || true
accounts=("$@")
if [ ${#accounts[@]} -eq 0 ]; then
  accounts=(../shared/realdata/*.zip)
fi
py=.venv/bin/python
mkdir -p "$out"
for zip in "${accounts[@]}"; do
  name=$(basename "$zip" .zip)
  home="$out/home-$name"
  echo "== $name: recipes"
  HUGGINGTWEETS_HOME="$home" $py bench/bench_recipes.py --source "archive:$zip" --keep "$out/$name" \
    --out "$out/recipes-$name.json"
  echo "== $name: evaluate the default bot (100 posts)"
  HUGGINGTWEETS_HOME="$home" .venv/bin/huggingtweets evaluate "$out/$name/default" -n 100 --json \
    > "$out/evaluate-$name.json"
  $py -c "import json,sys; e=json.load(open(sys.argv[1])); print({k: e[k] for k in e if k != 'posts'})" \
    "$out/evaluate-$name.json" | cut -c1-600
  echo "== $name: generation"
  $py bench/bench_generate.py "$out/$name/default" --repeats 3 --out "$out/generate-$name.json"
done
