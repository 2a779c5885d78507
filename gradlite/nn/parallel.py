"""DistributedDataParallel: one model, copied on every rank, trained on different data.

Every rank runs the same model on its own slice of the batch (``data.DistributedSampler``).
The gradient of the mean loss over the whole batch is the mean of the ranks' gradients,

    dL/dw = 1/N sum_r dL_r/dw     (N ranks, equal per-rank batches),

so after ``loss.backward()`` every rank holds that average and ``optimizer.step()`` keeps
the copies identical. Parameters start equal: rank 0's are broadcast when the model is
wrapped, and its buffers (BatchNorm's running statistics) before each forward that
records a graph.

The averaging overlaps backward. Parameters are grouped, last layer first, into buckets of
about ``bucket_cap_mb``; a hook on each parameter copies its gradient into its bucket when
backward computes it, and a full bucket starts a non-blocking all-reduce at once, while
backward goes on through the earlier layers. The last gradient to arrive waits for every
bucket and hands out the averages.
"""
import contextlib

import numpy as np

from .. import distributed as dist
from ..autograd import is_grad_enabled, no_grad
from ..tensor import Tensor
from .module import Module


class _Bucket:
    """Consecutive parameters of one dtype sharing one flat buffer."""

    def __init__(self, params):
        self.params = params
        self.offsets = np.cumsum([0] + [p.data.size for p in params])
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=params[0].data.dtype)
        self.arrived = 0
        self.work = None

    def slice(self, i):
        return self.buffer[self.offsets[i]:self.offsets[i + 1]]


def _make_buckets(params, cap_bytes):
    buckets, current, size = [], [], 0
    for p in params:
        if current and (size >= cap_bytes or p.data.dtype != current[0].data.dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(p)
        size += p.data.nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


class DistributedDataParallel(Module):
    """Wrap ``module`` so that backward averages its gradients over all ranks.

    ``DistributedDataParallel(module, bucket_cap_mb=25, broadcast_buffers=True)`` (torch's
    signature; ``device_ids`` and the other GPU arguments are accepted and unused).
    The wrapped model is ``.module``; the state_dict keys gain the prefix ``module.``.
    Every parameter that requires grad must take part in the loss of every step.
    ``with ddp.no_sync():`` accumulates gradients locally; the next backward outside it
    averages the accumulated sum.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, **kwargs):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, "
                            f"got {type(module).__name__}")
        if find_unused_parameters:
            raise ValueError("DistributedDataParallel: find_unused_parameters=True is not "
                             "supported; every parameter must take part in the loss")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.world_size = dist.get_world_size()
        with no_grad():
            for tensor in (*module.parameters(), *module.buffers()):
                dist.broadcast(tensor, 0)
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = _make_buckets(reversed(params), bucket_cap_mb * 2 ** 20)
        self._expected, self._arrived, self._next_bucket = len(params), 0, 0
        self._sync = True
        for bucket in self._buckets:
            for i, p in enumerate(bucket.params):
                p.register_hook(self._gradient_hook(p, bucket, i))

    def forward(self, *inputs, **kwargs):
        if self._arrived:
            raise RuntimeError(
                f"DistributedDataParallel: the previous backward produced gradients for only "
                f"{self._arrived} of the {self._expected} parameters; every parameter that "
                "requires grad must take part in the loss (find_unused_parameters is not "
                "supported)")
        if self.broadcast_buffers and is_grad_enabled():      # training, as torch
            for buffer in self.module.buffers():
                dist.broadcast(buffer, 0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Context manager: backward inside it keeps its gradients local."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    # ------------------------------------------------------------------ the reduction
    def _gradient_hook(self, param, bucket, index):
        def hook(grad):
            if not self._sync:
                return None
            total = grad.data if param.grad is None else param.grad.data + grad.data
            bucket.slice(index)[...] = total.ravel()
            bucket.arrived += 1
            self._arrived += 1
            self._start_full_buckets()
            if self._arrived < self._expected:
                return None
            self._finish()
            param.grad = None          # accumulation then leaves exactly the average
            return self._average(bucket, index, param)
        return hook

    def _start_full_buckets(self):
        """Start the all-reduce of every full bucket, in bucket order (every rank must
        start the same collectives in the same order), and let MPI progress the others."""
        while self._next_bucket < len(self._buckets):
            bucket = self._buckets[self._next_bucket]
            if bucket.arrived < len(bucket.params):
                break
            bucket.work = dist.all_reduce(Tensor(bucket.buffer), async_op=True)
            self._next_bucket += 1
        for bucket in self._buckets[:self._next_bucket]:
            bucket.work.is_completed()

    def _finish(self):
        """Wait for every bucket, divide by the world size and set each ``.grad``."""
        for bucket in self._buckets:
            bucket.work.wait()
            bucket.buffer /= self.world_size
            bucket.arrived, bucket.work = 0, None
        self._arrived = self._next_bucket = 0
        for bucket in self._buckets:
            for i, p in enumerate(bucket.params):
                p.grad = self._average(bucket, i, p)

    @staticmethod
    def _average(bucket, index, param):
        return Tensor(bucket.slice(index).reshape(param.shape).copy())
