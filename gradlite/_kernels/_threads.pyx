"""The OpenMP side of gradlite's thread policy (the policy itself: ``gradlite.parallel``).

* ``set_max_threads(n)`` / ``max_threads()``: how many threads the user allows (as
  ``gradlite.set_num_threads``); ``kernel_threads()`` (cimported by the kernels through
  ``_parallel.threads_for``) is how many a parallel loop gets now.
* ``blas_callback_address()``: the address of ``run_blas_jobs``, a C function OpenBLAS
  (0.3.27 and later) can be told to call instead of waking its own worker threads
  (``openblas_set_threads_callback_function``). It runs the jobs OpenBLAS split a product
  into on the kernels' OpenMP workers, so the process has one pool of threads, not two
  taking turns at spinning on each other's cores.
* ``start_governor()``: a watcher thread that steps the thread count down while other
  processes contend for the cores, and back up when they are free (below).

Why a governor. A parallel loop on n threads ends when its slowest thread does. When
another busy process shares the cores, one of the n threads is always waiting for a
core, so every loop and every threaded product waits a time slice for it: a LeNet-5 step
runs slower on two threads than on one. Linux says how long this process's threads sat
runnable but waiting for a core (``/proc/self/task/*/schedstat``, second field): a few
percent of the time when the cores are free, most of it beside a busy process (figures:
``docs/performance.md``). So every ``PERIOD_NS`` the watcher reads that total. Above
``CONTENDED_PER_MILLE`` of the period it takes away as many threads as stood waiting on
average (rounded up; on two cores beside one busy process that leaves one, and the loops
then run at the speed of a core the scheduler does give); after a hold it tries the full
count again for one period, and holds twice as long each time the cores are still busy
(up to ``MAX_HOLD_NS``), so a long-lived neighbour costs a short probe now and then.
Where schedstat cannot be read (not Linux, a kernel without it) the count stays fixed.
"""
cimport openmp
from cython.parallel cimport prange
from libc.stdio cimport FILE, fclose, fopen, fscanf, snprintf
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, nanosleep, timespec

ctypedef void (*dojob_t)(int job, void *job_data, int dojob_data) noexcept nogil
ctypedef void (*blas_setter_t)(int threads) noexcept nogil

cdef extern from "<dirent.h>" nogil:
    ctypedef struct DIR
    struct dirent:
        char d_name[256]
    DIR *opendir(const char *name)
    dirent *readdir(DIR *directory)
    int closedir(DIR *directory)

cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    int pthread_create(pthread_t *thread, void *attr, void *(*start)(void *) noexcept nogil,
                       void *arg)
    int pthread_detach(pthread_t thread)

cdef enum:
    PERIOD_NS = 100 * 1000 * 1000          # how often the watcher looks
    CONTENDED_PER_MILLE = 100              # waiting for a core 10% of the period: contended
    MIN_HOLD_NS = 1000 * 1000 * 1000       # one thread for this long, then probe
    MAX_HOLD_NS = 8 * MIN_HOLD_NS

cdef int requested = 1          # what the user allows (set_num_threads)
cdef int active = 1             # what a parallel loop gets now: requested, or 1
cdef bint adaptive = False      # a watcher thread is running
cdef size_t generation = 0     # of the watcher, so a restarted one replaces the old
cdef blas_setter_t blas_setter = NULL


cdef int kernel_threads() noexcept nogil:
    """The thread count for a parallel loop now."""
    return active


cdef void use_threads(int n) noexcept nogil:
    """Give n threads to the kernels' loops and to OpenBLAS's products."""
    global active
    active = n
    if blas_setter != NULL:
        blas_setter(n)


def set_max_threads(int n):
    """Let the kernels' parallel loops (and the BLAS jobs run here) use ``n`` threads."""
    global requested
    requested = n
    openmp.omp_set_num_threads(n)
    use_threads(n)


def max_threads():
    """The number of threads the user allows (``set_max_threads``)."""
    return requested


def current_threads():
    """The number of threads a parallel loop gets now (1 while the cores are contended)."""
    return active


def adaptive_now():
    """Whether the governor is adapting the thread count (its watcher runs)."""
    return adaptive


def use_blas_thread_setter(size_t address):
    """OpenBLAS's ``openblas_set_num_threads`` (its address), for the governor to call."""
    global blas_setter
    blas_setter = <blas_setter_t> address
    use_threads(active)


# ---------------------------------------------------------------------- the governor
cdef long long now_ns() noexcept nogil:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec * 1000000000LL + t.tv_nsec


cdef long long waiting_ns() noexcept nogil:
    """How long this process's threads have waited for a core, in total (-1: unknown)."""
    cdef DIR *tasks = opendir("/proc/self/task")
    cdef dirent *task
    cdef char path[320]
    cdef FILE *stats
    cdef long long running, waiting, total = 0
    if tasks == NULL:
        return -1
    task = readdir(tasks)
    while task != NULL:
        if task.d_name[0] != b'.':
            snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", task.d_name)
            stats = fopen(path, "r")
            if stats != NULL:
                if fscanf(stats, "%lld %lld", &running, &waiting) == 2:
                    total += waiting
                fclose(stats)
        task = readdir(tasks)
    closedir(tasks)
    return total


cdef void *watch(void *started_as) noexcept nogil:
    """Every period: contended -> fewer threads for a hold; hold over -> probe the full
    count. Runs until the governor stops (or is restarted: ``started_as`` is its
    generation)."""
    cdef timespec period
    cdef long long before = waiting_ns(), after, waited, others
    cdef long long hold = MIN_HOLD_NS, resume_at = 0
    cdef bint probing = False
    period.tv_sec, period.tv_nsec = 0, PERIOD_NS
    while adaptive and generation == <size_t> started_as:
        nanosleep(&period, NULL)
        after = waiting_ns()
        waited = after - before
        if requested == 1:
            pass
        elif active > 1 and waited * 1000 > <long long> CONTENDED_PER_MILLE * PERIOD_NS:
            # on average this many of our threads stood waiting: cores others hold
            others = (waited + PERIOD_NS - 1) // PERIOD_NS
            hold = min(2 * hold, <long long> MAX_HOLD_NS) if probing else MIN_HOLD_NS
            resume_at = now_ns() + hold
            use_threads(max(1, active - <int> others))
        elif active == requested:
            hold, probing = MIN_HOLD_NS, False
        elif now_ns() >= resume_at:
            use_threads(requested)
            probing = True
            after = waiting_ns()
        before = after
    return NULL


def start_governor():
    """Start the watcher thread, unless it runs already or schedstat cannot be read."""
    global adaptive, generation
    cdef pthread_t thread
    if adaptive or waiting_ns() < 0:
        return
    adaptive = True
    generation += 1
    if pthread_create(&thread, NULL, watch, <void *> <size_t> generation) != 0:
        adaptive = False
        return
    pthread_detach(thread)


def stop_governor():
    """Keep the thread count at what the user allows; the watcher exits within a period
    (in a forked child there is no watcher: threads are not copied by fork)."""
    global adaptive
    adaptive = False
    use_threads(requested)


# ---------------------------------------------------------------------- OpenBLAS's jobs
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
