"""Sequence-model benchmark rows (issue 19): one training step of a character-level
LSTM and of a small transformer encoder, the same model in gradlite and in PyTorch.

    python -m benchmarks.workloads_seq --lib gradlite|torch [--quick] [--repeat N]
                                       [--threads N] [--json PATH]
    python -m benchmarks.workloads_seq --compare [--rounds R] [--quick]
    python -m benchmarks.workloads_seq --check

``--lib`` times one library in this process and prints each row's median step time;
``--compare`` runs ``--lib gradlite`` and ``--lib torch`` in fresh processes, alternating
them ``--rounds`` times, and prints the medians and ratios (each library in its own
process, as a user runs it); ``--check`` runs one step of each model in both libraries
from the same weights and data, and fails unless the losses and gradients agree.

A harness calls ``WORKLOADS[name](lib, quick)``: it returns a zero-argument callable
that does one training step (zero_grad, forward, loss, backward, Adam step).
"""
import os
import sys

if __name__ == "__main__" and "--threads" in sys.argv[:-1]:  # pin before numpy/torch start
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402

import numpy as np  # noqa: E402

#: The sizes of the two rows (``quick`` shrinks them for a smoke test).
CHAR_LSTM = dict(vocab=65, embedding=64, hidden=256, seq=64, batch=32)
TRANSFORMER = dict(vocab=32, d_model=128, heads=4, feedforward=512, layers=2, seq=64, batch=32,
                   dropout=0.1)
QUICK = dict(seq=8, batch=4)


def _library(lib):
    """(top-level module, nn, F, optim) of 'gradlite' or 'torch'."""
    if lib == "gradlite":
        import gradlite as top
        import gradlite.nn.functional as F
        from gradlite import nn, optim
    elif lib == "torch":
        import torch as top
        import torch.nn.functional as F
        from torch import nn, optim
    else:
        raise ValueError(f"workloads_seq: lib must be 'gradlite' or 'torch', got {lib!r}")
    return top, nn, F, optim


def _sizes(sizes, quick):
    return {**sizes, **QUICK} if quick else dict(sizes)


