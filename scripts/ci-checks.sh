#!/usr/bin/env bash
# ci-checks.sh [cppcheck] [asan] [tsan] [fuzz] — the checks CI (.ci/run) runs
# after the default test suite; with no argument, all four in that order.
# Each prints its wall time; any finding fails the script.
#
#   cppcheck  cppcheck --enable=warning,performance,portability over src/
#             (justified inline suppressions only: `// cppcheck-suppress ID`)
#   asan      clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#             (build-asan/), then every test labelled unit or server
#             (the gateway's tests are server tests), not slow
#   tsan      ThreadSanitizer build (build-tsan/), then the tests labelled
#             server (HTTP, scheduler, gateway) or grad (the trainer's
#             threaded forward/backward), not slow
#   fuzz      every fuzz target (fuzz/fuzz_*.c, built in build-asan/ with
#             libFuzzer) for FUZZ_SECONDS (60) each on its seeds
#             (fuzz/corpus/NAME), nproc targets at a time
#
# Tests are chosen by label, so new unit/server/grad tests join the sanitizer
# runs by themselves. SAN_EXCLUDE (a ctest -E regex) leaves out tests too
# long under the sanitizers; see docs/ci.md for the times.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# test_train_facts: 90+ s of LoRA training in the default run (minutes under a
# sanitizer); its code (data, trainer, adapters) is exercised by
# test_train_e2e, test_train_model and test_train_pack, which do run.
# test_pii_labelled_current: its generator (tests/pii/gen_labelled.c) calls
# the random generator several times in one argument list, whose evaluation
# order C leaves open: the clang build writes another file than the GCC
# build the committed data came from (it passes in the default run).
# Too slow under the sanitizers for their fixed limits (they pass in the
# default run): test_qc_watch waits a fixed time for a watched folder's
# images; test_schema_server's client gives up after 60 s on 3 x 120
# schema-constrained tokens; test_train_model (whole-model finite
# differences) passes its 180 s limit, test_train_e2e (240 training steps)
# its 240 s, test_train_parity takes about 9 minutes, and test_openai_tools
# (a dozen generations of up to 1,024-token contexts through the openai
# client) passed its 300 s limit under TSan; the tool-call parser and
# grammars run under ASan in test_tool_call and test_tools. The trainer's
# threaded code still runs under both sanitizers in test_train_pack and
# test_grad.
SAN_EXCLUDE=${SAN_EXCLUDE:-'^(test_train_facts.*|test_train_model|test_train_e2e|test_train_parity|test_pii_labelled_current|test_qc_watch|test_schema_server|test_openai_tools)$'}
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(cppcheck asan tsan fuzz)

section() { printf '\n==== %s\n' "$*"; }
timed() {   # timed NAME CMD...: runs CMD, prints NAME's wall time
    local name=$1 t0=$SECONDS
    shift
    "$@"
    printf '==== %s: %d s\n' "$name" $((SECONDS - t0))
}

run_cppcheck() {
    section "cppcheck $(cppcheck --version | awk '{print $2}') over src/"
    # _Noreturn spelled as GCC's attribute: cppcheck 2.10 does not read C11's
    # _Noreturn, and would follow error paths past jfail() & co.
    cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
        -j "$jobs" --std=c11 -D_GNU_SOURCE '-D_Noreturn=__attribute__((noreturn))' \
        -I include -I src --template='{file}:{line}: {severity}: {message} [{id}]' src/
}

build_asan() {
    # clang so that the same build carries libFuzzer's coverage hooks
    # (HEARTH_FUZZ): the tests and the fuzz targets share it
    CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
        -DHEARTH_ASAN=ON -DHEARTH_UBSAN=ON -DHEARTH_FUZZ=ON >/dev/null
    cmake --build build-asan -j"$jobs" >build-asan/build.log 2>&1 || { tail -40 build-asan/build.log; return 1; }
}

run_asan() {
    section "AddressSanitizer + UndefinedBehaviorSanitizer: build"
    timed "asan build" build_asan
    section "AddressSanitizer + UndefinedBehaviorSanitizer: tests labelled unit|server"
    LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timed "asan tests" ctest --test-dir build-asan -L 'unit|server' -LE slow -E "$SAN_EXCLUDE" \
        -j"$jobs" --output-on-failure --timeout 900
}

build_tsan() {
    cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DHEARTH_TSAN=ON >/dev/null
    cmake --build build-tsan -j"$jobs" >build-tsan/build.log 2>&1 || { tail -40 build-tsan/build.log; return 1; }
}

run_tsan() {
    section "ThreadSanitizer: build"
    timed "tsan build" build_tsan
    section "ThreadSanitizer: tests labelled server|grad"
    # setarch -R: no address-space randomisation, which some kernels' large
    # mmap randomisation makes TSan's shadow memory layout refuse
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4 \
        timed "tsan tests" setarch "$(uname -m)" -R ctest --test-dir build-tsan -L 'server|grad' -LE slow \
        -E "$SAN_EXCLUDE" -j"$jobs" --output-on-failure --timeout 900
}

fuzz_one() {   # fuzz_one NAME: FUZZ_SECONDS of build-asan/fuzz/fuzz_NAME on its seeds
    local t=$1 out=build-asan/fuzz-logs/$1.log
    mkdir -p "build-asan/fuzz-corpus/$t" "fuzz/corpus/$t"
    if "build-asan/fuzz/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$root/build-asan/fuzz-crash-$t-" -print_final_stats=1 \
        "build-asan/fuzz-corpus/$t" "fuzz/corpus/$t" >"$out" 2>&1; then
        printf 'fuzz %-18s ok: %s runs, %s coverage features, corpus %s\n' "$t" \
            "$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$')" \
            "$(grep -o 'ft: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*')" \
            "$(grep -o 'corp: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*')"
    else
        printf 'fuzz %-18s FAILED:\n' "$t"
        grep -A40 -E '^==[0-9]+==ERROR|runtime error|deadly signal|Test unit written' "$out" | head -60
        return 1
    fi
}

run_fuzz() {
    section "fuzz: every target, ${FUZZ_SECONDS} s each"
    timed "asan build (fuzz targets)" build_asan   # incremental after `asan`
    mkdir -p build-asan/fuzz-logs
    export LSAN_OPTIONS=suppressions=$root/scripts/lsan.supp:print_suppressions=0
    local targets=() t pids=() failed=0
    for f in fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
    # nproc targets at a time, each one process (libFuzzer's own -jobs would fork more)
    for t in "${targets[@]}"; do
        fuzz_one "$t" &
        pids+=($!)
        if [ ${#pids[@]} -ge "$jobs" ]; then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    echo "${#targets[@]} fuzz targets"
    return $failed
}

t_all=$SECONDS
for c in "${checks[@]}"; do
    case "$c" in
    cppcheck) timed cppcheck run_cppcheck ;;
    asan) run_asan ;;
    tsan) run_tsan ;;
    fuzz) timed fuzz run_fuzz ;;
    *) echo "ci-checks.sh: unknown check '$c' (cppcheck, asan, tsan, fuzz)" >&2; exit 2 ;;
    esac
done
printf '\n==== ci-checks (%s): %d s in all\n' "${checks[*]}" $((SECONDS - t_all))
