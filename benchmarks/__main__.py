"""The benchmark suite: gradlite next to its numpy reference and PyTorch, in one process.

    python -m benchmarks [--quick] [--filter SUBSTR] [--repeat N] [--threads N]
                         [--json PATH] [--plot PATH] [--no-torch]
    gradlite bench ...        (the same, through the gradlite command)

Every row is timed interleaved (gradlite, reference, PyTorch in rotating order, after
warm-up) and reported as the median; every row first checks that the contenders compute
the same thing. Prints a markdown table, writes a JSON file with the machine and all
timings, and, with matplotlib, a bar chart of the gradlite/PyTorch ratios.
"""
import os
import sys

# Pin the BLAS/OpenMP thread pools before numpy (or torch) starts them, so every library
# gets the same number of threads. (Too late if numpy is already imported; recorded.)
_THREADS = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--threads=")), None)
if "--threads" in sys.argv[:-1]:
    _THREADS = sys.argv[sys.argv.index("--threads") + 1]
_NUMPY_WAS_IMPORTED = "numpy" in sys.modules
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_THREADS or 2)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from ._timing import interleaved  # noqa: E402
from .machine import gemm_peak_flops, machine_info  # noqa: E402
from .report import fmt, markdown_report, table  # noqa: E402
from .workloads import GROUPS  # noqa: E402

DEFAULT_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "latest.json")
CONTENDERS = ("gradlite", "reference", "torch")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few repeats: a smoke test that runs in seconds")
    parser.add_argument("--filter", default="",
                        help="run only rows whose group or name contains this (case-insensitive)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs per contender and row (default 15, --quick 1); "
                        "the slow rows (scalar, epoch) do at most 7 and 3")
    parser.add_argument("--threads", type=int, default=2,
                        help="BLAS/OpenMP/PyTorch threads, the same for every library")
    parser.add_argument("--json", default=DEFAULT_JSON, help="where to write the results")
    parser.add_argument("--plot", default=None, help="write a bar chart of the ratios (PNG)")
    parser.add_argument("--table", default=None,
                        help="also write the table with its machine to this markdown file")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return parser.parse_args(argv)


def import_torch(args):
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(args.threads)
    return torch


def display(seconds, case):
    """A median in the row's unit: ms, us per op, images per second, or MB."""
    if case.unit == "MB":
        return seconds
    per_item = seconds / case.items
    return {"ms": 1e3 * per_item, "us/op": 1e6 * per_item, "img/s": 1 / per_item}[case.unit]


def run_row(name, group, case, repeats, warmup, peak):
    """Time one row; return its result record."""
    if case.values is not None:
        medians, spread = dict(case.values), {}
    else:
        times = interleaved(case.fns, repeats=min(case.repeats or repeats, repeats),
                            warmup=warmup)
        medians = {k: statistics.median(v) for k, v in times.items()}
        spread = {k: [min(v), max(v)] for k, v in times.items()}
    result = {"name": name, "group": group, "unit": case.unit, "items": case.items,
              "flops": case.flops, "median_s": medians, "min_max_s": spread,
              "shown": {k: display(v, case) for k, v in medians.items()}}
    if "torch" in medians:
        result["ratio"] = medians["gradlite"] / medians["torch"]  # time (or MB) ratio
    if case.flops and "gradlite" in medians:
        result["peak_fraction"] = {k: case.flops / v / peak for k, v in medians.items()
                                   if k != "reference"}
    return result


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot: matplotlib is not installed; no chart written", file=sys.stderr)
        return
    rows = [r for r in results if "ratio" in r]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    ax.barh([r["name"] for r in rows][::-1], [r["ratio"] for r in rows][::-1], color="tab:blue")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("gradlite / PyTorch (time, or MB; < 1: gradlite better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"chart: {path}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch = import_torch(args)
    cfg = SimpleNamespace(quick=args.quick, torch=torch)
    repeats = args.repeat or (1 if args.quick else 15)
    warmup = 0 if args.quick else 2
    info = machine_info(torch, args.threads)
    info["numpy_imported_before_thread_pinning"] = _NUMPY_WAS_IMPORTED
    peak = gemm_peak_flops(512 if args.quick else 2048)
    print(f"{info['cpu']}, {info['logical_cores']} logical cores, {args.threads} threads; "
          f"float32 GEMM peak {peak / 1e9:.0f} GFLOP/s; "
          + (f"PyTorch {torch.__version__}" if torch else "PyTorch not installed/used: "
             "gradlite and the numpy reference only"), flush=True)
    results, wanted = [], args.filter.lower()
    start = time.perf_counter()
    for group, cases in GROUPS:
        for name, build in cases(cfg):
            if wanted and wanted not in f"{group}: {name}".lower():
                continue
            result = run_row(name, group, build(), repeats, warmup, peak)
            results.append(result)
            shown = ", ".join(f"{k} {fmt(v, result['unit'])}" for k, v in result["shown"].items())
            print(f"  {name}: {shown}", flush=True)
    print()
    print(table(results, torch is not None))
    if torch is None:
        print("\nPyTorch is not installed (or --no-torch): only gradlite and the reference.")
    print(f"\nmedians of {repeats} interleaved runs; ratio = gradlite time / PyTorch time "
          f"(MB for memory rows); % GEMM peak = FLOPs / time / {peak / 1e9:.0f} GFLOP/s. "
          f"{time.perf_counter() - start:.0f} s.")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as out:
        json.dump({"machine": info, "gemm_peak_flops": peak, "repeats": repeats,
                   "quick": args.quick, "filter": args.filter, "results": results}, out, indent=1)
    print(f"results: {args.json}")
    if args.table:
        with open(args.table, "w") as out:
            out.write(markdown_report(json.load(open(args.json))))
        print(f"table: {args.table}")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
