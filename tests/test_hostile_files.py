"""Files that lie: checkpoints and IDX files whose headers disagree with their data.

Every hostile file must be refused with one ``ValueError``/``DataFileError`` naming the
loader, the file and the field, without allocating what the header claims: two tests load
1 MB hostile files in a subprocess and bound its peak RSS.
"""
import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gradlite.data import DataFileError, read_idx
from gradlite.data import download as download_module
from gradlite.data.idx import write_idx
from gradlite.serialization import load, save

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- building checkpoints

def npy(array):
    """The .npy bytes of ``array``."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def raw_npy(header_dict, data):
    """A .npy member with a hand-written header (any shape/dtype claim) and ``data``."""
    text = repr(header_dict).encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data


def header_member(tree, version=2, fmt="gradlite-checkpoint"):
    """The header member; ``tree`` is a JSON-able object or, as a str, raw JSON text."""
    tree_text = tree if isinstance(tree, str) else json.dumps(tree)
    return npy(np.array(f'{{"format": "{fmt}", "version": {version}, "tree": {tree_text}}}'))


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return path


def array_node(name, array, kind="array"):
    return {"type": kind, "name": name, "dtype": np.asarray(array).dtype.str,
            "shape": list(np.shape(array))}


def checkpoint(path, tree, arrays=(), **header_options):
    """A zip with the header ``tree`` and the members ``arrays`` (name -> bytes)."""
    return write_zip(path, {"__gradlite__": header_member(tree, **header_options),
                            **dict(arrays)})


FIVE = np.arange(5.0)

#: (id, tree, members) of checkpoints whose header lies about their data.
LYING_TREES = [
    ("bool-as-string", {"type": "bool", "value": "false"}, {}),
    ("bool-as-int", {"type": "bool", "value": 0}, {}),
    ("int-as-string", {"type": "int", "value": "3"}, {}),
    ("int-as-bool", {"type": "int", "value": True}, {}),
    ("float-as-string", {"type": "float", "value": "1.5"}, {}),
    ("str-as-number", {"type": "str", "value": 5}, {}),
    ("none-with-value", {"type": "none", "value": 1}, {}),
    ("unknown-type", {"type": "pickle", "value": "cos\nsystem"}, {}),
    ("node-not-object", ["type", "none"], {}),
    ("items-not-list", {"type": "list", "items": {"a": 1}}, {}),
    ("scalar-points-at-5", array_node("a0", 1.0, "numpy_scalar") | {"shape": [5]},
     {"a0": npy(FIVE)}),
    ("scalar-points-at-5-v1", {"type": "numpy_scalar", "name": "a0"}, {"a0": npy(FIVE)}),
    ("dtype-differs", array_node("a0", FIVE.astype(np.float32)), {"a0": npy(FIVE)}),
    ("shape-differs", array_node("a0", FIVE.reshape(5, 1)), {"a0": npy(FIVE)}),
    ("missing-member", array_node("a7", FIVE), {"a0": npy(FIVE)}),
    ("name-not-str", array_node(0, FIVE), {"a0": npy(FIVE)}),
    ("header-as-array", array_node("__gradlite__", FIVE), {}),
    ("member-used-twice", {"type": "list", "items": [array_node("a0", FIVE)] * 2},
     {"a0": npy(FIVE)}),
    ("member-unused", {"type": "none"}, {"a0": npy(FIVE)}),
    ("dict-item-not-pair", {"type": "dict", "items": [[{"type": "str", "value": "k"}]]}, {}),
    ("dict-key-list", {"type": "dict", "items": [[{"type": "list", "items": []},
                                                  {"type": "none"}]]}, {}),
    ("dict-key-twice", {"type": "dict", "items": [[{"type": "int", "value": 1},
                                                   {"type": "none"}]] * 2}, {}),
    ("deep-nesting", '{"type": "list", "items": [' * 5000 + ']}' * 5000, {}),
    ("object-dtype", array_node("a0", FIVE) | {"dtype": "|O"},
     {"a0": raw_npy({"descr": "|O", "fortran_order": False, "shape": (5,)}, b"\0" * 40)}),
    ("structured-dtype", array_node("a0", FIVE),
     {"a0": npy(np.zeros(5, [("x", "<f8")]))}),
    ("claims-4GB", array_node("a0", FIVE),
     {"a0": raw_npy({"descr": "<f4", "fortran_order": False, "shape": (10 ** 9,)},
                    b"\0" * 40)}),
    ("negative-shape", array_node("a0", FIVE),
     {"a0": raw_npy({"descr": "<f8", "fortran_order": False, "shape": (-5,)}, b"\0" * 40)}),
    ("shape-overflows", array_node("a0", FIVE),
     {"a0": raw_npy({"descr": "<f8", "fortran_order": False,
                     "shape": (0, 2 ** 40, 2 ** 40)}, b"")}),
    ("zero-size-dtype", array_node("a0", FIVE),
     {"a0": raw_npy({"descr": "<U0", "fortran_order": False, "shape": (10 ** 12,)}, b"")}),
]


@pytest.mark.parametrize("tree, members", [case[1:] for case in LYING_TREES],
                         ids=[case[0] for case in LYING_TREES])
def test_lying_header_is_refused(tmp_path, tree, members):
    version = 2 if "dtype" in str(tree) else 1     # version 1 where it can say the same
    path = checkpoint(tmp_path / "lie.npz", tree, members, version=version)
    with pytest.raises(ValueError, match=r"^gradlite\.load: .*lie\.npz is not a gradlite "
                                         r"checkpoint \(.+\)$"):
        load(path)


def test_errors_name_the_field(tmp_path):
    tree = {"type": "dict", "items": [[{"type": "str", "value": "cfg"},
                                       {"type": "list", "items": [
                                           {"type": "bool", "value": "false"}]}]]}
    with pytest.raises(ValueError, match=r"header field obj\['cfg'\]\[0\]: a bool node "
                                         r"holds 'false'"):
        load(checkpoint(tmp_path / "c.npz", tree))
    with pytest.raises(ValueError, match=r"header field obj: a scalar points at member a0 "
                                         r"of shape \(5,\)"):
        load(checkpoint(tmp_path / "s.npz", {"type": "numpy_scalar", "name": "a0"},
                        {"a0": npy(FIVE)}, version=1))


def test_header_must_be_a_json_object_in_a_string(tmp_path):
    for member in (npy(FIVE), npy(np.array("[1, 2]")), npy(np.array("{"))):
        path = write_zip(tmp_path / "h.npz", {"__gradlite__": member})
        with pytest.raises(ValueError, match="is not a gradlite checkpoint"):
            load(path)


def test_compressed_members_are_refused(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", __gradlite__=np.array(json.dumps(
        {"format": "gradlite-checkpoint", "version": 2, "tree": {"type": "none"}})))
    with pytest.raises(ValueError, match="compressed"):
        load(tmp_path / "c.npz")


def test_central_directory_claiming_more_than_the_file(tmp_path):
    path = checkpoint(tmp_path / "c.npz", array_node("a0", FIVE), {"a0": npy(FIVE)})
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")          # the last member's directory entry
    # set the uncompressed and compressed sizes of the last member to 4 GB - 1
    data[central + 20:central + 28] = (2 ** 32 - 1).to_bytes(4, "little") * 2
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not a gradlite checkpoint"):
        load(path)


def test_old_version_1_files_still_load(tmp_path):
    tree = {"type": "dict", "items": [[{"type": "str", "value": "w"},
                                       {"type": "array", "name": "a0"}],
                                      [{"type": "str", "value": "n"},
                                       {"type": "numpy_scalar", "name": "a1"}]]}
    path = checkpoint(tmp_path / "v1.npz", tree,
                      {"a0": npy(FIVE), "a1": npy(np.int64(3))}, version=1)
    out = load(path)
    np.testing.assert_array_equal(out["w"], FIVE)
    assert out["n"] == 3 and type(out["n"]) is np.int64


def test_loaded_arrays_are_writable_and_keep_fortran_order(tmp_path):
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    save({"a": a}, tmp_path / "f.npz")
    b = load(tmp_path / "f.npz")["a"]
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable and b.flags.f_contiguous
    b[0, 0] = 7.0


# ----------------------------------------------------------------- IDX

def test_idx_overflowing_or_impossible_dimensions(tmp_path):
    big = (2 ** 32 - 1).to_bytes(4, "big")
    for name, payload in [("overflow", bytes([0, 0, 8, 3]) + big * 3),
                          ("zero-times-huge", bytes([0, 0, 8, 3]) + bytes(4) + big * 2),
                          ("4GB-claim", bytes([0, 0, 0x0D, 1]) + big + b"\0" * 100)]:
        for suffix in ("", ".gz"):
            path = tmp_path / (name + suffix)
            (gzip.open if suffix else open)(path, "wb").write(payload)
            with pytest.raises(DataFileError, match=name):
                read_idx(path)


def test_idx_gzip_longer_than_its_header(tmp_path):
    path = tmp_path / "labels.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(10 + 5000))
    with pytest.raises(DataFileError, match="longer than its header says"):
        read_idx(path)


def test_idx_big_endian_types_come_back_native(tmp_path):
    for dtype in (np.int16, np.int32, np.float32, np.float64):
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4) - 5
        write_idx(tmp_path / "a.gz", array)
        back = read_idx(tmp_path / "a.gz")
        assert back.dtype == dtype and back.dtype.isnative and back.flags.writeable
        np.testing.assert_array_equal(back, array)


# ----------------------------------------------------------------- memory

def write_zip_bomb(path, megabytes):
    """A checkpoint whose one member inflates to ``megabytes`` MB of a float32 array."""
    tree = {"type": "array", "name": "a0"}         # version 1: no dtype and shape to check
    info = zipfile.ZipInfo("a0.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    head = raw_npy({"descr": "<f4", "fortran_order": False, "shape": (megabytes << 18,)}, b"")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__gradlite__.npy", header_member(tree, version=1))
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(head)
            zeros = bytes(1 << 20)
            for _ in range(megabytes):
                member.write(zeros)


RSS_SCRIPT = textwrap.dedent("""
    import resource, sys
    from gradlite.serialization import load
    from gradlite.data import read_idx
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        (load if sys.argv[1] == "load" else read_idx)(sys.argv[2])
        print("loaded", end=" ")
    except ValueError as err:
        print("refused", end=" ")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
