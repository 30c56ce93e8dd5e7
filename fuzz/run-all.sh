#!/usr/bin/env bash
# Runs fuzz targets in turn, one process at a time, for SECONDS each (default 60), with the
# seeds in fuzz/corpus/<target> and new inputs kept in ${WORK:-/tmp/chainrule-fuzz}/<target>.
#
#   fuzz/run-all.sh [--no-sanitizer] [SECONDS] [TARGET...]
#
# TARGETs default to all four (parse_bp parse_values parse_claim commands). With
# --no-sanitizer the targets are built without the address sanitizer: several times as many
# inputs a second, still catching every panic, hang and allocation over the limit (the code the
# targets reach has no `unsafe` of its own: only the binary's signal and allocator glue does).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Builds once, then runs
# the built targets (so editing the sources meanwhile does not rebuild them). Prints the number
# of inputs each target ran; a crash or a hang (over 10 s for a parser, 30 s for whole
# commands) stops that target with the reproducer in fuzz/artifacts/<target>/. Whole commands
# on the largest seed (softmax_classifier, saturated, every option) take about 2 s of CPU in
# a debug build; the address sanitizer and a loaded machine made that pass 10 s once.
set -euo pipefail
cd "$(dirname "$0")"
sanitizer=()
if [ "${1:-}" = --no-sanitizer ]; then
    sanitizer=(-s none)
    shift
fi
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(parse_bp parse_values parse_claim commands)
work=${WORK:-/tmp/chainrule-fuzz}
cargo +nightly fuzz build -O "${sanitizer[@]}"
bin=target/x86_64-unknown-linux-gnu/release
for target in "${targets[@]}"; do
    mkdir -p "$work/$target" "artifacts/$target"
    timeout=10
    [ "$target" = commands ] && timeout=30
    "$bin/$target" -artifact_prefix="artifacts/$target/" -max_total_time="$seconds" \
        -max_len=1024 -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
        "$work/$target" "corpus/$target" > "$work/$target.log" 2>&1 || true
    echo "$target: $(grep -E 'stat::number_of_executed_units' "$work/$target.log" | awk '{print $2}') inputs"
    grep -E "^==.*ERROR|^SUMMARY|panicked at" "$work/$target.log" || true
done
