"""The OpenMP side of gradlite's thread policy (the policy itself: ``gradlite.parallel``).

* ``set_max_threads(n)`` / ``max_threads()``: the thread count of the kernels' ``prange``
  loops (OpenMP's nthreads ICV, which ``_parallel.threads_for`` reads).
* ``blas_callback_address()``: the address of ``run_blas_jobs``, a C function OpenBLAS
  (0.3.27 and later) can be told to call instead of waking its own worker threads
  (``openblas_set_threads_callback_function``). It runs the jobs OpenBLAS split a product
  into on the kernels' OpenMP workers, so the process has one pool of threads, not two
  taking turns at spinning on each other's cores.
"""
cimport openmp
from cython.parallel cimport prange

ctypedef void (*dojob_t)(int job, void *job_data, int dojob_data) noexcept nogil


def set_max_threads(int n):
    """Let the kernels' parallel loops (and the BLAS jobs run here) use ``n`` threads."""
    openmp.omp_set_num_threads(n)


def max_threads():
    """The number of threads a parallel loop gets."""
    return openmp.omp_get_max_threads()


cdef void run_blas_jobs(int sync, dojob_t dojob, int num_jobs, size_t job_size,
                        void *jobs, int dojob_data) noexcept nogil:
    """Run OpenBLAS's ``num_jobs`` jobs at once, one per OpenMP thread, and return when
    all are done. All at once matters: a threaded GEMM's jobs wait for each other's packed
    panels, so two jobs queued on one thread would wait forever. Hence no dynamic team
    sizes here, and a nested team when OpenBLAS is called from inside a parallel region."""
    cdef int job, dynamic = openmp.omp_get_dynamic()
    cdef int levels = openmp.omp_get_max_active_levels()
    cdef char *first = <char *> jobs
    if num_jobs == 1:
        dojob(0, jobs, dojob_data)
        return
    openmp.omp_set_dynamic(0)
    if openmp.omp_get_active_level() >= levels:
        openmp.omp_set_max_active_levels(openmp.omp_get_active_level() + 1)
    for job in prange(num_jobs, num_threads=num_jobs, schedule="static", chunksize=1):
        dojob(job, first + job * job_size, dojob_data)
    openmp.omp_set_dynamic(dynamic)
    openmp.omp_set_max_active_levels(levels)


def blas_callback_address():
    """``run_blas_jobs`` as an integer address, for ctypes to hand to OpenBLAS."""
    return <size_t> &run_blas_jobs
