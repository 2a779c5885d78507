"""Checkpoints: ``save(obj, path)`` and ``load(path)``, never unpickling.

A checkpoint is an ``.npz`` archive (``np.savez``: a zip of uncompressed ``.npy`` members)
that holds

- every array of ``obj``, as members ``a0``, ``a1``, ...;
- a member ``__gradlite__``: a JSON string describing the structure — dicts (with their
  key types), lists, tuples, ``None``, bools, ints, floats, strings, and which array
  (with its dtype and shape) goes where — under a format name and version.

Loading trusts nothing in the file. The zip directory, each ``.npy`` header and the JSON
tree are checked against each other and against the file's size before anything is
allocated: members must be stored uncompressed (as ``save`` writes them) and fit in the
file, an array's bytes must be exactly what its dtype and shape need, a ``bool`` must
be ``true``/``false``, a scalar must point at a 0-d array, every array is used once. So
loading a file allocates at most a small multiple of the file's size (the arrays: their
bytes; the JSON tree: its Python objects), and can never run code (no pickle, no
``eval``). A file that fails a check raises one ``ValueError`` naming
``gradlite.load``, the file and the field.

A path ending in ``.safetensors`` is read and written in the safetensors format instead
(a flat ``{name: array}`` dict, the format PyTorch users exchange weights in), with the
``safetensors`` package (``pip install "gradlite[safetensors]"``).

Writes are atomic and keep permissions as ``open`` would: the data goes to a temporary
file beside ``path`` (created with the umask applied, or given the mode of the file it
replaces), is fsynced, renamed over ``path``, and the directory is fsynced. Temporary
files left by a killed writer are removed by the next save to the same path.
"""

import json
import math
import os
import re
import secrets
import sys
import time
import zipfile

import numpy as np

FORMAT = "gradlite-checkpoint"
VERSION = 2                      # 2: array nodes record their dtype and shape
READABLE_VERSIONS = (1, 2)
HEADER = "__gradlite__"
_KEY_TYPES = (str, bool, int, float, type(None))
_SCALAR_TYPES = {"bool": bool, "int": int, "float": float, "str": str}
#: dtype kinds a checkpoint may hold: bool, integers, floats, complex, bytes, str,
#: datetimes. Not object ("O") or structured ("V") arrays.
_ARRAY_KINDS = "biufcSUMm"
#: A temporary file left by a writer that is still alive but has not touched it for
#: this long is stale too (its writer hung, or lives on another machine).
STALE_AFTER = 3600.0


class _Invalid(ValueError):
    """A check of the file failed; the message names the field."""


# ----------------------------------------------------------------- save

def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of arrays, Tensors and Python scalars)
    to ``path``, atomically (see the module docstring). A ``.safetensors`` path takes a
    flat dict of str -> array/Tensor."""
    path = os.fspath(path)
    if _is_safetensors(path):
        content = _safetensors_bytes(obj)
        _write_atomically(path, lambda f: f.write(content))
        return
    arrays = {}
    tree = _encode(obj, arrays, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[HEADER] = np.array(header)
    _write_atomically(path, lambda f: np.savez(f, **arrays))


def _write_atomically(path, write):
    """``write(file)`` into a temporary file beside ``path``, then rename it to ``path``."""
    if os.path.islink(path):
        path = os.path.realpath(path)      # write where the link points, as open() would
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(path)
    tmp = _temporary_name(path, os.getpid())
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = None                        # a new file: 0o666 minus the umask, as open()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as err:
        raise _save_failed(path, err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, OSError):
            raise _save_failed(path, err) from None
        raise
    _fsync_directory(directory)


def _save_failed(path, err):
    """The same kind of OSError, saying that ``path`` was not written and why."""
    reason = err.strerror or str(err)
    message = f"gradlite.save: could not write {path}: {reason}"
    if err.errno is None:
        return type(err)(message)
    return type(err)(err.errno, message)


def _temporary_name(path, pid):
    """``dir/.name.<pid>.<random>.tmp``: hidden, beside ``path``, naming its writer."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.{pid}.{secrets.token_hex(6)}.tmp")


