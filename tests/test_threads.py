"""gradlite's thread policy (gradlite.parallel): set_num_threads/get_num_threads, one pool
for the kernels and OpenBLAS, the environment left as found, and fork after use."""
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gradlite
import gradlite.nn.functional as F
from gradlite import _kernels, parallel

REPO = Path(__file__).resolve().parents[1]


def run_python(code, env_changes=None, timeout=120):
    """Run ``code`` in a fresh interpreter importing this gradlite; return its stdout.
    It runs in the folder that holds this gradlite: ``python -c`` puts its working
    directory first on the path, and a checkout there would shadow an installed build."""
    home = str(Path(gradlite.__file__).parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [home, env.get("PYTHONPATH")]))
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=home,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def restore_threads():
    """Restore the thread count after the test, and hold it fixed during it: the
    governor (tested below) would step it down if the machine got busy meanwhile."""
    before = gradlite.get_num_threads()
    governed = _kernels.COMPILED and governor().adaptive_now()
    if governed:
        governor().stop_governor()
    yield
    gradlite.set_num_threads(before)
    if governed:
        governor().start_governor()


def governor():
    from gradlite._kernels import _threads
    return _threads


def assert_same(results, expected):
    """Equal up to float32 rounding (summation orders differ with the thread count)."""
    for ours, theirs in zip(results, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())


def conv_step(seed=0):
    """A conv forward + backward big enough for the kernels to use every thread."""
    rng = np.random.default_rng(seed)
    x = gradlite.tensor(rng.standard_normal((8, 16, 20, 20)).astype(np.float32), requires_grad=True)
    w = gradlite.tensor(rng.standard_normal((32, 16, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    (y * y).sum().backward()
    return y.data, x.grad.data, w.grad.data


def test_set_num_threads_sets_the_kernels_and_blas(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    expected = conv_step()
    for n in (1, 3, 2):
        gradlite.set_num_threads(n)
        assert gradlite.get_num_threads() == n
        if _kernels.COMPILED:
            from gradlite._kernels import _threads
            assert _threads.max_threads() == n
        blas = [p for p in threadpoolctl.threadpool_info() if p["internal_api"] == "openblas"]
        assert all(p["num_threads"] == n for p in blas)
        assert_same(conv_step(), expected)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), ("2", TypeError),
                                        (2.0, TypeError), (True, TypeError)])
def test_set_num_threads_rejects_bad_counts(bad, error, restore_threads):
    with pytest.raises(error, match="set_num_threads"):
        gradlite.set_num_threads(bad)


def test_default_follows_omp_num_threads_else_the_cores():
    code = "import numpy, gradlite; print(gradlite.get_num_threads())"
    assert run_python(code, {"OMP_NUM_THREADS": "1"}).strip() == "1"
    assert run_python(code, {"OMP_NUM_THREADS": "3"}).strip() == "3"
    assert run_python(code, {"OMP_NUM_THREADS": None}).strip() == str(parallel._cores())


@pytest.mark.parametrize("numpy_first", [True, False])
def test_blas_runs_on_gradlites_threads_whatever_the_import_order(numpy_first):
    """Products are the same through gradlite's pool as through OpenBLAS's own (computed
    before gradlite is imported, or after it with the callback off), and OpenBLAS follows
    set_num_threads either way. The environment is left as it was."""
    out = run_python(f"""
        import os, sys
        {'import numpy as np' if numpy_first else ''}
        import gradlite
        import numpy as np
        rng = np.random.default_rng(0)
        results = []
        for dtype in (np.float32, np.float64):
            a, b = (rng.standard_normal((700, 600)).astype(dtype) for _ in range(2))
            for n in (2, 1, 2):
                gradlite.set_num_threads(n)
                results.append(a @ b.T)
            exact = a.astype(np.float64) @ b.T.astype(np.float64)
            assert all(np.allclose(r, exact, rtol=1e-3, atol=1e-2) for r in results[-3:])
        print(*(name in os.environ for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                                "OPENBLAS_THREAD_TIMEOUT")))
    """, {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None, "OPENBLAS_THREAD_TIMEOUT": None})
    assert out.split() == ["False", "False", "False"]


def _child(queue):
    threads = gradlite.get_num_threads()
    try:
        gradlite.set_num_threads(2)
        refused = False
    except RuntimeError:
        refused = True
    a = np.random.default_rng(1).standard_normal((500, 500))
    adaptive = _kernels.COMPILED and governor().adaptive_now()
    queue.put((threads, refused, conv_step(), float(np.abs(a @ a - a.dot(a)).max()), adaptive))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_after_the_kernels_ran_does_not_hang(restore_threads):
    """A child forked after gradlite's threads started runs the kernels and BLAS on one
    thread (OpenMP cannot start its workers again there) and refuses more."""
    gradlite.set_num_threads(2)
    expected = conv_step()
    a = np.random.default_rng(1).standard_normal((500, 500))
    a @ a  # BLAS on the pool too
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue,))
    child.start()
    try:  # read before join: the child's results fill more than a pipe's buffer
        threads, refused, results, blas_error, adaptive = queue.get(timeout=120)
    except Exception:
        child.kill()
        pytest.fail("the forked child hung (or failed) running a conv and a product")
    child.join(30)
    assert child.exitcode == 0
    assert threads == 1 and refused and blas_error < 1e-9 and not adaptive
    assert_same(results, expected)
    assert gradlite.get_num_threads() == 2  # the parent is untouched


