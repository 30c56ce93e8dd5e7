#!/usr/bin/env bash
# Regenerates the README's pictures: the seed network's HTML page with w2's paths lit (taken
# by headless Chromium) and the seed training example's loss curve.
# Needs Debian's `chromium`; run from anywhere: bash scripts/screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./target/debug/chainrule graph --wrt w2 --at x=62.5,y=0,w2=0.8,b2=0,w3=1,b3=0 \
  --format html -o "$work/seed_graph.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --window-size=900,900 --virtual-time-budget=3000 \
  --screenshot="$PWD/docs/seed_graph_w2.png" "file://$work/seed_graph.html" 2>/dev/null
./target/debug/chainrule train examples/seed_training.bp -o docs/seed_training_loss.svg
echo "wrote docs/seed_graph_w2.png and docs/seed_training_loss.svg"
