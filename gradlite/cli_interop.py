"""The ``gradlite`` command's ways out: ``gradlite export`` and ``gradlite train --distributed``.

    gradlite export runs/latest/model.npz model.onnx     # ONNX, dynamic batch axis
    mpiexec -n 2 gradlite train --distributed             # data-parallel over MPI

``cli.py`` registers them (``add_arguments``, ``cmd_export``, ``distribute``).
"""
import atexit
import os
import shutil
import sys
import tempfile

import numpy as np

from . import distributed as dist
from .data import DataLoader, Subset
from .data.distributed import DistributedSampler
from .nn.parallel import DistributedDataParallel

#: The input the command-line models take: one 28x28 grayscale image per row.
IMAGE_SHAPE = (1, 28, 28)


def add_train_arguments(train_parser):
    """``--distributed`` for ``gradlite train``."""
    train_parser.add_argument(
        "--distributed", action="store_true",
        help="data-parallel training over MPI: run as `mpiexec -n N gradlite train "
             "--distributed`; --batch-size is per process")


def add_export_arguments(export):
    """The arguments of ``gradlite export``."""
    export.add_argument("checkpoint", help="model.npz written by gradlite train")
    export.add_argument("output", help="the .onnx file to write")
    export.add_argument("--opset", type=int, default=None,
                        help="ONNX opset version (default: gradlite.onnx's, 17)")


def cmd_export(args):
    """``gradlite export CHECKPOINT OUT.onnx``: the model with a dynamic batch axis,
    input ``input`` (N, 1, 28, 28) normalised as in training, output ``logits``."""
    from .cli import CLIError, load_checkpoint
    from .onnx import export
    from .tensor import Tensor
    model, meta = load_checkpoint(args.checkpoint)
    batch = {0: "batch"}
    try:
        export(model, Tensor(np.zeros((1, *IMAGE_SHAPE), np.float32)), args.output, input_names=["input"],
               output_names=["logits"], dynamic_axes={"input": batch, "logits": batch},
               opset_version=args.opset)
    except (ImportError, OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    print(f"wrote {args.output}: {meta['model']} ({meta['data']}), input 'input' "
          f"(batch, {', '.join(map(str, IMAGE_SHAPE))}) normalised with mean "
          f"{meta['normalize'][0]} and std {meta['normalize'][1]}, output 'logits' "
          f"(batch, {meta['num_classes']})")
    return 0


class _EpochLoader:
    """This rank's batches: each pass over it is the next epoch of ``sampler``."""

    def __init__(self, dataset, sampler, batch_size):
        self.dataset, self.sampler, self.batch_size = dataset, sampler, batch_size
        self.epoch = 0

    def __len__(self):
        return -(-len(self.sampler) // self.batch_size)

    def __iter__(self):
        self.sampler.set_epoch(self.epoch)
        self.epoch += 1
        return iter(DataLoader(Subset(self.dataset, list(self.sampler)), self.batch_size))


def distribute(args, model, train_set):
    """Join the MPI job and make ``model`` train data-parallel; returns this rank's
    training loader (a 1/N share of ``train_set``, reshuffled every epoch).

    DistributedDataParallel broadcasts rank 0's weights and hooks the parameters so that
    backward averages the gradients; training goes on with ``model`` itself, so the
    checkpoint keeps the model's own state_dict keys. Only rank 0 prints and writes
    files; the other ranks write theirs into a temporary directory, removed at exit.
    """
    from .cli import CLIError
    if not dist.is_available():
        raise CLIError('--distributed needs mpi4py and an MPI library: pip install "gradlite[mpi]"')
    dist.init_process_group("mpi")
    DistributedDataParallel(model)       # its hooks on the parameters keep it alive
    sampler = DistributedSampler(train_set, seed=args.seed)
    if dist.get_rank() != 0:
        args.quiet = True
        args.out = tempfile.mkdtemp(prefix=f"gradlite-rank{dist.get_rank()}-")
        atexit.register(shutil.rmtree, args.out, ignore_errors=True)
        sys.stdout = open(os.devnull, "w")
    else:
        print(f"data-parallel over {dist.get_world_size()} processes (MPI), "
              f"{args.batch_size} images per process and step")
    return _EpochLoader(train_set, sampler, args.batch_size)
