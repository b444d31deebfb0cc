# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Analysis: the benchmark numbers as charts
#
# Reads the benchmark summary's JSON (`cargo bench --bench summary -- --json`, written by lesson 7
# to `target/sessionlab-bench/notebook-summary.json`, or run here if missing) and, when present,
# criterion's estimates (`target/criterion/**/new/estimates.json`, keyed on `benchmark.json`'s
# `full_id`). Draws: throughput vs threads, store/floor ratios, copy-on-write write cost vs size,
# and sweep-pause tail latency.

# %%
import json, os, pathlib, subprocess
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import display, Image
import io

ROOT = pathlib.Path("..").resolve()
QUICK = bool(os.environ.get("SESSIONLAB_NOTEBOOK_QUICK"))
saved = ROOT / "target/sessionlab-bench/notebook-summary.json"
if saved.exists() and saved.stat().st_size > 0:
    summary = json.loads(saved.read_text())
    print("read", saved.relative_to(ROOT))
else:
    args = ["cargo", "bench", "--bench", "summary", "--", "--json"] + (["--test"] if QUICK else [])
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    print("ran", " ".join(args))
print("machine:", summary["machine"])
print("keys:", sorted(summary))

def show(fig):
    # PNG bytes inline, so the saved notebook carries the chart.
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buf.getvalue()))


# %% [markdown]
# ## Throughput vs threads

# %%
rows = summary["throughput"]
mixes = sorted({r["mix"] for r in rows})
fig, axes = plt.subplots(1, len(mixes), figsize=(5 * len(mixes), 3.6), squeeze=False)
for ax, mix in zip(axes[0], mixes):
    for name in sorted({r["name"] for r in rows if r["mix"] == mix}):
        pts = sorted((r["threads"], r["ops_per_sec"]) for r in rows if r["mix"] == mix and r["name"] == name)
        ax.plot([t for t, _ in pts], [v / 1e6 for _, v in pts], marker="o", label=name)
    ax.set_title(mix); ax.set_xlabel("threads"); ax.set_ylabel("Mops/s"); ax.set_xticks(sorted({r["threads"] for r in rows}))
axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
show(fig)

# %% [markdown]
# ## Store / floor (one thread): what coordination costs

# %%
lat = {r["name"]: r for r in summary["latency"]}
floor = lat.get("floor")
names = [n for n in lat if n != "floor"]
fig, ax = plt.subplots(figsize=(8, 3.4))
width = 0.27
for i, op in enumerate(["touch_ns", "insert_ns", "remove_ns"]):
    ratios = [lat[n][op] / floor[op] for n in names]
    ax.bar([x + i * width for x in range(len(names))], ratios, width, label=op.replace("_ns", ""))
ax.set_xticks([x + width for x in range(len(names))]); ax.set_xticklabels(names, rotation=30)
ax.axhline(1, color="black", lw=0.8); ax.set_ylabel("time / floor"); ax.set_yscale("log"); ax.legend()
show(fig)
for n in names:
    print(f"{n:>10}: touch {lat[n]['touch_ns'] / floor['touch_ns']:6.1f}x floor, insert {lat[n]['insert_ns'] / floor['insert_ns']:8.1f}x")

# %% [markdown]
# ## Sweep pause: tail latency of requests during a sweep, and COW's write cost vs size

# %%
pauses = summary["sweep_pause"]
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
for name in sorted({p["name"] for p in pauses}):
    pts = sorted((p["size"], p) for p in pauses if p["name"] == name)
    a.plot([s for s, _ in pts], [p["p99_ns"] / 1e3 for _, p in pts], marker="o", label=name)
    b.plot([s for s, _ in pts], [p["sweep_ns"] / 1e6 for _, p in pts], marker="o", label=name)
a.set_xscale("log"); a.set_yscale("log"); a.set_xlabel("sessions"); a.set_ylabel("p99 touch during sweep (us)")
b.set_xscale("log"); b.set_yscale("log"); b.set_xlabel("sessions"); b.set_ylabel("sweep duration (ms)")
a.legend(fontsize=7)
show(fig)
for p in pauses:
    print(f"{p['name']:>10} n={p['size']:>8}: sweep {p['sweep_ns'] / 1e6:8.2f} ms, p99 {p['p99_ns'] / 1e3:9.1f} us")

# %% [markdown]
# COW's write cost vs size comes from criterion when its groups have been run
# (`cargo bench --bench stores`): every benchmark's `benchmark.json` gives its `full_id`
# (`group/function/parameter`), and `new/estimates.json` its mean time.

# %%
crit = ROOT / "target/criterion"
estimates = {}
for bench in crit.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = bench.parent / "estimates.json"
    if est.exists():
        estimates[meta["full_id"]] = json.loads(est.read_text())["mean"]["point_estimate"]
print(len(estimates), "criterion estimates found")
for full_id in sorted(estimates)[:12]:
    print(f"  {full_id:<40} {estimates[full_id]:10.1f} ns")
cow = sorted((k, v) for k, v in estimates.items() if "cow" in k and any(ch.isdigit() for ch in k.split("/")[-1]))
if cow:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    xs = [int("".join(ch for ch in k.split("/")[-1] if ch.isdigit())) for k, _ in cow]
    ax.plot(xs, [v / 1e3 for _, v in cow], marker="o"); ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("sessions"); ax.set_ylabel("us per write"); ax.set_title("copy-on-write: write cost vs size")
    show(fig)
else:
    print("no sized COW write benchmarks in target/criterion yet: lesson 4 measures the same O(n) directly")
