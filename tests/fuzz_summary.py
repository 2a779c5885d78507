"""Counts for the bad-input fuzzing of tests/test_bad_input.py.

Run from a checkout's root (the gradlite found there is the one measured):

    python tests/fuzz_summary.py [--draws N]

It calls every case of the table, every (slot, value) of the sweep and N values drawn
by the hypothesis strategy, and prints: bad inputs tried, refused with an error naming
the function (and the argument's words, for the table), accepted, refused without
naming the function, crashes (an exception outside TypeError/ValueError/RuntimeError/
IndexError); with PyTorch installed, also how its verdicts compare.
"""
import argparse
import collections
import os
import sys
import warnings

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), os.getcwd()]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import test_bad_input as fuzz  # noqa: E402


def table_outcomes(L):
    """'named' when the call raises the expected type with every expected word."""
    counts = collections.Counter()
    for name, fn, expected, words, _ in fuzz.CASES:
        error = fuzz.run(fn, L)
        if error is None:
            counts["accepted"] += 1
        elif not isinstance(error, fuzz.ALLOWED):
            counts["crash"] += 1
        elif type(error) is expected and all(w in str(error) for w in words):
            counts["named"] += 1
        else:
            counts["unnamed"] += 1
    return counts


def drawn_outcomes(L, draws):
    counts = collections.Counter()

    @settings(max_examples=draws, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(slot=st.integers(0, len(fuzz.SWEEP) - 1), value=fuzz.bad_values)
    def draw(slot, value):
        name, call = fuzz.SWEEP[slot]
        counts[fuzz.outcome(name, call, L, value)] += 1

    draw()
    return counts


def torch_comparison(L, T):
    """Over the sweep: of the calls PyTorch refuses, how many gradlite refuses, and with
    which exception type (the same, ValueError for RuntimeError, other)."""
    counts = collections.Counter()
    for name, call in fuzz.SWEEP:
        for value in fuzz.BAD_VALUES:
            theirs = fuzz.run(lambda T: call(T, value), T)
            ours = fuzz.run(lambda L: call(L, value), L)
            if theirs is None:
                counts["torch accepts"] += 1
                counts["torch accepts, gradlite refuses"] += ours is not None
                continue
            counts["torch refuses"] += 1
            if ours is None:
                counts["torch refuses, gradlite accepts"] += 1
            elif type(ours) is type(theirs):
                counts["same exception type"] += 1
            elif fuzz.same_kind(type(ours), type(theirs)):
                counts["ValueError for torch's RuntimeError"] += 1
            else:
                counts["other exception type"] += 1
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=500, help="hypothesis draws (500)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    L = fuzz.namespace("gradlite")
    print(f"gradlite from {os.path.dirname(L.lib.__file__)}")
    parts = {"table": table_outcomes(L),
             "sweep": collections.Counter(fuzz.sweep(L).values()),
             f"drawn ({args.draws})": drawn_outcomes(L, args.draws)}
    total = sum(parts.values(), collections.Counter())
    kinds = ("named", "accepted", "unnamed", "crash")
    print(f"{'':14s}" + "".join(f"{k:>10s}" for k in ("tried",) + kinds))
    for label, counts in list(parts.items()) + [("total", total)]:
        print(f"{label:14s}{sum(counts.values()):10d}" + "".join(f"{counts[k]:10d}" for k in kinds))
    try:
        T = fuzz.namespace("torch")
    except BaseException:  # pytest.importorskip raises a Skipped exception
        print("PyTorch not installed: no comparison")
        return
    print("sweep against PyTorch:")
    for key, count in sorted(torch_comparison(L, T).items()):
        print(f"  {key}: {count}")


if __name__ == "__main__":
    main()