_MODEL_STEPS = {
    # LeNet-5 at batch 64: ~1,400 page faults a step when glibc returns blocks over 128 KB.
    "lenet5": """
        x = gradlite.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
        y = gradlite.tensor(rng.integers(0, 10, 64))
        model = models.lenet5()
    """,
    # A transformer layer at batch 64: a step frees over 64 MB at once (~11,200 page faults
    # a step when only 64 MB of free heap is kept).
    "transformer": """
        x = gradlite.tensor(rng.standard_normal((64, 64, 128)).astype(np.float32))
        y = gradlite.tensor(rng.integers(0, 10, 64))
        nn = gradlite.nn
        model = nn.Sequential(nn.TransformerEncoderLayer(128, 4, 512, batch_first=True),
                              nn.Flatten(), nn.Linear(64 * 128, 10))
    """,
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
@pytest.mark.parametrize("model", sorted(_MODEL_STEPS))
def test_training_steps_do_not_page_fault_their_buffers_back(model):
    """glibc keeps freed activation-sized blocks: repeated steps reuse memory instead of
    getting fresh pages from the OS."""
    out = run_python("""
        import ctypes, resource, numpy as np
        try:
            ctypes.CDLL(None).gnu_get_libc_version
        except AttributeError:
            print(0); raise SystemExit  # not glibc: nothing to check
        import gradlite, gradlite.nn.functional as F
        from gradlite import models, optim
        rng = np.random.default_rng(0)
    """ + _MODEL_STEPS[model] + """
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        def step():
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        for _ in range(3):
            step()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            step()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
    """, {"MALLOC_MMAP_THRESHOLD_": None, "MALLOC_TRIM_THRESHOLD_": None})
    assert float(out) < 100


def busy_processes(n):
    """``n`` CPU-bound processes (Python busy loops), to stand beside the test."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run_until(condition, seconds):
    """Run conv steps until ``condition()`` holds (True) or ``seconds`` pass (False)."""
    import time
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conv_step()
        if condition():
            return True
    return False


needs_governor = pytest.mark.skipif(
    not _kernels.COMPILED or not os.path.exists("/proc/self/schedstat")
    or parallel._cores() < 2, reason="the governor needs the compiled kernels, Linux's "
    "schedstat and two cores")


@needs_governor
def test_threads_step_down_beside_busy_processes_and_back_up_after():
    """Beside CPU-bound processes the governor runs the loops on one thread (two would
    wait for each other's time slices); once they are gone it returns to the count the
    user set. get_num_threads() keeps reporting that count throughout."""
    threads = governor()
    gradlite.set_num_threads(2)
    busy = busy_processes(2)
    try:
        assert run_until(lambda: threads.current_threads() == 1, 10), \
            "still on two threads after 10 s beside two busy processes"
        assert gradlite.get_num_threads() == 2
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert run_until(lambda: threads.current_threads() == 2, 20), \
        "still on one thread 20 s after the busy processes ended"


@needs_governor
def test_the_governor_can_be_switched_off():
    """GRADLITE_ADAPTIVE_THREADS=0 keeps the count fixed, busy neighbours or not."""
    busy = busy_processes(2)
    try:
        out = run_python("""
            import time, numpy as np, gradlite
            import gradlite.nn.functional as F
            from gradlite._kernels import _threads
            x = gradlite.tensor(np.ones((8, 16, 20, 20), np.float32))
            w = gradlite.tensor(np.ones((32, 16, 3, 3), np.float32))
            seen = set()
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                F.conv2d(x, w, padding=1)
                seen.add(_threads.current_threads())
            print(_threads.adaptive_now(), sorted(seen))
        """, {"GRADLITE_ADAPTIVE_THREADS": "0", "OMP_NUM_THREADS": "2"})
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert out.split() == ["False", "[2]"]
