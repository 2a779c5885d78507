"""Timing helpers shared by the benchmarks.

``interleaved`` runs several callables round-robin in one process (each round in a
rotated order), so slow drift of the machine (other processes, frequency changes,
caches) hits every contender alike; report medians, not means.
"""
import gc
import statistics
import time


def interleaved(fns, repeats=15, warmup=2):
    """Time each zero-argument callable in ``fns`` (name -> callable) ``repeats`` times.

    Every callable first runs ``warmup`` times untimed. Returns name -> list of seconds.
    The garbage collector is paused around each timed call.
    """
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            try:
                fns[name]()
            finally:
                elapsed = time.perf_counter() - start
                gc.enable()
            times[name].append(elapsed)
    return times


def medians(times):
    """name -> median seconds."""
    return {name: statistics.median(values) for name, values in times.items()}


def markdown_table(header, rows):
    """A markdown table from a header list and rows of already-formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
