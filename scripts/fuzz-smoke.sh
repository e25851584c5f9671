#!/usr/bin/env bash
# Runs every cargo-fuzz target briefly (default 30 s each) and fails on the
# first crash. Not part of scripts/test-all.sh: the sanitizer builds take
# longer than the whole test suite on a two-core machine.
#
#   bash scripts/fuzz-smoke.sh            # 30 s per target
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh
#
# cargo-fuzz needs a nightly compiler. Without one, RUSTC_BOOTSTRAP=1 lets
# the stable compiler accept the nightly flags (-Zsanitizer=address).
# Builds go to a separate target dir so they never clobber the workspace's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-30}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$root/target/fuzz}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi

for fuzz_dir in "$root"/core/fuzz "$root"/server/fuzz; do
    cd "$(dirname "$fuzz_dir")"
    for target in $(cargo fuzz list --fuzz-dir "$fuzz_dir"); do
        corpus="$fuzz_dir/corpus/$target"
        mkdir -p "$corpus"
        seeds=()
        [ -d "$fuzz_dir/seeds/$target" ] && seeds=("$fuzz_dir/seeds/$target")
        echo "fuzz-smoke: $target for ${seconds}s" >&2
        cargo fuzz run --fuzz-dir "$fuzz_dir" "$target" "$corpus" "${seeds[@]}" -- \
            -max_total_time="$seconds" -max_len=256 -print_final_stats=1
    done
done
echo "fuzz-smoke: all targets ran clean" >&2