def _remove_stale_temporaries(path):
    """Remove temporaries of ``path`` (our own naming only) whose writer process is
    gone, or that nobody touched for ``STALE_AFTER`` seconds."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{12}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:
        return                              # the write itself will report the problem
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        candidate = os.path.join(directory, entry)
        try:
            age = time.time() - os.lstat(candidate).st_mtime
        except OSError:
            continue
        if age > STALE_AFTER or not _process_alive(int(match.group(1))):
            _remove(candidate)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True                         # someone else's process, or not a pid we know
    return True


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_directory(directory):
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_tensor(obj):
    return (type(obj).__name__ in ("Tensor", "Parameter")
            and isinstance(getattr(obj, "data", None), np.ndarray))


def _check_dtype(array, where):
    if array.dtype.kind not in _ARRAY_KINDS or array.dtype.itemsize == 0:
        raise TypeError(f"gradlite.save: {where} is an array of dtype {array.dtype}; only "
                        "bool, numeric, bytes, str and datetime arrays can be saved "
                        "without pickling")


def _encode(obj, arrays, where):
    """The JSON node for ``obj``; arrays go into ``arrays``. ``where`` names the spot
    (``obj['state'][0]``) for error messages."""
    if _is_tensor(obj):
        obj = obj.data
    if isinstance(obj, (np.ndarray, np.generic)):
        _check_dtype(obj, where)
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"type": "array" if isinstance(obj, np.ndarray) else "numpy_scalar",
                "name": name, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if obj is None:
        return {"type": "none"}
    for kind, cls in _SCALAR_TYPES.items():     # bool first: True is also an int
        if isinstance(obj, cls):
            return {"type": kind, "value": cls(obj)}
    if isinstance(obj, (list, tuple)):
        return {"type": "tuple" if isinstance(obj, tuple) else "list",
                "items": [_encode(x, arrays, f"{where}[{i}]") for i, x in enumerate(obj)]}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, _KEY_TYPES):
                raise TypeError(f"gradlite.save: {where} has a key of type "
                                f"{type(k).__name__}; keys must be str, int, float, bool "
                                "or None")
            items.append([_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")])
        return {"type": "dict", "items": items}
    raise TypeError(f"gradlite.save: cannot save {where} of type {type(obj).__name__}; "
                    "use dicts, lists, tuples, arrays, Tensors, numbers, str or None")


# ----------------------------------------------------------------- load

def load(path, map_location=None, weights_only=True):
    """Read a checkpoint written by :func:`save` (or a ``.safetensors`` file). Arrays
    (and Tensors) come back as numpy arrays. A file that is not a gradlite checkpoint,
    or fails a check, raises ``ValueError``; a missing file the usual ``OSError``.
    ``map_location``, ``weights_only``: accepted as in PyTorch (CPU only; never unpickles)."""
    path = os.fspath(path)
    if _is_safetensors(path):
        return _load_safetensors(path)
    with open(path, "rb") as f:                 # missing file etc.: the usual OSError
        magic = f.read(4)
        if magic != b"PK\x03\x04":
            raise _not_a_checkpoint(path, f"not an .npz (zip) archive: starts with {magic!r}")
        try:
            with zipfile.ZipFile(f) as archive:
                members = _Members(archive, os.fstat(f.fileno()).st_size)
                header = _read_header(members)
                obj = _decode(header["tree"], members, header["version"], "obj")
                members.check_all_used()
                return obj
        except Exception as e:          # RecursionError (a deep tree) included
            raise _not_a_checkpoint(path, e) from None


def _not_a_checkpoint(path, reason):
    if isinstance(reason, Exception) and not isinstance(reason, _Invalid):
        reason = f"{type(reason).__name__}: {reason}"
    return ValueError(f"gradlite.load: {path} is not a gradlite checkpoint ({reason})")


class _Members:
    """The archive's ``.npy`` members, checked against the file before any is read;
    ``array(name)`` reads one (once) and checks it against its own header."""

    def __init__(self, archive, file_size):
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise _Invalid("the archive lists a member twice")
        total = 0
        self.infos = {}
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise _Invalid(f"member {info.filename!r} is not an .npy array")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise _Invalid(f"member {info.filename} is compressed or encrypted; "
                               "gradlite.save stores arrays uncompressed")
            if info.compress_size != info.file_size:
                raise _Invalid(f"member {info.filename}: stored size {info.compress_size} "
                               f"!= its size {info.file_size}")
            total += info.file_size
            self.infos[info.filename[:-4]] = info
        if total > file_size:
            raise _Invalid(f"its members claim {total} bytes but the file has {file_size}")
        self.archive = archive
        self.used = set()

    def array(self, name, where):
        """The array of member ``name``, refusing a missing or already used one."""
        if not isinstance(name, str) or name == HEADER or name not in self.infos:
            raise _Invalid(f"{where}: no array member {name!r}")
        if name in self.used:
            raise _Invalid(f"{where}: array member {name} is used twice")
        self.used.add(name)
        return _read_npy(self.archive, self.infos[name])

    def check_all_used(self):
        unused = sorted(set(self.infos) - self.used - {HEADER})
        if unused:
            raise _Invalid(f"member(s) {', '.join(unused)} are not in the header's tree")


def _read_npy(archive, info):
    """One stored ``.npy`` member: its header is parsed (never with pickle), its dtype
    checked, and its size must be exactly header + what dtype and shape need."""
    name = info.filename
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise _Invalid(f"member {name}: .npy format version {version} is not supported")
        if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.itemsize == 0:
            raise _Invalid(f"member {name}: dtype {dtype} is not allowed in a checkpoint")
        nbytes = _nbytes(shape, dtype, f"member {name}")
        data_size = info.file_size - f.tell()
        if data_size != nbytes:
            raise _Invalid(f"member {name}: its header says {dtype} {shape} ({nbytes} "
                           f"bytes) but it holds {data_size} bytes")
        array = np.empty(shape, dtype, order="F" if fortran_order else "C")
        flat = array.reshape(-1, order="A").view(np.uint8)     # a view, in file order
        _read_into(f, flat, name)
        return array


def _nbytes(shape, dtype, where):
    """Bytes of an array of ``shape`` and ``dtype``; refuses shapes numpy could not
    allocate (negative sizes, or products that overflow even when a size is 0)."""
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise _Invalid(f"{where}: bad shape {shape}")
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > sys.maxsize:
        raise _Invalid(f"{where}: shape {shape} of {dtype} is too big to exist")
    return math.prod(shape) * dtype.itemsize


def _read_into(f, buffer, name, chunk=1 << 20):
    """Fill the uint8 array ``buffer`` from ``f`` in chunks (no second copy in memory)."""
    view = memoryview(buffer)
    done = 0
    while done < len(view):
        count = f.readinto(view[done:done + chunk])
        if not count:
            raise _Invalid(f"member {name} ends early")
        done += count


def _read_header(members):
    """The parsed JSON header, with its format and version checked."""
    if HEADER not in members.infos:
        raise _Invalid(f"an .npz archive without a {HEADER} header")
    text = _read_npy(members.archive, members.infos[HEADER])
    if text.dtype.kind != "U" or text.shape != ():
        raise _Invalid(f"the {HEADER} header is not a string")
    header = json.loads(str(text[()]))
    if not isinstance(header, dict):
        raise _Invalid(f"the {HEADER} header is not a JSON object")
    if header.get("format") != FORMAT:
        raise _Invalid(f"unknown format {header.get('format')!r}")
    if header.get("version") not in READABLE_VERSIONS:
        raise _Invalid(f"format version {header.get('version')!r}; this gradlite reads "
                       f"versions {', '.join(map(str, READABLE_VERSIONS))}")
    if "tree" not in header:
        raise _Invalid("the header has no tree")
    return header


#: Node type -> the fields it has besides "type" (version 2; version 1 arrays lack
#: dtype and shape).
_NODE_FIELDS = {"none": set(), "bool": {"value"}, "int": {"value"}, "float": {"value"},
                "str": {"value"}, "list": {"items"}, "tuple": {"items"}, "dict": {"items"},
                "array": {"name", "dtype", "shape"},
                "numpy_scalar": {"name", "dtype", "shape"}}


def _decode(node, members, version, where):
    """The object a header node describes; every field checked (``where`` names it)."""
    if not isinstance(node, dict) or node.get("type") not in _NODE_FIELDS:
        raise _Invalid(f"header field {where}: not a node of a known type")
    kind = node["type"]
    fields = _NODE_FIELDS[kind]
    if version == 1 and kind in ("array", "numpy_scalar"):
        fields = {"name"}
    if set(node) != {"type", *fields}:
        raise _Invalid(f"header field {where}: a {kind} node has the fields "
                       f"{sorted(set(node) - {'type'})}, expected {sorted(fields)}")
    if kind == "none":
        return None
    if kind in _SCALAR_TYPES:
        return _scalar(kind, node["value"], where)
    if kind in ("array", "numpy_scalar"):
        return _array(node, members, where)
    items = node["items"]
    if not isinstance(items, list):
        raise _Invalid(f"header field {where}: items is not a list")
    if kind in ("list", "tuple"):
        values = [_decode(x, members, version, f"{where}[{i}]") for i, x in enumerate(items)]
        return values if kind == "list" else tuple(values)
    return _dict(items, members, version, where)


def _scalar(kind, value, where):
    """A JSON value that must already be of the node's type: no "false" -> True."""
    cls = _SCALAR_TYPES[kind]
    if type(value) is not cls:
        raise _Invalid(f"header field {where}: a {kind} node holds {value!r} "
                       f"({type(value).__name__})")
    return value


