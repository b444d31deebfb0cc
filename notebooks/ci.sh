#!/usr/bin/env bash
# Executes every notebook headless (jupyter nbconvert --execute) and fails on any cell error,
# so no notebook can rot. First checks that every committed .ipynb has exactly the cells of its
# source in src/ (`build.py --check`), so what runs is what a reader diffs.
# Installs what is missing first:
#   - evcxr_jupyter (the Rust kernel), `cargo install --locked` into notebooks/.tools
#     (~5.5 min on 2 idle cores, once; set SESSIONLAB_NOTEBOOK_TOOLS to keep it elsewhere);
#   - a Python venv at notebooks/.venv with the pinned requirements.txt (~1 min, once);
#   - the Rust kernelspec, inside the venv (nothing is written to ~/.local).
# By default it runs quick (SESSIONLAB_NOTEBOOK_QUICK=1: shorter workloads and the benchmark
# summary's --test mode; the cells still run for real) and writes the executed copies to
# target/notebooks/, leaving the committed notebooks alone.
#   notebooks/ci.sh             # CI: execute all, quick, outputs to target/notebooks/
#   notebooks/ci.sh --refresh   # full-length runs, outputs saved into the committed notebooks
#   notebooks/ci.sh 05-sharding.ipynb   # just one
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
started=$SECONDS
note() { printf '== notebooks: %s (%ss)\n' "$*" "$((SECONDS - started))"; }

EVCXR_VERSION=0.22.0
TOOLS=${SESSIONLAB_NOTEBOOK_TOOLS:-$here/.tools}
TIMEOUT=${SESSIONLAB_NOTEBOOK_TIMEOUT:-900}   # seconds per cell

refresh=0
notebooks=()
for arg in "$@"; do
    case $arg in
        --refresh) refresh=1 ;;
        *) notebooks+=("$arg") ;;
    esac
done
[ ${#notebooks[@]} -gt 0 ] || notebooks=(*.ipynb)

if ! grep -qs "evcxr_jupyter $EVCXR_VERSION" "$TOOLS/.crates.toml" || ! [ -x "$TOOLS/bin/evcxr_jupyter" ]; then
    note "installing evcxr_jupyter $EVCXR_VERSION into $TOOLS"
    nice cargo install --locked evcxr_jupyter --version "$EVCXR_VERSION" --root "$TOOLS"
fi

if ! [ -x .venv/bin/jupyter ] || ! cmp -s requirements.txt .venv/requirements.installed; then
    note "creating the venv from requirements.txt"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt .venv/requirements.installed
fi

note "checking the notebooks against their sources (build.py --check)"
.venv/bin/python build.py --check

# The evcxr kernelspec, where the venv's jupyter looks (sys.prefix/share/jupyter).
kernel_dir=.venv/share/jupyter/kernels/rust
mkdir -p "$kernel_dir"
cat > "$kernel_dir/kernel.json" <<JSON
{
  "argv": ["$TOOLS/bin/evcxr_jupyter", "--control_file", "{connection_file}"],
  "display_name": "Rust",
  "language": "rust",
  "interrupt_mode": "message"
}
JSON

# evcxr's crate cache (each notebook's first cell says `:cache`), kept under .tools rather than
# ~/.cache, so `:dep sessionlab` compiles once, not once per notebook.
export XDG_CACHE_HOME=${SESSIONLAB_NOTEBOOK_CACHE:-$TOOLS/cache}
mkdir -p "$XDG_CACHE_HOME"

if [ "$refresh" = 1 ]; then
    unset SESSIONLAB_NOTEBOOK_QUICK
    out=(--inplace)
else
    export SESSIONLAB_NOTEBOOK_QUICK=${SESSIONLAB_NOTEBOOK_QUICK:-1}
    mkdir -p ../target/notebooks
    out=(--output-dir ../target/notebooks)
fi
# Lesson 7 and the analysis notebook write and read the benchmark summary here.
mkdir -p ../target/sessionlab-bench

for nb in "${notebooks[@]}"; do
    t0=$SECONDS
    note "executing $nb"
    .venv/bin/jupyter nbconvert --to notebook --execute "$nb" "${out[@]}" \
        --ExecutePreprocessor.timeout="$TIMEOUT" \
        --ExecutePreprocessor.startup_timeout=120 \
        --log-level=WARN
    # evcxr reports a panicking cell (a failed assert!) only as stderr text, not as a cell error,
    # so nbconvert alone would pass it: fail on any "panicked at" the kernel wrote to stderr.
    # (Loom's own panics inside the test binaries a cell runs are printed to stdout: not matched.)
    if [ "$refresh" = 1 ]; then executed=$nb; else executed=../target/notebooks/$nb; fi
    .venv/bin/python - "$executed" <<'PY'
import json, sys
path = sys.argv[1]
bad = []
for i, cell in enumerate(json.load(open(path))["cells"]):
    for out in cell.get("outputs", []):
        text = "".join(out.get("text", ""))
        if out.get("output_type") == "error" or (out.get("name") == "stderr" and "panicked at" in text):
            bad.append(f"cell {i}: {text or out.get('evalue', '')}")
if bad:
    sys.exit(f"{path}: a cell panicked or failed:\n" + "\n".join(bad))
PY
    echo "   $nb: $((SECONDS - t0)) s"
done
note "all ${#notebooks[@]} notebooks executed without a cell error"