def _batch(top, sizes, seed):
    """Random token ids (batch, seq) and next-token targets, the same in both libraries."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, sizes["vocab"], (sizes["batch"], sizes["seq"] + 1))
    return top.tensor(tokens[:, :-1]), top.tensor(tokens[:, 1:].reshape(-1))


def char_lstm_model(lib, quick=False):
    """Embedding(vocab, 64) -> LSTM(64, 256, batch_first) -> Linear(256, vocab)."""
    top, nn, F, optim = _library(lib)
    s = _sizes(CHAR_LSTM, quick)

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(s["vocab"], s["embedding"])
            self.lstm = nn.LSTM(s["embedding"], s["hidden"], batch_first=True)
            self.head = nn.Linear(s["hidden"], s["vocab"])

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out).reshape(-1, s["vocab"])

    return CharLSTM(), s


def transformer_model(lib, quick=False):
    """Embedding(vocab, 128) -> 2 x TransformerEncoderLayer(128, 4 heads, ff 512, dropout 0.1,
    batch_first) -> Linear(128, vocab)."""
    top, nn, F, optim = _library(lib)
    s = _sizes(TRANSFORMER, quick)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(s["vocab"], s["d_model"])
            layer = nn.TransformerEncoderLayer(s["d_model"], s["heads"], s["feedforward"],
                                               s["dropout"], batch_first=True)
            kwargs = {"enable_nested_tensor": False} if lib == "torch" else {}
            self.encoder = nn.TransformerEncoder(layer, s["layers"], **kwargs)
            self.head = nn.Linear(s["d_model"], s["vocab"])

        def forward(self, tokens):
            return self.head(self.encoder(self.embed(tokens))).reshape(-1, s["vocab"])

    return Encoder(), s


MODELS = {"char-LSTM step": char_lstm_model, "transformer encoder step": transformer_model}


def training_step(lib, model, sizes, seed=0):
    """A zero-argument callable: one Adam step of ``model`` on a fixed random batch."""
    top, nn, F, optim = _library(lib)
    tokens, targets = _batch(top, sizes, seed)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens), targets)
        loss.backward()
        optimizer.step()
        return loss
    return step


def _workload(build):
    def make(lib, quick=False):
        model, sizes = build(lib, quick)
        return training_step(lib, model, sizes)
    make.__doc__ = f"One training step of: {build.__doc__}"
    return make


WORKLOADS = {name: _workload(build) for name, build in MODELS.items()}


def time_library(lib, quick=False, repeat=15, warmup=2):
    """name -> median seconds of one step, for every row, in this process."""
    import gc
    import time
    if lib == "torch" and "OMP_NUM_THREADS" in os.environ:  # --threads
        import torch
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    results = {}
    for name, make in WORKLOADS.items():
        step = make(lib, quick)
        for _ in range(warmup):
            step()
        times = []
        for _ in range(repeat):
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
            gc.enable()
        results[name] = statistics.median(times)
    return results


def check(quick=True, rtol=1e-4, atol=1e-5):
    """One step of each model in both libraries from PyTorch's weights: the losses and
    every parameter gradient must agree (eval mode: dropout off). Raises AssertionError
    if not. The weights are drawn from a fixed seed: in float32 a ReLU unit whose input
    is within rounding of 0 can switch off in one library and not the other, changing
    that unit's gradient row, and some random draws have such a unit."""
    import torch
    torch.manual_seed(0)
    for name, build in MODELS.items():
        theirs, sizes = build("torch", quick)
        ours, _ = build("gradlite", quick)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        theirs.eval()
        ours.eval()
        losses = []
        for lib, model in (("gradlite", ours), ("torch", theirs)):
            top, nn, F, optim = _library(lib)
            tokens, targets = _batch(top, sizes, 0)
            loss = F.cross_entropy(model(tokens), targets)
            loss.backward()
            losses.append(float(loss.item()))
        assert np.isclose(losses[0], losses[1], rtol=rtol), f"{name}: losses {losses}"
        mine = dict(ours.named_parameters())
        for key, p in theirs.named_parameters():
            np.testing.assert_allclose(mine[key].grad.data, p.grad.numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"{name}: {key}")
    return True


def compare(rounds=3, quick=False, repeat=15, threads=None):
    """Alternate fresh ``--lib gradlite`` and ``--lib torch`` processes; name -> ratio."""
    runs = {"gradlite": [], "torch": []}
    for r in range(rounds):
        for lib in (("gradlite", "torch") if r % 2 == 0 else ("torch", "gradlite")):
            command = [sys.executable, "-m", "benchmarks.workloads_seq", "--lib", lib, "--json",
                       "-", "--repeat", str(repeat)]
            command += ["--threads", str(threads)] if threads else []
            out = subprocess.run(command + (["--quick"] if quick else []), check=True,
                                 capture_output=True, text=True).stdout
            runs[lib].append(json.loads(out.strip().splitlines()[-1]))
    ratios = {}
    for name in WORKLOADS:
        ours = statistics.median(run[name] for run in runs["gradlite"])
        theirs = statistics.median(run[name] for run in runs["torch"])
        ratios[name] = ours / theirs
        print(f"{name:26s} gradlite {ours * 1e3:8.2f} ms   torch {theirs * 1e3:8.2f} ms   "
              f"ratio {ours / theirs:5.2f}   (medians of {rounds} processes each)")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_seq",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--lib", choices=("gradlite", "torch"))
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="pin both libraries to N threads (default: nothing set, each "
                             "library's own default, as in a user's script)")
    parser.add_argument("--json", default=None, help="'-' prints the medians as JSON")
    args = parser.parse_args(argv)
    if args.check:
        check(args.quick)
        print("gradlite and torch agree on both models' loss and gradients")
    elif args.compare:
        compare(args.rounds, args.quick, args.repeat, args.threads)
    elif args.lib:
        results = time_library(args.lib, args.quick, args.repeat)
        if args.json == "-":
            print(json.dumps(results))
        else:
            for name, seconds in results.items():
                print(f"{args.lib:8s} {name:26s} {seconds * 1e3:8.2f} ms (median of "
                      f"{args.repeat})")
    else:
        parser.error("give --lib, --compare or --check")


if __name__ == "__main__":
    main()
