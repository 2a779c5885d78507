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
    """Run ``code`` in a fresh interpreter importing this gradlite; return its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(gradlite.__file__).parents[1]),
                                                      env.get("PYTHONPATH")]))
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def restore_threads():
    before = gradlite.get_num_threads()
    yield
    gradlite.set_num_threads(before)


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
        print("OMP_WAIT_POLICY" in os.environ, "OPENBLAS_THREAD_TIMEOUT" in os.environ)
    """, {"OMP_WAIT_POLICY": None, "OPENBLAS_THREAD_TIMEOUT": None})
    assert out.split() == ["False", "False"]


def _child(queue):
    threads = gradlite.get_num_threads()
    try:
        gradlite.set_num_threads(2)
        refused = False
    except RuntimeError:
        refused = True
    a = np.random.default_rng(1).standard_normal((500, 500))
    queue.put((threads, refused, conv_step(), float(np.abs(a @ a - a.dot(a)).max())))


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
        threads, refused, results, blas_error = queue.get(timeout=120)
    except Exception:
        child.kill()
        pytest.fail("the forked child hung (or failed) running a conv and a product")
    child.join(30)
    assert child.exitcode == 0
    assert threads == 1 and refused and blas_error < 1e-9
    assert_same(results, expected)
    assert gradlite.get_num_threads() == 2  # the parent is untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_training_steps_do_not_page_fault_their_buffers_back():
    """glibc keeps freed activation-sized blocks: repeated steps reuse memory instead of
    getting fresh pages from the OS (~1,400 page faults a LeNet-5 step without)."""
    out = run_python("""
        import ctypes, resource, numpy as np
        try:
            ctypes.CDLL(None).gnu_get_libc_version
        except AttributeError:
            print(0); raise SystemExit  # not glibc: nothing to check
        import gradlite, gradlite.nn.functional as F
        from gradlite import models, optim
        rng = np.random.default_rng(0)
        x = gradlite.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
        y = gradlite.tensor(rng.integers(0, 10, 64))
        model = models.lenet5()
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
