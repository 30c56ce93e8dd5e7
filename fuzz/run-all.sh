#!/usr/bin/env bash
# Runs every fuzz target in turn, one process at a time, for SECONDS each (default 60), with the
# seeds in fuzz/corpus/<target> and new inputs kept in ${WORK:-/tmp/chainrule-fuzz}/<target>.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Prints the number of
# inputs each target ran; a crash or a hang (over 10 s) stops with the reproducer in
# fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
work=${WORK:-/tmp/chainrule-fuzz}
cargo +nightly fuzz build -O
for target in parse_bp parse_values parse_claim commands; do
    mkdir -p "$work/$target"
    cargo +nightly fuzz run -O "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>&1 | tee "$work/$target.log" | grep -E "^Done|stat::number_of_executed_units|ERROR|SUMMARY" || true
done
