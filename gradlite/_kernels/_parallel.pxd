"""How many threads a kernel loop gets (shared by the .pyx modules, inlined at compile time)."""
from ._threads cimport kernel_threads

# Below GRAIN units of work (elements written or multiply-adds) a loop runs on one
# thread: waking a second thread costs more than it saves, and on a busy machine,
# where that thread may wait a whole time slice for a core, far more.
cdef enum:
    GRAIN = 1 << 18


cdef inline int threads_for(Py_ssize_t work) noexcept nogil:
    """The thread count for a prange over ``work`` units: 1 if small, else what the
    thread policy gives now (``_threads.kernel_threads``)."""
    return 1 if work < GRAIN else kernel_threads()
