"""The results as markdown: the table, and the table with the machine it came from.

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



def markdown_report(data):
    """The table of a results JSON, headed by the machine and conditions it came from."""
    m, results = data["machine"], data["results"]
    with_torch = any("torch" in r["median_s"] for r in results)
    blas = m.get("blas") or {}
    lines = [
        "## Benchmarks",
        "",
        f"`python -m benchmarks{' --quick' if data.get('quick') else ''}` "
        f"(gradlite {m['gradlite']}, commit {m.get('gradlite_commit')}): {m['cpu']}, "
        f"{m['logical_cores']} logical cores, {m['threads']} thread(s) for every library; "
        f"Python {m['python']}, numpy {m['numpy']} with {blas.get('name', 'its BLAS')} "
        f"{blas.get('version', '')}".rstrip() + (f", PyTorch {m['torch']}" if m.get("torch") else "")
        + f"; float32 GEMM peak measured {data['gemm_peak_flops'] / 1e9:.0f} GFLOP/s; "
        f"medians of {data['repeats']} interleaved runs.",
        "",
        table(results, with_torch),
        "",
        "ratio = gradlite time / PyTorch time (below 1: gradlite faster; MB / MB for memory). "
        "See docs/performance.md for what each row measures and what bounds it.",
    ]
    if not with_torch:
        lines.append("PyTorch was not installed: gradlite and the numpy reference only.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        sys.stdout.write(markdown_report(json.load(f)))
