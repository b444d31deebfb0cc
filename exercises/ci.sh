#!/usr/bin/env bash
# Checks every exercise both ways, so no exercise can silently rot and no grader is vacuous:
#   1. every committed stub still carries the not-done marker (so it is graded as a stub);
#   2. the stubs FAIL their graders (real threads and loom): the grader tests assert it;
#   3. the kept solutions (`--features solutions`) PASS them, visible tests included;
#   4. every wrong answer in exercises/wrong/<exercise>/<bug>.rs (one bug each, its first line
#      says which) is REJECTED by `sessionlab exercise check N`, by the check its `// expect:`
#      line names; the catch rate and the time of each are printed.
# Loom uses the lab's documented command, RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3, in its
# own target directory (target/loom; exercise 8 in crossbeam's loom mode, target/loom-crossbeam)
# so that the plain and the loom builds both stay warm; `exercise check` uses the same ones.
# Run from anywhere. `exercises/ci.sh graders` runs steps 1-3 only, `exercises/ci.sh wrong
# [exercises/wrong/...rs ...]` step 4 only (every wrong answer, or those named); with no
# argument, all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}

started=$SECONDS
step() { printf '\n== exercises: %s (%ss)\n' "$*" "$((SECONDS - started))"; }

part=${1:-all}
step "every stub carries the not-done marker"
missing=0
for stub in exercises/src/ex*.rs; do
    if ! grep -qx '// I AM NOT DONE' "$stub"; then
        echo "stub $stub lost its '// I AM NOT DONE' line"; missing=1
    fi
done
[ "$missing" = 0 ]

# The grader tests decide pass/fail from the marker; make sure nothing outside overrides it.
unset SESSIONLAB_EXERCISE_EXPECT
export LOOM_MAX_PREEMPTIONS=3

if [ "$part" != wrong ]; then
step "stubs fail their real-thread graders (asserted by the tests)"
cargo test --release -p sessionlab-exercises --lib --test grade

step "solutions pass their real-thread graders and visible tests"
cargo test --release -p sessionlab-exercises --features solutions --lib --test grade

step "stubs fail their loom graders (asserted by the tests)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$target/loom" \
    cargo test --release -p sessionlab-exercises --test loom

step "solutions pass their loom graders"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$target/loom" \
    cargo test --release -p sessionlab-exercises --features solutions --test loom

step "exercise 8 under crossbeam's loom mode: the stub fails, the solution passes"
for features in ex08_lockfree_remove ex08_lockfree_remove,solutions; do
    RUSTFLAGS="--cfg loom --cfg crossbeam_loom" CARGO_TARGET_DIR="$target/loom-crossbeam" \
        cargo test --release -p sessionlab-exercises --no-default-features \
        --features "$features" --test loom
done

fi
if [ "$part" = graders ]; then
    step "done (wrong answers not run: \`exercises/ci.sh wrong\` runs them)"
    exit 0
fi

step "every wrong answer is rejected, by the check it names"
cargo build -q --bin sessionlab
sessionlab="$target/debug/sessionlab"
backup=$(mktemp -d)
cp exercises/src/ex*.rs "$backup/"
restore() { cp "$backup"/ex*.rs exercises/src/; rm -rf "$backup"; }
trap restore EXIT
total=0; caught=0; failures=()
log=$(mktemp)
if [ "$part" = wrong ] && [ "$#" -gt 1 ]; then
    answers=("${@:2}")
else
    answers=(exercises/wrong/ex*/*.rs)
fi
for wrong in "${answers[@]}"; do
    exercise=$(basename "$(dirname "$wrong")")
    number=$((10#${exercise:2:2}))
    expect=$(sed -n 's#^// expect: ##p' "$wrong" | head -1)
    cp "$wrong" "exercises/src/$exercise.rs"
    t0=$SECONDS
    if "$sessionlab" exercise check "$number" >"$log" 2>&1; then
        verdict="PASSED (not caught)"
    elif grep -E '^  FAIL ' "$log" | grep -qF -- "$expect"; then
        verdict="caught"; caught=$((caught + 1))
        by=$(grep -E '^  FAIL ' "$log" | sed 's/^  FAIL  //; s/ ([0-9.]* s)$//' | paste -sd, -)
    else
        verdict="rejected, but not by '$expect'"
    fi
    total=$((total + 1))
    by=${by:-}
    cp "$backup/$exercise.rs" "exercises/src/$exercise.rs"
    printf '  %-60s %-8s %4ss  (%s)\n' "$wrong" "$verdict" "$((SECONDS - t0))" "$(sed -n '1s#^// WRONG: ##p' "$wrong")"
    [ "$verdict" = caught ] && printf '      failed checks: %s\n' "$by"
    if [ "$verdict" != caught ]; then
        failures+=("$wrong: $verdict")
        sed -n '/FAIL/,+3p' "$log" | head -20
    fi
done
rm -f "$log"
printf '\ncatch rate: %s of %s wrong answers rejected by the check they name\n' "$caught" "$total"
if [ "${#failures[@]}" -gt 0 ]; then
    printf '  NOT CAUGHT: %s\n' "${failures[@]}"
    exit 1
fi

step "done"
