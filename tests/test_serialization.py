"""Checkpoints: round trips, atomic writes, clear errors for foreign files, no pickle."""

import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradlite.serialization import load, save

REPO = Path(__file__).resolve().parents[1]

try:
    from gradlite.tensor import Tensor
except Exception:       # the core is not importable (yet): a stand-in with its contract
    class Tensor:
        def __init__(self, data, requires_grad=False):
            self.data, self.grad, self.requires_grad = data, None, requires_grad


class Parameter(Tensor):
    pass


def assert_same(a, b):
    """Equal values, types, dtypes and shapes, recursively."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert type(k) is type(next(x for x in b if x == k))
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_nested_structure(tmp_path):
    obj = {
        "model": {"0.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
                  "0.bias": np.zeros(3, dtype=np.float64),
                  "bn.num_batches_tracked": np.array(7, dtype=np.int64)},
        "optim": {"state": {0: {"step": 3, "exp_avg": np.ones((2, 2), np.float16)}},
                  "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False,
                                    "params": [0, 1], "name": None}]},
        "misc": [1, 2.5, True, "text", None, (), [], {}, float("inf"), float("nan"),
                 -(2 ** 62), np.float32(1.5), np.int16(-3)],
        3: "int key", 2.5: "float key", True: "bool key", None: "None key",
        "arrays": [np.array([True, False]), np.array(["ab", "c"]), np.zeros((0, 3)),
                   np.arange(6, dtype=np.uint8).reshape(2, 3).T,
                   np.array([1 + 2j], dtype=np.complex64)],
    }
    save(obj, tmp_path / "ckpt.npz")
    assert_same(load(tmp_path / "ckpt.npz"), obj)
    assert type(load(tmp_path / "ckpt.npz")["misc"][11]) is np.float32


@given(hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64,
                                         np.bool_, np.uint8]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)))
def test_round_trip_arrays(tmp_path_factory, array):
    path = tmp_path_factory.mktemp("h") / "a.ckpt"
    save({"x": array, "y": [array]}, path)
    assert_same(load(path), {"x": array, "y": [array]})


def test_tensors_come_back_as_arrays(tmp_path):
    w = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    save({"w": Tensor(w), "p": Parameter(w)}, str(tmp_path / "t.npz"))
    out = load(str(tmp_path / "t.npz"))
    assert_same(out, {"w": w, "p": w})


def test_path_is_used_as_given(tmp_path):
    save([1], tmp_path / "model.pt")
    assert os.listdir(tmp_path) == ["model.pt"]
    assert load(tmp_path / "model.pt") == [1]


def test_overwrite_and_fsync(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = tmp_path / "c.npz"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    assert len(synced) >= 2
    assert os.listdir(tmp_path) == ["c.npz"]


def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"w": np.ones(3)}, path)
    before = path.read_bytes()

    def crash_midway(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]        # the temporary file is gone
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"], np.ones(3))


def test_failed_rename_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"v": 1}, path)

    def no_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(KeyboardInterrupt):
        save({"v": 2}, path)
    monkeypatch.undo()
    assert load(path) == {"v": 1}
    assert os.listdir(tmp_path) == ["c.npz"]


def not_a_checkpoint(path):
    return pytest.raises(ValueError, match=f"gradlite.load: .*{path.name} is not a "
                                           r"gradlite checkpoint \(.+\)")


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"\x93NUMPY garbage",
                                     pickle.dumps({"a": 1})])
def test_foreign_bytes(tmp_path, content):
    path = tmp_path / "foreign.npz"
    path.write_bytes(content)
    with not_a_checkpoint(path):
        load(path)


def test_plain_npz_and_npy(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    np.save(tmp_path / "one.npy", np.ones(2))
    with not_a_checkpoint(tmp_path / "plain.npz"):
        load(tmp_path / "plain.npz")
    with not_a_checkpoint(tmp_path / "one.npy"):
        load(tmp_path / "one.npy")


def test_torch_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, path)
    with not_a_checkpoint(path):
        load(path)


def test_truncated_and_corrupt_files(tmp_path):
    good = tmp_path / "good.npz"
    save({"w": np.arange(1000.0), "n": 1}, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    for cut in (10, 100, len(data) // 2, len(data) - 10):
        bad.write_bytes(data[:cut])
        with not_a_checkpoint(bad):
            load(bad)
    start = data.index(b"\x93NUMPY")                  # corrupt the first array member
    bad.write_bytes(data[:start + 200] + b"\xff" * 64 + data[start + 264:])
    with not_a_checkpoint(bad):
        load(bad)


def test_wrong_header(tmp_path):
    path = tmp_path / "h.npz"
    for header in ["not json", json.dumps({"format": "other", "version": 1, "tree": {}}),
                   json.dumps({"format": "gradlite-checkpoint", "version": 99, "tree": {}}),
                   json.dumps({"format": "gradlite-checkpoint", "version": 1,
                               "tree": {"type": "pickle"}})]:
        np.savez(path, __gradlite__=np.array(header))
        with not_a_checkpoint(path):
            load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_never_unpickles(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"w": np.ones(2), "s": "x"}, path)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    assert load(path)["s"] == "x"
    with zipfile.ZipFile(path) as z:        # every member is a plain .npy, no object dtype
        for name in z.namelist():
            with z.open(name) as f:
                assert not np.lib.format.read_array(f, allow_pickle=False).dtype.hasobject


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(TypeError, match=r"obj\['a'\]\[1\] is an array of dtype object"):
        save({"a": [np.ones(2), np.array([1, "x"], dtype=object)]}, path)
    with pytest.raises(TypeError, match="cannot save obj\\['s'\\] of type set"):
        save({"s": {1, 2}}, path)
    with pytest.raises(TypeError, match="key of type tuple"):
        save({(1, 2): 3}, path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []



# ----------------------------------------------------------------- how save writes

@pytest.fixture
def umask():
    """Set the process umask for one test (``umask(0o027)``), restoring it after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def mode(path):
    return os.stat(path).st_mode & 0o777


