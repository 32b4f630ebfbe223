#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-16 (ASan + UBSan) in
# build-fuzz/, then runs each for SECONDS (default 60) on a copy of its seed
# corpus, so the repository is never written to. One summary line per target
# (executions, coverage); the exit code is non-zero on any crash, leak,
# timeout or out-of-memory, and the input that caused it is kept under
# build-fuzz/fuzz-run/NAME/artifacts/.
#
#   tools/fuzz.sh [SECONDS]
#   AGENTLB_FUZZ_TARGETS="frame message"   only these targets
#   AGENTLB_FUZZ_BUILD=DIR                 build folder (default build-fuzz)
#
# clang-16 and libclang-rt-16-dev are installed when missing; only when that
# fails is fuzzing skipped (one "fuzzing skipped: ..." line, exit code 0).
set -uo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tools/fuzz.sh [SECONDS]   (SECONDS: a whole number, at least 1; got '$seconds')" >&2
    exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${AGENTLB_FUZZ_BUILD:-$root/build-fuzz}"
fuzzer_runtime=/usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a

# shellcheck source=tools/deps.sh
source "$root/tools/deps.sh"
agentlb_install_deps || exit 1

if ! command -v clang++-16 >/dev/null || [[ ! -f "$fuzzer_runtime" ]]; then
    echo "installing clang-16 and libclang-rt-16-dev for fuzzing"
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        sudo=(sudo)
    fi
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            clang-16 libclang-rt-16-dev; } ||
        ! command -v clang++-16 >/dev/null || [[ ! -f "$fuzzer_runtime" ]]; then
        echo "fuzzing skipped: clang-16 and libclang-rt-16-dev could not be installed (apt-get failed)"
        exit 0
    fi
fi

launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== build the fuzz targets: $build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
    -DAGENTLB_FUZZ=ON "${launcher[@]}" >/dev/null || exit 1
cmake --build "$build" --target agentlb_fuzzers --parallel "$(nproc 2>/dev/null || echo 2)" || exit 1

symbolizer="$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)"
if [[ -n "$symbolizer" ]]; then
    export ASAN_SYMBOLIZER_PATH="$symbolizer"
fi
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
summary=()
while read -r name max_len corpus; do
    if [[ -n "${AGENTLB_FUZZ_TARGETS:-}" && " $AGENTLB_FUZZ_TARGETS " != *" $name "* ]]; then
        continue
    fi
    work="$build/fuzz-run/$name"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [[ -d "$corpus" ]]; then
        cp -R "$corpus/." "$work/corpus/"
    fi
    echo "== fuzz $name for ${seconds} s (max_len $max_len)"
    "$build/fuzz/fuzz_$name" "$work/corpus" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        >"$work/log" 2>&1
    rc=$?
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)"
    last="$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    failures="$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' \) | sort)"
    line="fuzz $name: ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}"
    if [[ $rc -ne 0 || -n "$failures" ]]; then
        status=1
        kind="$(basename "$(head -1 <<<"$failures")" | cut -d- -f1)"
        line+=" -- FAILED (${kind:-exit code $rc})"
        tail -40 "$work/log"
        echo "log: $work/log"
        for input in $failures; do
            echo "failing input: $input"
        done
    else
        line+=" -- ok"
    fi
    summary+=("$line")
done <"$build/fuzzers.txt"

echo "== fuzzing summary (${seconds} s per target unless it failed)"
printf '%s\n' "${summary[@]}"
exit "$status"
