#!/usr/bin/env bash
# Memcheck (valgrind) on the lock-free store, on stable Rust: the checks loom cannot make.
#
# Loom sees orderings, not memory: a use-after-free or a leak inside crossbeam-epoch's own
# allocations is invisible to it, and Miri and the sanitizers need a nightly toolchain. Debian's
# valgrind runs the ordinary debug test binaries and reports every invalid read or write and
# every block no pointer reaches any more ("definitely lost").
#
# What runs (debug build, the one `cargo test` makes; valgrind serialises threads, so the
# concurrent tests still interleave, at valgrind's thread switches):
#   1. the lock-free store's unit tests (`--lib stores::lockfree`), growth and sweeps included;
#   2. `tests/lockfree_memory.rs`: drop frees everything, nothing is freed while pinned;
#   3. the conformance suite's lock-free tests (real threads: touch/sweep, insert/remove races);
#   4. the CLI's child workload on the lock-free store, 2 threads, 2 s (a sweeper included).
# Each must report zero errors (invalid reads/writes, uses of uninitialised values) and zero
# definitely-lost bytes. Blocks crossbeam-epoch still holds at exit (its global garbage queue,
# the registered thread records) are "still reachable" from its statics: not errors, and
# valgrind is told to report definite leaks only. No suppression file is used.
#
#   5. the racy store's demonstration (the same child workload on `racy`), expecting errors:
#      it writes one HashMap from several threads, so valgrind should see invalid reads or
#      writes, or the run crashes or hangs (killed after a time limit). A clean run is
#      reported, not failed: valgrind serialises threads, so a given run may dodge the race;
#      the loom suite proves the race deterministically.
#
# Usage: memcheck/run.sh   (exit status 0 = the lock-free store is clean)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "memcheck: valgrind is not installed; install it with: apt-get install valgrind" >&2
    exit 0
fi

VALGRIND=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --num-callers=30)

# The test binaries' paths, from cargo's JSON messages.
binaries=$(cargo test --no-run --message-format=json --lib --test lockfree_memory --test conformance 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") and message["profile"]["test"]:
        print(message["target"]["name"], message["executable"])
')
binary() { awk -v name="$1" '$1 == name { print $2 }' <<<"$binaries"; }
cargo build --quiet --bin sessionlab
cli=target/debug/sessionlab
[[ -n ${CARGO_TARGET_DIR:-} ]] && cli=$CARGO_TARGET_DIR/debug/sessionlab

failed=0
check() {
    local name=$1
    shift
    local started=$SECONDS
    if "${VALGRIND[@]}" "$@" >/tmp/memcheck.$$.out 2>&1; then
        echo "memcheck: $name: clean ($((SECONDS - started)) s)"
    else
        echo "memcheck: $name: FAILED (exit $?)"
        tail -n 60 /tmp/memcheck.$$.out
        failed=1
    fi
}

check "lib stores::lockfree" "$(binary sessionlab)" stores::lockfree --test-threads=2
check "lockfree_memory" "$(binary lockfree_memory)"
check "conformance lockfree" "$(binary conformance)" lockfree --test-threads=2
# The child takes the parsed workload spec as JSON (what the demo hands it).
spec() { printf '{"threads":%d,"duration":{"secs":2,"nanos":0},"max_ops":null,"sessions":%d,"ttl":20,"seed":1}' "$1" "$2"; }
check "child workload on lockfree" "$cli" child --store lockfree --spec "$(spec 2 2000)"

# The racy store: expected to go wrong.
started=$SECONDS
set +e
timeout 180 valgrind --leak-check=no --error-exitcode=99 "$cli" child --store racy \
    --spec "$(spec 4 4000)" >/tmp/memcheck.$$.out 2>&1
status=$?
set -e
errors=$(grep -oE 'ERROR SUMMARY: [0-9]+' /tmp/memcheck.$$.out | grep -oE '[0-9]+$' | tail -n 1)
case $status in
    124) verdict="hung (killed after 180 s)" ;;
    99) verdict="${errors:-some} memory errors" ;;
    0) verdict="no memory error seen this run (valgrind serialised the threads past the race)" ;;
    *) verdict="crashed (exit $status), ${errors:-unknown} memory errors" ;;
esac
echo "memcheck: racy store demonstration: $verdict ($((SECONDS - started)) s)"
grep -m 3 -E 'Invalid (read|write)' /tmp/memcheck.$$.out || true
rm -f /tmp/memcheck.$$.out

exit $failed
