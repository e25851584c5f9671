#!/usr/bin/env bash
# Runs every cargo-fuzz target (core/fuzz: match_number; server/fuzz:
# request_body, sip_message) for FUZZ_SECONDS each (default 30) and fails on
# the first crash, leaving the input in <fuzz dir>/artifacts/<target>/.
# libFuzzer's per-input progress lines (NEW, REDUCE, pulse) and its recommended
# dictionary are dropped; its start line, final statistics and any crash
# report are kept.
#
#   bash scripts/fuzz-smoke.sh                              # 30 s per target, ASan
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh              # the long run
#   FUZZ_SECONDS=15 FUZZ_SANITIZER=none bash scripts/fuzz-smoke.sh
#                                 # the short run in the test command (55-fuzz.sh)
#
# FUZZ_SANITIZER (address | none): AddressSanitizer catches memory errors in
# unsafe code (ours has none; some dependencies do) at the cost of a slower
# build and about half the executions per second. Panics, failed assertions
# and timeouts are caught either way.
#
# cargo-fuzz needs a nightly compiler. Without one, RUSTC_BOOTSTRAP=1 lets
# the stable compiler accept the nightly flags (-Zsanitizer=address).
# Builds go to a separate target dir so they never clobber the workspace's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/cargo.sh
source "$root/scripts/lib/cargo.sh"  # `cargo fuzz` and `cargo install` pass through unchanged
seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-address}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$root/target/fuzz}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz@0.13.2
fi

for fuzz_dir in "$root"/core/fuzz "$root"/server/fuzz; do
    cd "$(dirname "$fuzz_dir")"
    for target in $(cargo fuzz list --fuzz-dir "$fuzz_dir"); do
        corpus="$fuzz_dir/corpus/$target"
        mkdir -p "$corpus"
        seeds=()
        [ -d "$fuzz_dir/seeds/$target" ] && seeds=("$fuzz_dir/seeds/$target")
        echo "fuzz-smoke: $target for ${seconds}s (sanitizer: $sanitizer)" >&2
        cargo fuzz run --sanitizer "$sanitizer" --fuzz-dir "$fuzz_dir" "$target" \
            "$corpus" "${seeds[@]}" -- \
            -max_total_time="$seconds" -max_len=256 -print_final_stats=1 \
            2> >(grep --line-buffered -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|^".*# Uses: [0-9]+$|^###### ' >&2)
    done
done
echo "fuzz-smoke: all targets ran clean" >&2
