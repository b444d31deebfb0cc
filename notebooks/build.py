"""Builds the lesson notebooks (`notebooks/*.ipynb`) from their sources (`notebooks/src/`).

Each notebook's source is a jupytext percent-format file a reader can diff: `src/NN-*.rs` for
the Rust (evcxr) lessons, `src/analysis.py` for the Python one. Cells start at `// %%` (`# %%`),
markdown cells at `// %% [markdown]`, evcxr commands are written `// :dep ...`.

    python3 build.py           # write every .ipynb from its source, keeping the saved outputs
                               # of cells whose source did not change
    python3 build.py --check   # fail if a committed .ipynb's cells differ from its source
                               # (notebooks/ci.sh runs this before executing anything)

After editing a source: `python3 build.py && ./ci.sh --refresh NN-name.ipynb` saves real
outputs into the committed notebook.
"""

import pathlib
import sys

import jupytext
import nbformat

HERE = pathlib.Path(__file__).parent
SOURCES = HERE / "src"
LANGUAGE_INFO = {
    "rust": {
        "name": "rust",
        "codemirror_mode": "rust",
        "file_extension": ".rs",
        "mimetype": "text/rust",
    },
    "python": {"name": "python"},
}


def sources():
    return sorted(p for p in SOURCES.iterdir() if p.suffix in (".rs", ".py"))


def target(source):
    return HERE / f"{source.stem}.ipynb"


def build(source):
    """The notebook a source describes: its cells, stable ids, no outputs, no jupytext noise."""
    nb = jupytext.read(source, fmt=f"{source.suffix[1:]}:percent")
    kernel = nb.metadata["kernelspec"]
    nb.metadata = {
        "kernelspec": kernel,
        "language_info": LANGUAGE_INFO[kernel["language"]],
    }
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"
        cell.metadata = {}
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def cells_of(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


def check():
    stale = []
    for source in sources():
        built, path = build(source), target(source)
        if not path.exists():
            stale.append(f"{path.name}: missing (source {source.name})")
        elif cells_of(built) != cells_of(nbformat.read(path, as_version=4)):
            stale.append(f"{path.name}: cells differ from {source.name}")
    names = {target(s).name for s in sources()}
    stale += [f"{p.name}: has no source in src/" for p in HERE.glob("*.ipynb") if p.name not in names]
    for line in stale:
        print("stale notebook:", line, file=sys.stderr)
    if stale:
        print("run `python3 notebooks/build.py` (then `notebooks/ci.sh --refresh NAME.ipynb`)", file=sys.stderr)
        return 1
    print(f"{len(names)} notebooks match their sources")
    return 0


def write():
    for source in sources():
        built, path = build(source), target(source)
        if path.exists():
            # Keep the real outputs of every cell whose source is unchanged, at the same index.
            old = nbformat.read(path, as_version=4).cells
            for new_cell, old_cell in zip(built.cells, old):
                if new_cell.cell_type == "code" and (old_cell.cell_type, old_cell.source) == (
                    "code",
                    new_cell.source,
                ):
                    new_cell.outputs = old_cell.get("outputs", [])
                    new_cell.execution_count = old_cell.get("execution_count")
        nbformat.write(built, path)
    print(f"wrote {len(sources())} notebooks from {SOURCES.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["--check"] else write())
