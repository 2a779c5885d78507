"""Data-parallel training throughput: 1 process against N processes over MPI.

    python benchmarks/bench_distributed.py [--model lenet] [--batch-size 64] [--steps 30]

Runs LeNet-5 (or another ``gradlite.models`` model) training steps on random 28x28 images
under ``mpiexec -n 1`` with one thread and with all the machine's cores, then ``mpiexec -n N``
(default 2) with cores / N threads each, the per-process batch fixed, and prints images per
second for each, the ratios against one process with one thread
(``bucket_cap_mb`` small: the gradients of the last layers are averaged while backward
goes on; large: one all-reduce after backward). Needs ``pip install "gradlite[mpi]"``.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def rank_main(args):
    """One rank: ``args.steps`` timed SGD steps after ``args.warmup`` untimed ones."""
    import gradlite
    from gradlite import distributed as dist
    from gradlite import models, nn, optim
    from gradlite.nn.parallel import DistributedDataParallel
    dist.init_process_group("mpi")
    gradlite.manual_seed(0)
    model = DistributedDataParallel(models.MODELS[args.model](), bucket_cap_mb=args.bucket_cap_mb)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(dist.get_rank())
    images = gradlite.tensor(rng.standard_normal((args.batch_size, 1, 28, 28), dtype=np.float32))
    labels = gradlite.tensor(rng.integers(0, 10, args.batch_size))
    loss_fn = nn.CrossEntropyLoss()
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            dist.barrier()
            start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()
    dist.barrier()
    seconds = time.perf_counter() - start
    if dist.get_rank() == 0:
        size = dist.get_world_size()
        print(f"{size},{args.bucket_cap_mb},{size * args.batch_size * args.steps / seconds:.1f}")
    dist.destroy_process_group()


def mpiexec():
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.exists() else shutil.which("mpiexec")


def launch(args, ranks, threads, bucket_cap_mb):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    command = [mpiexec(), "-n", str(ranks), sys.executable, __file__, "--rank-main",
               "--model", args.model, "--batch-size", str(args.batch_size),
               "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--bucket-cap-mb", str(bucket_cap_mb)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode:
        raise SystemExit(f"mpiexec failed:\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1].split(",")[2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet")
    parser.add_argument("--batch-size", type=int, default=64, help="images per process and step")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--bucket-cap-mb", type=float, default=25.0)
    parser.add_argument("--rank-main", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rank_main:
        return rank_main(args)
    if mpiexec() is None:
        raise SystemExit('mpiexec not found: pip install "gradlite[mpi]"')
    cores = os.cpu_count() or 1
    threads = max(1, cores // args.ranks)
    print(f"{args.model}, {args.batch_size} images per process and step, {args.steps} steps, "
          f"{cores} cores")
    print(f"{'processes':>9} {'threads each':>12} {'bucket MB':>9} {'images/s':>9}")
    single = launch(args, 1, 1, 25.0)
    print(f"{1:>9} {1:>12} {'-':>9} {single:>9.0f}")
    if cores > 1:
        rate = launch(args, 1, cores, 25.0)
        print(f"{1:>9} {cores:>12} {'-':>9} {rate:>9.0f}   ({rate / single:.2f}x)")
    for cap in (0.05, 25.0):
        rate = launch(args, args.ranks, threads, cap)
        print(f"{args.ranks:>9} {threads:>12} {cap:>9g} {rate:>9.0f}   ({rate / single:.2f}x)")


if __name__ == "__main__":
    main()
