"""gradlite.distributed, DistributedDataParallel and DistributedSampler.

The MPI tests start 2 ranks with ``mpiexec`` (from the mpich wheel, found next to the
Python running the tests, or on PATH) running this very file as a script
(``python test_distributed.py MODE OUT_DIR``, see ``worker`` at the bottom); they skip
when mpi4py or mpiexec is missing.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlite
from gradlite import nn, optim
from gradlite.data import TensorDataset
from gradlite.data.distributed import DistributedSampler

STEPS, PER_RANK_BATCH, RANKS = 20, 4, 2
TIMEOUT = 180


# ----------------------------------------------------------------- the sampler

@pytest.mark.parametrize("size,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                     (2, 3, False), (7, 2, True), (1, 4, False)])
def test_sampler_pads_or_drops_like_pytorch(size, replicas, drop_last):
    shards = [list(DistributedSampler(range(size), replicas, r, shuffle=False, drop_last=drop_last))
              for r in range(replicas)]
    order = list(range(size))
    total = (size // replicas if drop_last else -(-size // replicas)) * replicas
    padded = (order * (total // size + 1))[:total]          # PyTorch's padding: wrap around
    assert shards == [padded[r:total:replicas] for r in range(replicas)]
    assert all(len(s) == len(DistributedSampler(range(size), replicas, 0, drop_last=drop_last))
               for s in shards)


def test_sampler_matches_torch_without_shuffle():
    torch_data = pytest.importorskip("torch.utils.data")
    for size, replicas, drop_last in [(10, 3, False), (10, 3, True), (11, 4, False)]:
        for rank in range(replicas):
            ours = DistributedSampler(range(size), replicas, rank, shuffle=False,
                                      drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(size), replicas, rank, shuffle=False,
                                                   drop_last=drop_last)
            assert list(ours) == list(theirs)


def test_sampler_shuffles_per_epoch_and_ranks_partition_the_data():
    samplers = [DistributedSampler(range(12), 3, r, seed=5) for r in range(3)]
    first = [list(s) for s in samplers]
    assert sorted(sum(first, [])) == list(range(12))
    for s in samplers:
        s.set_epoch(1)
    second = [list(s) for s in samplers]
    assert sorted(sum(second, [])) == list(range(12)) and second != first
    assert first == [list(DistributedSampler(range(12), 3, r, seed=5)) for r in range(3)]


def test_sampler_rejects_a_bad_rank():
    with pytest.raises(ValueError, match=r"invalid rank 2.*\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_without_a_process_group_the_calls_say_so():
    from gradlite import distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="get_rank: default process group has not been"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="has not been initialized"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init_process_group("nccl")


def test_train_distributed_without_mpi_says_what_to_install(tmp_path, monkeypatch, capsys):
    from gradlite import distributed as dist
    from gradlite.cli import main
    monkeypatch.setattr(dist, "is_available", lambda: False)
    assert main(["train", "--distributed", "--data", "xo", "--out", str(tmp_path)]) == 1
    assert 'pip install "gradlite[mpi]"' in capsys.readouterr().err


# ----------------------------------------------------------------- 2 ranks under mpiexec

def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 3))


def training_data():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((STEPS * PER_RANK_BATCH * RANKS, 1, 8, 8)).astype(np.float32)
    return TensorDataset(images, rng.integers(0, 3, len(images)))


def train(model, sampler, batch_size, steps=STEPS):
    """``steps`` SGD steps over the batches that ``sampler`` deals this rank."""
    data = training_data()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    indices = np.array(list(sampler))
    for step in range(steps):
        images, labels = data[indices[step * batch_size:(step + 1) * batch_size]]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(gradlite.tensor(images)), gradlite.tensor(labels))
        loss.backward()
        optimizer.step()
    return model


def mpiexec():
    """The mpiexec of the mpich wheel (next to this Python) or the one on PATH."""
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.exists() else shutil.which("mpiexec")


def run_ranks(*arguments, ranks=RANKS):
    """``mpiexec -n ranks python arguments...``, the ranks importing this gradlite."""
    pytest.importorskip("mpi4py")
    launcher = mpiexec()
    if launcher is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    env = dict(os.environ, PYTHONPATH=str(Path(gradlite.__file__).parents[1]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        return subprocess.run([launcher, "-n", str(ranks), sys.executable, *map(str, arguments)],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as hang:
        pytest.fail(f"mpiexec {arguments} hung for {TIMEOUT} s: {hang.stderr}")


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    result = run_ranks(__file__, "ddp", out)
    assert result.returncode == 0, result.stderr
    return out


def test_collectives(ddp_run):
    for rank in range(RANKS):
        seen = json.loads((ddp_run / f"collectives{rank}.json").read_text())
        assert seen == {"rank": rank, "world_size": 2, "sum": [1.0, 4.0], "max": [1.0, 3.0],
                        "avg": [0.5, 2.0], "broadcast": [1.0, 2.0], "async_sum": 3.0}


def test_ddp_equals_one_process_at_the_doubled_batch(ddp_run):
    gradlite.manual_seed(0)           # rank 0's seed: DDP broadcasts its initial weights
    reference = train(small_cnn(), DistributedSampler(training_data(), 1, 0), 2 * PER_RANK_BATCH)
    expected = {k: v.data for k, v in reference.state_dict().items()}
    ranks = [dict(np.load(ddp_run / f"weights{r}.npz")) for r in range(RANKS)]
    assert set(ranks[0]) == {"module." + k for k in expected}
    for key, value in expected.items():
        np.testing.assert_array_equal(ranks[0]["module." + key], ranks[1]["module." + key])
        np.testing.assert_allclose(ranks[0]["module." + key], value, rtol=0, atol=1e-5)
    assert not np.allclose(ranks[0]["module.0.weight"], small_cnn().state_dict()["0.weight"].data)


def test_no_sync_accumulates_locally_then_averages_the_sum(ddp_run):
    runs = [np.load(ddp_run / f"no_sync{r}.npz") for r in range(RANKS)]
    assert not np.allclose(runs[0]["local"], runs[1]["local"])
    expected = sum(2 * run["local"] for run in runs) / RANKS
    for run in runs:
        np.testing.assert_allclose(run["synced"], expected, rtol=1e-6)


def test_one_rank_raising_ends_the_job_instead_of_hanging(tmp_path):
    result = run_ranks(__file__, "raise", tmp_path)
    assert result.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in result.stderr


def test_gradlite_train_distributed(tmp_path, capsys):
    from gradlite.cli import main
    out = tmp_path / "run"
    result = run_ranks("-m", "gradlite", "train", "--distributed", "--data", "xo", "--model", "mlp",
                       "--epochs", "1", "--batch-size", "32", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("data-parallel over 2 processes") == 1     # rank 0 only
    assert main(["evaluate", str(out / "model.npz")]) == 0
    assert "test accuracy" in capsys.readouterr().out


# ----------------------------------------------------------------- the ranks' side

def worker(mode, out):
    from gradlite import distributed as dist
    from gradlite.nn.parallel import DistributedDataParallel
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    if mode == "raise":
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.barrier()                          # would wait forever without the abort
        return
    x = gradlite.tensor([1.0, 2.0]) * rank      # rank 0: [0, 0], rank 1: [1, 2]
    results = {"rank": rank, "world_size": dist.get_world_size()}
    for name, op in (("sum", dist.ReduceOp.SUM), ("max", dist.ReduceOp.MAX),
                     ("avg", dist.ReduceOp.AVG)):
        t = x + gradlite.tensor([0.0, 1.0])
        dist.all_reduce(t, op=op)
        results[name] = t.tolist()
    b = x.clone()
    dist.broadcast(b, src=1)
    results["broadcast"] = b.tolist()
    a = gradlite.tensor(float(rank + 1))
    work = dist.all_reduce(a, async_op=True)
    work.wait()
    results["async_sum"] = a.item()
    (out / f"collectives{rank}.json").write_text(json.dumps(results))

    gradlite.manual_seed(rank)                  # different starting weights on each rank
    model = DistributedDataParallel(small_cnn(), bucket_cap_mb=0.0005)   # several buckets
    train(model, DistributedSampler(training_data()), PER_RANK_BATCH)
    np.savez(out / f"weights{rank}.npz", **{k: v.data for k, v in model.state_dict().items()})

    model.zero_grad()
    x = gradlite.tensor(np.random.default_rng(rank).standard_normal((2, 1, 8, 8)).astype("f4"))
    with model.no_sync():
        model(x).sum().backward()               # kept local: differs between the ranks
    local = model.module[-1].weight.grad.data.copy()
    model(x).sum().backward()                   # averages the accumulated gradients
    np.savez(out / f"no_sync{rank}.npz", local=local, synced=model.module[-1].weight.grad.data)
    dist.destroy_process_group()


if __name__ == "__main__":
    worker(sys.argv[1], Path(sys.argv[2]))