def _array(node, members, where):
    array = members.array(node["name"], f"header field {where}")
    if "dtype" in node and (node["dtype"] != array.dtype.str
                            or node["shape"] != list(array.shape)):
        raise _Invalid(f"header field {where}: the header says {node['dtype']} "
                       f"{node['shape']} but member {node['name']} holds "
                       f"{array.dtype.str} {list(array.shape)}")
    if node["type"] == "numpy_scalar":
        if array.ndim != 0:
            raise _Invalid(f"header field {where}: a scalar points at member "
                           f"{node['name']} of shape {array.shape}")
        return array[()]
    return array


def _dict(items, members, version, where):
    result = {}
    for item in items:
        if not isinstance(item, list) or len(item) != 2:
            raise _Invalid(f"header field {where}: a dict item is not a [key, value] pair")
        key_node, value_node = item
        if not isinstance(key_node, dict) or key_node.get("type") not in (
                "none", "bool", "int", "float", "str"):
            raise _Invalid(f"header field {where}: a dict key must be str, int, float, "
                           "bool or None")
        key = _decode(key_node, members, version, where)
        if key in result:
            raise _Invalid(f"header field {where}: the key {key!r} appears twice")
        result[key] = _decode(value_node, members, version, f"{where}[{key!r}]")
    return result


