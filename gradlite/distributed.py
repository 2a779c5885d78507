"""Several processes training one model: ``torch.distributed``'s names, over MPI.

Launch N copies of a script with ``mpiexec -n N python train.py``; each calls
``init_process_group("mpi")`` and learns its ``get_rank()`` (0 ... N-1) and
``get_world_size()`` (N). The collectives work in place on a Tensor's array:

- ``all_reduce(t)``: every rank's ``t`` becomes the sum (or min, max, product,
  average) of all ranks' ``t``;
- ``broadcast(t, src)``: every rank's ``t`` becomes rank ``src``'s ``t``;
- ``barrier()``: wait until every rank has arrived.

``all_reduce`` and ``broadcast`` take ``async_op=True`` and then return a ``Work``
whose ``wait()`` finishes the operation (MPI's non-blocking Iallreduce / Ibcast), so a
caller can compute while the message travels: ``nn.parallel.DistributedDataParallel``
uses this to average gradients during backward.

Built on mpi4py (``pip install "gradlite[mpi]"`` brings mpi4py and MPICH). After
``init_process_group``, an exception that escapes on any rank aborts the whole job
(``MPI_Abort``), so the other ranks do not wait forever for a partner that died.
"""
import sys
import time

import numpy as np

__all__ = ["ReduceOp", "Work", "is_available", "is_initialized", "init_process_group",
           "destroy_process_group", "get_rank", "get_world_size", "all_reduce", "broadcast",
           "barrier"]


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values."""
    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"     # SUM, then divided by the world size


class _Group:
    """The default process group: a private copy of MPI's world communicator."""
    comm = None
    previous_excepthook = None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("gradlite.distributed needs mpi4py and an MPI library: "
                           'pip install "gradlite[mpi]"') from None
    return MPI


def is_available():
    """True when mpi4py (and so the "mpi" backend) can be imported."""
    try:
        _mpi()
    except RuntimeError:
        return False
    return True


def is_initialized():
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _Group.comm is not None


def init_process_group(backend="mpi", init_method=None, world_size=-1, rank=-1, **kwargs):
    """Join the job started by ``mpiexec``. Only ``backend="mpi"``; rank and world size
    come from MPI (``world_size``/``rank``, if given, must agree with it).
    ``init_method`` and the other arguments of torch's signature are accepted and unused.
    """
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend must be 'mpi', got {backend!r} "
                         "(gradlite runs its collectives over MPI)")
    if is_initialized():
        raise RuntimeError("init_process_group: trying to initialize the default process "
                           "group twice!")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()),
                                ("rank", rank, world.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but mpiexec started this "
                             f"process with {name} {actual}")
    _Group.comm = world.Dup()
    _Group.previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_uncaught_exception


def _abort_on_uncaught_exception(kind, value, traceback):
    """Print the traceback as usual, then end every rank of the job with exit code 1."""
    _Group.previous_excepthook(kind, value, traceback)
    sys.stderr.flush()
    time.sleep(0.2)         # let mpiexec pass the traceback on before it ends the job
    _mpi().COMM_WORLD.Abort(1)


def destroy_process_group(group=None):
    """Leave the process group (the MPI library itself is finalised at exit)."""
    comm = _comm("destroy_process_group")
    comm.Free()
    _Group.comm = None
    sys.excepthook = _Group.previous_excepthook


def _comm(caller):
    if _Group.comm is None:
        raise RuntimeError(f"{caller}: default process group has not been initialized, "
                           "please make sure to call init_process_group.")
    return _Group.comm


def get_rank(group=None):
    """This process's number, 0 ... world size - 1."""
    return _comm("get_rank").Get_rank()


def get_world_size(group=None):
    """The number of processes in the job."""
    return _comm("get_world_size").Get_size()


def barrier(group=None):
    """Return once every rank has called ``barrier``."""
    _comm("barrier").Barrier()


class Work:
    """A started non-blocking collective; ``wait()`` finishes it (and returns True)."""

    def __init__(self, request, finish=None):
        self._request, self._finish = request, finish

    def is_completed(self):
        """Has the operation finished? (Also lets MPI make progress on it.)"""
        return self._request is None or self._request.Test()

    def wait(self, timeout=None):
        if self._request is not None:
            self._request.Wait()
            self._request = None
            if self._finish is not None:
                self._finish()
        return True


def _buffer(caller, tensor):
    array = getattr(tensor, "data", None)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{caller}: expected a Tensor, got {type(tensor).__name__}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{caller}: the tensor of shape {array.shape} must be contiguous "
                         "(call .contiguous() first)")
    return array


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Replace ``tensor``, on every rank, by the reduction (``op``) of all ranks' values."""
    comm, array = _comm("all_reduce"), _buffer("all_reduce", tensor)
    MPI = _mpi()
    mpi_ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
               ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
    if op not in mpi_ops:
        raise ValueError(f"all_reduce: op must be one of ReduceOp.SUM, PRODUCT, MIN, MAX, AVG; "
                         f"got {op!r}")
    if op == ReduceOp.AVG and array.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, "
                        f"got {array.dtype}")
    size = comm.Get_size()

    def finish():
        if op == ReduceOp.AVG:
            np.divide(array, size, out=array)
    if not async_op:
        comm.Allreduce(MPI.IN_PLACE, array, op=mpi_ops[op])
        finish()
        return None
    return Work(comm.Iallreduce(MPI.IN_PLACE, array, op=mpi_ops[op]), finish)


def broadcast(tensor, src, group=None, async_op=False):
    """Replace ``tensor``, on every rank, by rank ``src``'s ``tensor``."""
    comm, array = _comm("broadcast"), _buffer("broadcast", tensor)
    if not 0 <= src < comm.Get_size():
        raise ValueError(f"broadcast: src must be a rank in [0, {comm.Get_size() - 1}], got {src}")
    if not async_op:
        comm.Bcast(array, root=src)
        return None
    return Work(comm.Ibcast(array, root=src))
