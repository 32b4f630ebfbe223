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
#
# The sanitizer run leaves out the labels that test the shipped build itself
# (package, e2e, bench): the first run covers them, and under ASan they would
# only measure the sanitizer. Each phase prints how long it took.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

phase_start=$SECONDS
phase_done() {
    echo "== $1 took $((SECONDS - phase_start)) s"
    phase_start=$SECONDS
}

# shellcheck source=tools/deps.sh
source "$root/tools/deps.sh"
agentlb_install_deps test
phase_done "package installation"

jobs="$(nproc 2>/dev/null || echo 2)"
status=0

# run_suite DIR "CTEST ARGS" CMAKE ARGS...
run_suite() {
    local dir="$1"
    local ctest_args="$2"
    shift 2
    local rc=0
    cmake -S "$root" -B "$dir" -G Ninja "$@" && cmake --build "$dir" --parallel "$jobs" || rc=1
    phase_done "build of $dir"
    if ((rc == 0)); then
        # shellcheck disable=SC2086
        ctest --test-dir "$dir" --output-on-failure --parallel "$jobs" --timeout 300 $ctest_args \
            ${AGENTLB_TEST_ARGS:-} || rc=1
        phase_done "tests of $dir"
    fi
    return "$rc"
}

echo "== build and test: $root/build"
# -g1: line tables only, enough for a backtrace or a sanitizer report, and a
# quarter less compile time than full debug information.
run_suite "$root/build" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" ||
    status=1

if [[ "${AGENTLB_TEST_SANITIZE:-1}" != 0 ]]; then
    echo "== build and test with AddressSanitizer + UBSan: $root/build-asan"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
    run_suite "$root/build-asan" "-LE ^(package|e2e|bench)$" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
        -DAGENTLB_SANITIZE=ON || status=1
fi

if [[ "${AGENTLB_TEST_FUZZ:-1}" != 0 ]]; then
    echo "== fuzz every target for 30 s: $root/build-fuzz"
    "$root/tools/fuzz.sh" 30 || status=1
    phase_done "fuzzing"
fi

exit "$status"