""")


def peak_rss_growth_mb(how, path):
    """Loading ``path`` in a fresh process: ('loaded'/'refused', peak RSS growth in MB)."""
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT, how, str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    outcome, kilobytes = done.stdout.split()
    return outcome, int(kilobytes) / 1024


#: The bombs' inflated size: 1000 MB (from a 1 MB file) takes 7 s to build; the report
#: in the issue gives that figure, the tests build a quarter of it.
BOMB_MB = 250


def test_a_small_checkpoint_cannot_claim_hundreds_of_megabytes(tmp_path):
    bomb = tmp_path / "bomb.npz"
    write_zip_bomb(bomb, BOMB_MB)               # ~1 KB of file per MB it inflates to
    assert bomb.stat().st_size < BOMB_MB << 11
    outcome, growth = peak_rss_growth_mb("load", bomb)
    assert outcome == "refused" and growth < 50, growth


def test_a_small_gzip_cannot_become_hundreds_of_megabytes(tmp_path):
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:   # header: 10 labels, then zeros
        f.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big"))
        zeros = bytes(1 << 20)
        for _ in range(BOMB_MB):
            f.write(zeros)
    assert bomb.stat().st_size < BOMB_MB << 11
    outcome, growth = peak_rss_growth_mb("idx", bomb)
    assert outcome == "refused" and growth < 50, growth


# ----------------------------------------------------------------- download

@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "/tmp/x", "a/b", "a\\b", "..",
                                  ".", "", "x\0y"])
def test_download_refuses_names_that_leave_the_root(tmp_path, monkeypatch, name):
    fetched = []
    monkeypatch.setattr(download_module, "_fetch", lambda *args: fetched.append(args))
    with pytest.raises(ValueError, match="download: filename must be a plain file name"):
        download_module.download(name, "0" * 32, ["http://mirror/"], tmp_path / "root")
    assert fetched == [] and not (tmp_path / "x").exists()


def test_download_accepts_a_plain_name(tmp_path, monkeypatch):
    fetched = []
    monkeypatch.setattr(download_module, "_fetch", lambda *args: fetched.append(args))
    path = download_module.download("t10k-labels-idx1-ubyte.gz", "0" * 32,
                                    ["http://mirror/"], tmp_path)
    assert path == tmp_path / "t10k-labels-idx1-ubyte.gz"
    assert fetched[0][:2] == ("http://mirror/t10k-labels-idx1-ubyte.gz", path)


def test_idx_gzip_promising_more_than_100x_its_size(tmp_path):
    """A 1 MB gzip that honestly holds 1000 MB of zeros is still refused (real IDX data
    compresses 2-6x); the plain file it unzips to is read."""
    path = tmp_path / "zeros-idx1-ubyte.gz"
    megabytes = 40                              # 40 KB of gzip for 40 MB of data
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(bytes([0, 0, 8, 1]) + (megabytes << 20).to_bytes(4, "big"))
        zeros = bytes(1 << 20)
        for _ in range(megabytes):
            f.write(zeros)
    with pytest.raises(DataFileError, match="over 100 times the size of the gzip file; if "
                                            "the data is real, gunzip it"):
        read_idx(path)
    plain = tmp_path / "zeros-idx1-ubyte"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    assert read_idx(plain).shape == (megabytes << 20,)


def test_idx_small_gzip_of_zeros_is_read(tmp_path):
    write_idx(tmp_path / "z.gz", np.zeros((100, 28, 28), np.uint8))     # 78 KB -> 200 B
    assert read_idx(tmp_path / "z.gz").shape == (100, 28, 28)
