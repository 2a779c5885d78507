"""The benchmark suite: gradlite and PyTorch, each timed in processes of its own.

    python -m benchmarks [--quick] [--filter SUBSTR] [--rounds N] [--repeat N]
                         [--no-robustness] [--no-torch] [--json PATH] [--table PATH]
                         [--plot PATH]
    python -m benchmarks --mnist [--data-dir DIR] [--epochs 8]     (slow: full MNIST)
    gradlite bench ...        (the same, through the gradlite command)

Each library runs in its own processes, started alternately (gradlite, PyTorch, PyTorch,
gradlite, ...; ``--rounds`` of each), in the environment this command was started with
(numpy imported first, no thread variables added; PyTorch at its default thread count);
a row's figure is the median over processes of each process's median call. The numpy
reference is timed inside gradlite's processes (it has no thread pool of its own). An
untimed process with both libraries first checks that every row computes the same thing
in both. Then peak memory per process, and the robustness runs: the LeNet-5 step with
numpy or the library imported first, ``OMP_NUM_THREADS=1`` and ``=2``, and beside a
competing CPU-bound process. Prints markdown tables and writes a JSON file.
"""
import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from types import SimpleNamespace

from . import runner
from .report import markdown_report, memory_table, robustness_table, table

IN_CHECKOUT = (runner.ROOT / "pyproject.toml").is_file()
DEFAULT_JSON = (runner.ROOT / "benchmarks" / "results" / "latest.json" if IN_CHECKOUT
                else "gradlite-benchmarks.json")
ROBUSTNESS = [  # label, job changes, environment changes, competing process
    ("numpy imported first (default)", {}, {}, False),
    ("library imported first", {"import_order": "library-first"}, {}, False),
    ("OMP_NUM_THREADS=1", {}, {"OMP_NUM_THREADS": "1"}, False),
    ("OMP_NUM_THREADS=2", {}, {"OMP_NUM_THREADS": "2"}, False),
    ("beside a CPU-bound process", {}, {}, True),
]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one process and one call per row: a smoke test")
    parser.add_argument("--filter", default="",
                        help="only rows whose group or name contains this (case-insensitive)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="processes per library (default 5, --quick 1)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed calls per row and process (default 15, --quick 1; "
                        "the scalar rows do at most 7)")
    parser.add_argument("--no-robustness", action="store_true",
                        help="skip the robustness runs of the LeNet-5 step")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="where to write the results "
                        "(--mnist: mnist.json in the same folder)")
    parser.add_argument("--table", default=None,
                        help="also write the tables with their machine to this markdown file "
                        "(--mnist: append its table)")
    parser.add_argument("--plot", default=None, help="write a bar chart of the ratios (PNG)")
    parser.add_argument("--mnist", action="store_true",
                        help="instead: LeNet-5 trained on full MNIST, one epoch's wall time "
                        "and test accuracy after --epochs (slow; see benchmarks/mnist.py)")
    parser.add_argument("--data-dir", default=None,
                        help="--mnist: the folder with MNIST's IDX files "
                        "(default: ../shared/data/mnist, else data/mnist)")
    parser.add_argument("--epochs", type=int, default=8, help="--mnist: epochs (default 8)")
    return parser.parse_args(argv)


