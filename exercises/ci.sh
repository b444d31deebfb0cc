#!/usr/bin/env bash
# Checks every exercise both ways, so no exercise can silently rot and no grader is vacuous:
#   1. every committed stub still carries the not-done marker (so it is graded as a stub);
#   2. the stubs FAIL their graders (real threads and loom): the grader tests assert it;
#   3. the kept solutions (`--features solutions`) PASS them, visible tests included;
#   4. every wrong answer is REJECTED by `sessionlab exercise check N`, by the check its
#      `// expect:` line names; the catch rate and the time of each are printed.
# A wrong answer is kept as a patch, exercises/wrong/<exercise>/<bug>.patch: a `// WRONG: ...`
# line (the bug), a `// expect: <check>` line, then a unified diff against
# exercises/solutions/<exercise>.rs with the one bug. It is built by applying the diff to a
# scratch copy of the solution (`git apply`, exact context, no fuzz) and putting the two lines
# on top; a patch that no longer applies fails the run, never passes it. Only the lines that
# differ are kept, so a solution is written once and its wrong answers follow it.
# Loom uses the lab's documented command, RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3, in its
# own target directory (target/loom; exercise 8 in crossbeam's loom mode, target/loom-crossbeam)
# so that the plain and the loom builds both stay warm; `exercise check` uses the same ones.
# Run from anywhere:
#   exercises/ci.sh                 everything;
#   exercises/ci.sh graders         steps 1-3, and that every patch still applies;
#   exercises/ci.sh wrong [exercises/wrong/<exercise>/<bug>.patch ...]
#                                   step 4 only (every wrong answer, or those named);
#   exercises/ci.sh patches [DIR]   only that every patch still applies (seconds; no grader);
#                                   with DIR, also writes each wrong answer, built, to
#                                   DIR/<exercise>/<bug>.rs, to read it whole.
set -euo pipefail
invoked_from=$PWD
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}

started=$SECONDS
step() { printf '\n== exercises: %s (%ss)\n' "$*" "$((SECONDS - started))"; }

part=${1:-all}
case $part in
    all | graders | wrong | patches) ;;
    *) echo "usage: exercises/ci.sh [graders | wrong [PATCH...] | patches [DIR]]" >&2; exit 2 ;;
esac

