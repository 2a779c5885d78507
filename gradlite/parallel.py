"""How many threads gradlite uses, and one pool of them for its kernels and its BLAS calls.

gradlite's compiled kernels run OpenMP loops; its matrix products run in numpy's BLAS
(OpenBLAS in numpy's wheels), which has a thread pool of its own. Left alone, the two
pools take turns: after its work each keeps its idle workers spinning for a while, on
the very core the other pool's next loop needs. So, at import, gradlite

* hands OpenBLAS's parallel jobs to the kernels' OpenMP workers (OpenBLAS 0.3.27+ lets
  the caller run its threads: ``openblas_set_threads_callback_function``), so there is
  one pool, whatever was imported first;
* gives both the same thread count: ``OMP_NUM_THREADS`` if set, else one per core;
* steps that count down to one while another process keeps the cores busy, and back up
  when they are free (the governor in ``_kernels/_threads.pyx``: a parallel loop is as
  slow as its slowest thread, and beside a busy process one of them always waits for a
  core). ``GRADLITE_ADAPTIVE_THREADS=0`` keeps the count fixed.

``set_num_threads(n)`` / ``get_num_threads()`` change and read that count, as in PyTorch.

One more process setting that decides what a training step costs: glibc hands every freed
block over 128 KB back to the OS and page-faults it in again at the next allocation, i.e.
every activation and gradient of every step. gradlite raises those thresholds (blocks up
to 32 MB stay in the heap, up to 512 MB of free heap is kept: a transformer step frees
more than 64 MB at once) unless the environment sets ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_``.

OpenMP (GNU libgomp) cannot re-create its workers in a process forked after they
started: a parallel loop there waits forever for threads that were not copied. So a
child forked after ``import gradlite`` (``multiprocessing``'s "fork" start method, a
DataLoader worker) runs single-threaded, and refuses ``set_num_threads(n > 1)``; use the
"spawn" or "forkserver" start method for children that need threads.
"""
import contextlib
import ctypes
import glob
import os


@contextlib.contextmanager
def _environment(defaults):
    """Set the variables of ``defaults`` the user left unset, for the libraries loaded
    inside the block to read; the process's environment is unchanged afterwards."""
    added = {name: value for name, value in defaults.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            del os.environ[name]


# OpenMP's wait policy stays at its default: idle workers spin for a moment, then sleep
# (what PyTorch's users get too). A training step calls many short threaded products,
# and a worker put to sleep after each one costs more to wake than the product takes;
# when another process wants the cores, the governor (below) steps down to one thread.
# An OpenBLAS too old for the callback keeps its own pool: let its idle workers sleep
# soon (read when numpy loads OpenBLAS, so only when gradlite is imported first).
with _environment({"OPENBLAS_THREAD_TIMEOUT": "4"}):
    import numpy as np
    try:
        from ._kernels import _threads as _openmp
    except ImportError:  # the kernels are not compiled: no OpenMP loops, BLAS only
        _openmp = None

_forked = False
_threads = 1


def _find_openblas():
    """numpy's OpenBLAS as a ctypes library, or None (another BLAS, or not found)."""
    numpy_dir = os.path.dirname(np.__file__)
    candidates = (glob.glob(os.path.join(numpy_dir + ".libs", "*openblas*"))
                  + glob.glob(os.path.join(numpy_dir, ".dylibs", "*openblas*")))
    try:
        with open("/proc/self/maps") as maps:  # a BLAS numpy was linked against elsewhere
            candidates += [line.split()[-1] for line in maps if "openblas" in line]
    except OSError:
        pass
    for path in candidates:
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _symbol(library, name):
    """``library``'s function ``name``, under the prefixes and suffixes OpenBLAS builds
    use (scipy-openblas: ``scipy_openblas_...64_``), or None."""
    for prefix in ("scipy_", ""):
        for suffix in ("64_", "_64", ""):
            function = getattr(library, prefix + name + suffix, None)
            if function is not None:
                return function
    return None


def _blas_thread_setter():
    """Route OpenBLAS's jobs to the OpenMP workers and hand its thread-count setter to
    the kernels (whose governor sets OpenBLAS's count from then on) where they are built;
    return that setter for this module to call only where they are not. None if numpy's
    BLAS is not an OpenBLAS found here."""
    library = _find_openblas()
    if library is None:
        return None
    set_callback = _symbol(library, "openblas_set_threads_callback_function")
    if set_callback is not None and _openmp is not None:
        set_callback.argtypes = [ctypes.c_void_p]
        set_callback(_openmp.blas_callback_address())
    setter = _symbol(library, "openblas_set_num_threads")
    if setter is None:
        return None
    setter.argtypes = [ctypes.c_int]
    if _openmp is None:
        return setter
    _openmp.use_blas_thread_setter(ctypes.cast(setter, ctypes.c_void_p).value)
    return None


_set_blas_threads = _blas_thread_setter()


def _cores():
    """The physical cores this process may run on (hyper-threads of one core count once)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            cores.add(cpu)
    return max(1, len(cores))


def _default_threads():
    """``OMP_NUM_THREADS`` (its first level) if set to a positive integer, else the cores."""
    try:
        requested = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        return _cores()
    return requested if requested > 0 else _cores()


def _keep_freed_blocks():
    """Let glibc reuse freed activation-sized blocks instead of returning them to the OS."""
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only (its option numbers)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 512 << 20)


def set_num_threads(n):
    """Use ``n`` threads for gradlite's parallel kernels and the BLAS calls it makes
    (the whole process's OpenBLAS, which gradlite shares with numpy)."""
    global _threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    if n > 1 and _forked:
        raise RuntimeError("set_num_threads: this process was forked after gradlite started "
                           "its threads, and OpenMP cannot start them again here; use one "
                           "thread, or the 'spawn'/'forkserver' multiprocessing start method")
    if _openmp is not None:
        _openmp.set_max_threads(n)   # the kernels' loops and, through the governor, OpenBLAS
    elif _set_blas_threads is not None:
        _set_blas_threads(n)
    _threads = n


def get_num_threads():
    """The number of threads gradlite's kernels and BLAS calls use."""
    return _threads


def _single_threaded_after_fork():
    global _forked
    if _openmp is not None:
        _openmp.stop_governor()  # the watcher thread was not copied into the child
    set_num_threads(1)
    _forked = True


set_num_threads(_default_threads())
if _openmp is not None and os.environ.get("GRADLITE_ADAPTIVE_THREADS", "1") != "0":
    _openmp.start_governor()
_keep_freed_blocks()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_single_threaded_after_fork)