def describe_gradlite(info):
    """Which gradlite this run times, in one line; a warning if it is the slow source."""
    where = info["gradlite_path"]
    if info["compiled_kernels"]:
        origin = "a source checkout, kernels built in place" if IN_CHECKOUT else "installed"
        return f"timing gradlite {info['gradlite']} from {where} ({origin}, compiled kernels)"
    return (f"WARNING: timing the UNCOMPILED gradlite source tree at {where}: its conv/pool "
            "kernels are the slow numpy reference. Build them (`python setup.py build_ext "
            "--inplace`), or run `gradlite bench` outside the checkout to time the installed "
            "package.")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from .machine import gemm_peak_flops, machine_info
    info = machine_info()
    print(describe_gradlite(info), flush=True)
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    if args.mnist:
        from .mnist import compare
        return compare(args, info, with_torch)
    rounds = args.rounds or (1 if args.quick else 5)
    repeats = args.repeat or (1 if args.quick else 15)
    from .workloads import all_rows, model_specs
    cfg = SimpleNamespace(quick=args.quick, specs=model_specs())
    wanted = args.filter.lower()
    rows = [row for row in all_rows(cfg) if wanted in f"{row.group}: {row.name}".lower()]
    job = {"quick": args.quick, "rows": [row.name for row in rows], "repeats": repeats,
           "warmup": 0 if args.quick else 2, "specs": cfg.specs, "import_order": "numpy-first"}
    libraries = ["gradlite", "torch"] if with_torch else ["gradlite"]
    peak = gemm_peak_flops(512 if args.quick else 2048)
    print(f"{info['cpu']}, {info['logical_cores']} logical cores, float32 GEMM peak "
          f"{peak / 1e9:.0f} GFLOP/s; "
          + (f"PyTorch {info['torch']}" if with_torch else "without PyTorch")
          + f"; {rounds} process(es) per library, {repeats} timed call(s) per row", flush=True)
    start = time.perf_counter()

    runner.run_process(dict(job, library="check", torch=with_torch))
    print(f"  agreement checked: {len(rows)} rows", flush=True)
    processes = {lib: [] for lib in libraries}
    for lib in runner.alternating(rounds, libraries):
        processes[lib].append(runner.run_process(dict(job, library=lib)))
        print(f"  {lib} process {len(processes[lib])} done", flush=True)
    results = [summarise(row, processes, cfg, peak) for row in rows]
    memory = measure_memory(libraries, job, args.quick) if not wanted else {}
    robustness = ([] if args.no_robustness or wanted not in "robustness"
                  else measure_robustness(libraries, job, cfg, rounds))

    print()
    print(table(results, with_torch))
    if memory:
        print("\n" + memory_table(memory))
    if robustness:
        print("\n" + robustness_table(robustness, with_torch))
    elapsed = time.perf_counter() - start
    print(f"\nmedians over {rounds} process(es) per library of each process's median of "
          f"{repeats} call(s); ratio = gradlite time / PyTorch time. {elapsed:.0f} s.")
    data = {"machine": info, "gemm_peak_flops": peak, "rounds": rounds, "repeats": repeats,
            "quick": args.quick, "filter": args.filter, "results": results, "memory": memory,
            "robustness": robustness,
            "threads": {lib: [p["threads"] for p in ps] for lib, ps in processes.items()},
            "process_peak_mb": {lib: [p["peak_mb"] for p in ps] for lib, ps in processes.items()}}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as out:
        json.dump(data, out, indent=1)
    print(f"results: {args.json}")
    if args.table:
        with open(args.table, "w") as out:
            out.write(markdown_report(data))
        print(f"tables: {args.table}")
    if args.plot:
        plot(results, args.plot)
    return 0


def summarise(row, processes, cfg, peak):
    """A row's result record from the processes' timings."""
    seconds = {}
    for lib, results in processes.items():
        for contender, stats in runner.median_of_medians(results, row.name).items():
            seconds[contender] = stats
    per_item = {"ms": 1e3, "us/op": 1e6, "img/s": None}[row.unit]
    shown = {k: (per_item * s[0] / row.items if per_item else row.items / s[0])
             for k, s in seconds.items()}
    result = {"name": row.name, "group": row.group, "unit": row.unit, "items": row.items,
              "median_s": {k: s[0] for k, s in seconds.items()},
              "process_medians_min_max_s": {k: s[1:] for k, s in seconds.items()},
              "shown": shown}
    if "torch" in seconds and "gradlite" in seconds:
        result["ratio"] = seconds["gradlite"][0] / seconds["torch"][0]
    if row.flops is not None:
        flops = row.flops(cfg)
        result["peak_fraction"] = {k: flops / s[0] / peak for k, s in seconds.items()
                                   if k != "reference"}
    return result


def measure_memory(libraries, job, quick):
    """Peak resident memory of LeNet-5 training steps, one fresh process per library."""
    memory = {}
    for lib in libraries:
        r = runner.run_process(dict(job, library=f"memory-{lib}", steps=2 if quick else 20))
        memory[lib] = {"setup_mb": r["setup_mb"], "peak_mb": r["peak_mb"],
                       "growth_mb": r["peak_mb"] - r["setup_mb"]}
    return memory


def measure_robustness(libraries, job, cfg, rounds):
    """The LeNet-5 training step per library and condition of ``ROBUSTNESS``, processes
    alternating over libraries and conditions."""
    from .workloads import lenet_step_name
    name = lenet_step_name(cfg)
    runs = [(lib, condition) for condition in ROBUSTNESS for lib in libraries]
    results = {}
    for lib, (label, job_changes, env, competing) in runner.alternating(rounds, runs):
        one = dict(job, library=lib, rows=[name], **job_changes)
        with runner.competing_process() if competing else contextlib.nullcontext():
            results.setdefault((lib, label), []).append(runner.run_process(one, env))
    print(f"  robustness runs done ({len(results)} library x condition)", flush=True)
    records = []
    for (lib, label), processes in results.items():
        seconds, low, high = runner.median_of_medians(processes, name)[lib]
        records.append({"library": lib, "condition": label, "median_s": seconds,
                        "process_medians_min_max_s": [low, high],
                        "threads": [p["threads"] for p in processes]})
    return records


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
    ax.set_xlabel("gradlite / PyTorch (time; < 1: gradlite faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"chart: {path}")


if __name__ == "__main__":
    sys.exit(main())