# A scratch repository for building the wrong answers, made once (git apply applies relative to
# a repository's top, so it must not find an enclosing one), and removed however the run ends;
# `restore` (set where the stubs are overwritten) puts the stubs back.
restore() { :; }
scratch=$(mktemp -d)
cleanup() { restore; rm -rf "$scratch"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
git -C "$scratch" init -q
mkdir -p "$scratch/exercises/solutions"

# build_wrong PATCH OUT: writes the wrong answer that PATCH keeps to OUT: PATCH's `// WRONG:`
# and `// expect:` lines, then its exercise's solution with PATCH's diff applied. The diff is
# applied in the scratch repository to a copy of the solution alone, so nothing in the tree is
# touched and a diff aimed at another file cannot apply. Says why and fails if PATCH is
# malformed, no longer applies, or changes nothing.
build_wrong() {
    local patch=${1#./} out=$2 exercise solution why status=0 lines=()
    exercise=${patch%/*}
    exercise=${exercise##*/}
    solution=exercises/solutions/$exercise.rs
    if [[ $patch != exercises/wrong/ex*/*.patch ]] || [ ! -f "$patch" ] || [ ! -f "$solution" ]; then
        echo "$patch: not a wrong answer: exercises/wrong/<exercise>/<bug>.patch, for exercises/solutions/<exercise>.rs" >&2
        return 1
    fi
    mapfile -t -n 3 lines <"$patch"
    if [[ ! ${lines[0]:-} =~ ^//\ WRONG:\ . || ! ${lines[1]:-} =~ ^//\ expect:\ . ]]; then
        echo "$patch: its first two lines must be '// WRONG: <the bug>' and '// expect: <the check that catches it>'" >&2
        return 1
    fi
    if [[ ${lines[2]:-} != "--- a/$solution" && ${lines[2]:-} != "--- a/$solution"$'\t'* &&
        ${lines[2]:-} != "diff --git a/$solution b/$solution" ]]; then
        echo "$patch: line 3 must start the diff of the solution: '--- a/$solution' (or 'diff --git a/$solution b/$solution')" >&2
        return 1
    fi
    rm -rf "$scratch/exercises/solutions"/*
    cp "$solution" "$scratch/$solution"
    if ! why=$(git -C "$scratch" apply --whitespace=nowarn "$root/$patch" 2>&1); then
        printf '%s: NO LONGER APPLIES to %s (the solution changed since the patch was made):\n%s\n' \
            "$patch" "$solution" "$(sed 's/^/    /' <<<"$why")" >&2
        echo "    remake it as exercises/README.md says (\"Wrong answers are patches\")" >&2
        status=1
    elif cmp -s "$scratch/$solution" "$solution"; then
        echo "$patch: applies, but changes nothing in $solution" >&2
        status=1
    elif ! { printf '%s\n' "${lines[@]:0:2}" && cat "$scratch/$solution"; } >"$out"; then
        echo "$patch: could not write $out" >&2
        status=1
    fi
    rm -rf "$scratch/exercises/solutions"/*
    return "$status"
}

# check_patches [DIR]: every wrong answer's patch builds (see build_wrong), and no wrong answer
# is kept whole; with DIR, each built answer is left in DIR/<exercise>/<bug>.rs.
check_patches() {
    local dir=${1:-} patch out built=0 broken=0
    step "every wrong answer's patch still applies to its solution"
    shopt -s nullglob
    local whole=(exercises/wrong/ex*/*.rs) patches=(exercises/wrong/ex*/*.patch)
    shopt -u nullglob
    for patch in "${patches[@]}"; do
        if [ -n "$dir" ]; then
            out=$dir/${patch#exercises/wrong/}
            out=${out%.patch}.rs
            mkdir -p "$(dirname "$out")"
        else
            out=$scratch/answer.rs
        fi
        if build_wrong "$patch" "$out"; then built=$((built + 1)); else broken=$((broken + 1)); fi
    done
    rm -f "$scratch/answer.rs"
    for file in "${whole[@]}"; do
        echo "$file: a wrong answer kept whole; keep it as a patch (exercises/README.md, \"Wrong answers are patches\")" >&2
    done
    printf '  %s of %s patches apply%s\n' "$built" "${#patches[@]}" "${dir:+ (built answers in $dir)}"
    if [ "$broken" != 0 ] || [ "${#whole[@]}" != 0 ] || [ "$built" = 0 ]; then
        printf '  FAILED: %s patches do not build, %s wrong answers are kept whole\n' \
            "$broken" "${#whole[@]}" >&2
        return 1
    fi
}

if [ "$part" = patches ]; then
    dir=${2:-}
    if [ -n "$dir" ] && [[ $dir != /* ]]; then dir=$invoked_from/$dir; fi
    check_patches "$dir" || exit 1
    step "done"
    exit 0
fi

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
# Seconds, and it runs first: a solution edited without its patches is caught before the builds.
check_patches || exit 1

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

if [ "$part" = wrong ] && [ "$#" -gt 1 ]; then
    answers=("${@:2}")
else
    answers=(exercises/wrong/ex*/*.patch)
fi
# Every answer is built once before any is graded: a patch that no longer applies fails the run
# here, in seconds, not after the others' grading.
step "the wrong answers to grade build from their patches"
unbuildable=0
for wrong in "${answers[@]}"; do
    build_wrong "$wrong" "$scratch/answer.rs" || unbuildable=$((unbuildable + 1))
done
rm -f "$scratch/answer.rs"
if [ "$unbuildable" -gt 0 ]; then
    printf '%s of %s wrong answers do not build: nothing graded\n' "$unbuildable" "${#answers[@]}" >&2
    exit 1
fi
echo "  ${#answers[@]} wrong answers build"

step "every wrong answer is rejected, by the check it names"
cargo build -q --bin sessionlab
sessionlab="$target/debug/sessionlab"
backup=$(mktemp -d)
cp exercises/src/ex*.rs "$backup/"
# The stubs come back however the run ends (the EXIT trap, which INT and TERM go through).
restore() { cp "$backup"/ex*.rs exercises/src/; rm -rf "$backup"; }
total=0; caught=0; failures=()
log=$(mktemp)
for wrong in "${answers[@]}"; do
    wrong=${wrong#./}
    exercise=$(basename "$(dirname "$wrong")")
    number=$((10#${exercise:2:2}))
    expect=$(sed -n '2s#^// expect: ##p' "$wrong")
    t0=$SECONDS
    : >"$log"
    by=
    if ! build_wrong "$wrong" "exercises/src/$exercise.rs"; then
        verdict="did not build"
    elif "$sessionlab" exercise check "$number" >"$log" 2>&1; then
        verdict="PASSED (not caught)"
    elif grep -E '^  FAIL ' "$log" | grep -qF -- "$expect"; then
        verdict="caught"; caught=$((caught + 1))
        by=$(grep -E '^  FAIL ' "$log" | sed 's/^  FAIL  //; s/ ([0-9.]* s)$//' | paste -sd, -)
    else
        verdict="rejected, but not by '$expect'"
    fi
    total=$((total + 1))
    cp "$backup/$exercise.rs" "exercises/src/$exercise.rs"
    printf '  %-67s %-8s %4ss  (%s)\n' "$wrong" "$verdict" "$((SECONDS - t0))" "$(sed -n '1s#^// WRONG: ##p' "$wrong")"
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
