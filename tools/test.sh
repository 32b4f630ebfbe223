#!/usr/bin/env bash
# Installs what the build needs (Debian packages), builds, and runs the whole
# CTest suite twice: a normal build, then one with AddressSanitizer and
# UndefinedBehaviorSanitizer; then every fuzz target for 30 s (tools/fuzz.sh).
# The exit code is non-zero if any of them fails.
#
#   tools/test.sh              all three
#   AGENTLB_TEST_SANITIZE=0    skip the sanitizer run (quicker local loop)
#   AGENTLB_TEST_FUZZ=0        skip the fuzzing run
#   AGENTLB_TEST_ARGS="-L unit" extra arguments for ctest
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# shellcheck source=tools/deps.sh
source "$root/tools/deps.sh"
agentlb_install_deps test

jobs="$(nproc 2>/dev/null || echo 2)"
status=0

run_suite() {
    local dir="$1"
    shift
    cmake -S "$root" -B "$dir" -G Ninja "$@"
    cmake --build "$dir" --parallel "$jobs"
    # shellcheck disable=SC2086
    ctest --test-dir "$dir" --output-on-failure --parallel "$jobs" --timeout 300 ${AGENTLB_TEST_ARGS:-}
}

echo "== build and test: $root/build"
run_suite "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo || status=1

if [[ "${AGENTLB_TEST_SANITIZE:-1}" != 0 ]]; then
    echo "== build and test with AddressSanitizer + UBSan: $root/build-asan"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
    run_suite "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DAGENTLB_SANITIZE=ON || status=1
fi

if [[ "${AGENTLB_TEST_FUZZ:-1}" != 0 ]]; then
    echo "== fuzz every target for 30 s: $root/build-fuzz"
    "$root/tools/fuzz.sh" 30 || status=1
fi

exit "$status"