def test_new_files_respect_the_umask(tmp_path, umask):
    umask(0o027)
    save({"v": 1}, tmp_path / "a.npz")
    assert mode(tmp_path / "a.npz") == 0o640
    umask(0o077)
    save({"v": 1}, tmp_path / "b.npz")
    assert mode(tmp_path / "b.npz") == 0o600


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "secret.npz"
    save({"v": 1}, path)
    os.chmod(path, 0o600)
    umask(0o022)
    save({"v": 2}, path)
    assert mode(path) == 0o600 and load(path) == {"v": 2}
    os.chmod(path, 0o664)
    umask(0o077)
    save({"v": 3}, path)
    assert mode(path) == 0o664


def test_save_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.npz"
    save({"v": 1}, target)
    (tmp_path / "link.npz").symlink_to(target)
    save({"v": 2}, tmp_path / "link.npz")
    assert (tmp_path / "link.npz").is_symlink() and load(target) == {"v": 2}


def test_the_directory_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (events.append("rename"), real_replace(*a)))
    monkeypatch.setattr(os, "fsync", lambda fd: (
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file"),
        real_fsync(fd)))
    save({"v": 1}, tmp_path / "c.npz")
    assert events == ["fsync file", "rename", "fsync dir"]


def test_a_failed_save_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"gradlite.save: could not write "
                                                r".*nowhere.*c\.npz: No such file"):
        save({"v": 1}, tmp_path / "nowhere" / "c.npz")


def test_a_full_disk_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    def full(file, **arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match=r"gradlite.save: could not write .*c\.npz: No space"):
        save({"v": 1}, tmp_path / "c.npz")
    assert os.listdir(tmp_path) == []


def dead_pid():
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_the_same_path_are_removed(tmp_path):
    path = tmp_path / "model.npz"
    dead = tmp_path / f".model.npz.{dead_pid()}.0123456789ab.tmp"
    old = tmp_path / f".model.npz.{os.getpid()}.0123456789ac.tmp"
    alive = tmp_path / f".model.npz.{os.getpid()}.0123456789ad.tmp"
    others = [tmp_path / f".other.npz.{dead_pid()}.0123456789ab.tmp",   # another path's
              tmp_path / ".model.npz.123.backup",                       # not our pattern
              tmp_path / "model.npz.tmp"]
    for file in [dead, old, alive, *others]:
        file.write_bytes(b"x" * 1000)
    an_hour_ago = time.time() - 2 * 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    save({"v": 1}, path)
    left = set(os.listdir(tmp_path))
    assert left == {"model.npz", alive.name, *(f.name for f in others)}


KILLED_WRITER = """
import os, signal, sys
import numpy as np
from gradlite.serialization import save
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)   # killed before the rename
save({"w": np.zeros(100_000)}, sys.argv[1])
"""


def test_a_killed_writer_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "model.npz"
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)],
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == -signal.SIGKILL
        left = os.listdir(tmp_path)        # each writer removed its killed predecessor's
        assert len(left) == 1 and left[0].startswith(".model.npz.") and not path.exists()
    save({"v": 1}, path)
    assert os.listdir(tmp_path) == ["model.npz"]