# ----------------------------------------------------------------- safetensors

def _is_safetensors(path):
    return path.endswith(".safetensors")


def _safetensors_numpy(caller):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{caller}: .safetensors files need the safetensors package: "
                          'pip install "gradlite[safetensors]"') from None
    return safetensors.numpy


def _safetensors_bytes(obj):
    """The file content for a flat ``{str: array or Tensor}`` dict."""
    if not isinstance(obj, dict):
        raise TypeError("gradlite.save: a .safetensors file holds a dict of str -> "
                        f"arrays (a state_dict), got {type(obj).__name__}")
    tensors = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"gradlite.save: a .safetensors file needs str keys, got "
                            f"{key!r}")
        if _is_tensor(value):
            value = value.data
        if not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"gradlite.save: a .safetensors file holds only arrays; "
                            f"obj[{key!r}] is a {type(value).__name__}")
        value = np.asarray(value)
        tensors[key] = np.ascontiguousarray(value, value.dtype.newbyteorder("="))
    safetensors_numpy = _safetensors_numpy("gradlite.save")
    try:
        return safetensors_numpy.save(tensors)
    except Exception as err:        # e.g. a dtype the format has no code for (complex)
        raise TypeError(f"gradlite.save: cannot write a .safetensors file: {err}") from None


def _load_safetensors(path):
    """``{name: array}`` from a .safetensors file; the safetensors library checks the
    header (size, JSON, offsets, dtypes) against the file and maps, not reads, it."""
    safetensors_numpy = _safetensors_numpy("gradlite.load")
    with open(path, "rb"):                  # a missing file etc.: the usual OSError
        pass
    try:
        arrays = dict(safetensors_numpy.load_file(path))
    except Exception as err:                # damaged header, or a dtype numpy lacks (bf16)
        raise ValueError(f"gradlite.load: cannot read {path} as a safetensors file "
                         f"({type(err).__name__}: {err})") from None
    for name, array in arrays.items():     # bfloat16 etc. load only where ml_dtypes is installed
        if array.dtype.kind not in "biuf":
            raise ValueError(f"gradlite.load: cannot read {path} as a safetensors file "
                             f"(tensor {name!r} has dtype {array.dtype}, which gradlite "
                             "tensors cannot hold)")
    return arrays
