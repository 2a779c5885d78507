"""The results as markdown: the tables, and the tables with the machine they came from.

    python -m benchmarks.report benchmarks/results/latest.json > docs/benchmark_table.md
"""
import json
import sys

from ._timing import markdown_table


def fmt(value, unit):
    if value is None:
        return "-"
    digits = 0 if unit in ("img/s", "MB") or value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def table(results, with_torch):
    header = ["workload", "gradlite", "reference"]
    header += ["PyTorch", "gradlite/PyTorch"] if with_torch else []
    header += ["% GEMM peak (gradlite" + (" / PyTorch)" if with_torch else ")")]
    rows = []
    for r in results:
        shown = r["shown"]
        row = [r["name"], fmt(shown.get("gradlite"), r["unit"]), fmt(shown.get("reference"), r["unit"])]
        if with_torch:
            ratio = r.get("ratio")
            row += [fmt(shown.get("torch"), r["unit"]), "-" if ratio is None else f"{ratio:.2f}"]
        fraction = r.get("peak_fraction")
        row.append("-" if not fraction else " / ".join(
            f"{100 * fraction[k]:.0f}%" for k in ("gradlite", "torch") if k in fraction))
        rows.append(row)
    return markdown_table(header, rows)


def memory_table(memory):
    names = {"gradlite": "gradlite", "torch": "PyTorch"}
    return markdown_table(
        ["LeNet-5 train steps, batch 64, fresh process", *(names[k] for k in memory)],
        [["peak RSS", *(fmt(m["peak_mb"], "MB") for m in memory.values())],
         ["RSS growth during the steps", *(fmt(m["growth_mb"], "MB") for m in memory.values())]])


def robustness_table(records, with_torch):
    """The LeNet-5 step per condition: each library's time, gradlite's against its best
    condition, and gradlite / PyTorch; then the slowdowns beside a CPU-bound process."""
    ms = {(r["library"], r["condition"]): 1e3 * r["median_s"] for r in records}
    conditions = list(dict.fromkeys(r["condition"] for r in records))
    best = min(ms[("gradlite", c)] for c in conditions if "CPU-bound" not in c)
    header = ["LeNet-5 train step", "gradlite", "gradlite / its best"]
    header += ["PyTorch", "gradlite/PyTorch"] if with_torch else []
    rows = []
    for c in conditions:
        ours = ms[("gradlite", c)]
        row = [c, fmt(ours, "ms"), f"{ours / best:.2f}"]
        if with_torch:
            theirs = ms[("torch", c)]
            row += [fmt(theirs, "ms"), f"{ours / theirs:.2f}"]
        rows.append(row)
    lines = [markdown_table(header, rows)]
    default, busy = conditions[0], next((c for c in conditions if "CPU-bound" in c), None)
    if busy:
        slowdown = {lib: ms[(lib, busy)] / ms[(lib, default)]
                    for lib in ("gradlite", "torch") if (lib, busy) in ms}
        lines.append("\nslowdown beside a CPU-bound process: " + ", ".join(
            f"{'PyTorch' if lib == 'torch' else lib} {s:.2f}x" for lib, s in slowdown.items()))
    return "\n".join(lines)


def markdown_report(data):
    """The tables of a results JSON, headed by the machine and conditions they came from."""
    m, results = data["machine"], data["results"]
    with_torch = any("torch" in r["median_s"] for r in results)
    blas = m.get("blas") or {}
    threads = data.get("threads", {})
    lines = [
        "## Benchmarks",
        "",
        f"`python -m benchmarks{' --quick' if data.get('quick') else ''}` "
        f"(gradlite {m['gradlite']}, commit {m.get('gradlite_commit')}): {m['cpu']}, "
        f"{m['logical_cores']} logical cores; Python {m['python']}, numpy {m['numpy']} with "
        f"{blas.get('name', 'its BLAS')} {blas.get('version', '')}".rstrip()
        + (f", PyTorch {m['torch']}" if with_torch else "")
        + f"; each library in its own processes ({data['rounds']} per library, alternating), "
        f"numpy imported first, no thread variables set; threads: gradlite "
        f"{sorted(set(threads.get('gradlite', [])))}"
        + (f", PyTorch {sorted(set(threads.get('torch', [])))}" if with_torch else "")
        + f"; float32 GEMM peak measured {data['gemm_peak_flops'] / 1e9:.0f} GFLOP/s; "
        f"medians over processes of each process's median of {data['repeats']} calls.",
        "",
        table(results, with_torch),
        "",
        "ratio = gradlite time / PyTorch time (below 1: gradlite faster). See "
        "docs/performance.md for what each row measures and what bounds it.",
    ]
    if data.get("memory"):
        lines += ["", memory_table(data["memory"])]
    if data.get("robustness"):
        lines += ["", "Robustness (the LeNet-5 step, batch 64, each condition in its own "
                  "processes):", "", robustness_table(data["robustness"], with_torch)]
    if not with_torch:
        lines.append("\nPyTorch was not installed: gradlite and the numpy reference only.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        sys.stdout.write(markdown_report(json.load(f)))
