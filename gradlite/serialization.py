"""Checkpoints: ``save(obj, path)`` and ``load(path)``, never unpickling.

A checkpoint is an ``.npz`` archive (``np.savez``) that holds

- every array of ``obj``, as members ``a0``, ``a1``, ...;
- a member ``__gradlite__``: a JSON string describing the structure — dicts (with their
  key types), lists, tuples, ``None``, bools, ints, floats, strings, and which array goes
  where — under a format name and version.

It is read with ``np.load(..., allow_pickle=False)`` and ``json.loads``, so loading a
file can never run code. Tensors and Parameters are saved as their arrays and come back
as **numpy arrays**; ``Module.load_state_dict`` and ``Optimizer.load_state_dict`` accept
arrays. Writes are atomic: a crash mid-write leaves any earlier file at ``path`` intact.
"""

import json
import os
import tempfile

import numpy as np

FORMAT = "gradlite-checkpoint"
VERSION = 1
HEADER = "__gradlite__"
_KEY_TYPES = (str, bool, int, float, type(None))
_SCALAR_TYPES = {"bool": bool, "int": int, "float": float, "str": str}


def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of arrays, Tensors and Python scalars)
    to ``path``, atomically: temporary file in the same directory, fsync, rename."""
    arrays = {}
    tree = _encode(obj, arrays, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    arrays[HEADER] = np.array(header)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)        # mkstemp made it owner-only; use the usual rw-r--r--
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path, map_location=None, weights_only=True):
    """Read a checkpoint written by :func:`save`. Arrays (and Tensors) come back as
    numpy arrays. A file that is not a gradlite checkpoint raises ``ValueError``.
    ``map_location``, ``weights_only``: accepted as in PyTorch (CPU only; never unpickles)."""
    path = os.fspath(path)
    with open(path, "rb") as f:                 # missing file etc.: the usual OSError
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise _not_a_checkpoint(path, f"not an .npz (zip) archive: starts with {magic!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as e:
        raise _not_a_checkpoint(path, e) from None
    with archive:
        if HEADER not in archive.files:
            raise _not_a_checkpoint(path, f"an .npz archive without a {HEADER} header")
        try:
            header = json.loads(str(archive[HEADER]))
            if header.get("format") != FORMAT:
                raise ValueError(f"unknown format {header.get('format')!r}")
            if header.get("version") != VERSION:
                raise ValueError(f"format version {header.get('version')!r}; "
                                 f"this gradlite reads version {VERSION}")
            return _decode(header["tree"], archive)
        except Exception as e:
            raise _not_a_checkpoint(path, e) from None


def _not_a_checkpoint(path, reason):
    if isinstance(reason, Exception):
        reason = f"{type(reason).__name__}: {reason}"
    return ValueError(f"gradlite.load: {path} is not a gradlite checkpoint ({reason})")


def _is_tensor(obj):
    return (type(obj).__name__ in ("Tensor", "Parameter")
            and isinstance(getattr(obj, "data", None), np.ndarray))


def _encode(obj, arrays, where):
    """The JSON node for ``obj``; arrays go into ``arrays``. ``where`` names the spot
    (``obj['state'][0]``) for error messages."""
    if _is_tensor(obj):
        obj = obj.data
    if isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype.hasobject:
            raise TypeError(f"gradlite.save: {where} is an object array (dtype "
                            f"{obj.dtype}); only numeric, bool and string arrays can be "
                            "saved without pickling")
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"type": "array" if isinstance(obj, np.ndarray) else "numpy_scalar",
                "name": name}
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


def _decode(node, archive):
    kind = node["type"]
    if kind == "none":
        return None
    if kind in _SCALAR_TYPES:
        return _SCALAR_TYPES[kind](node["value"])
    if kind == "array":
        return archive[node["name"]]
    if kind == "numpy_scalar":
        return archive[node["name"]][()]
    if kind in ("list", "tuple"):
        items = [_decode(x, archive) for x in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {_decode(k, archive): _decode(v, archive) for k, v in node["items"]}
    raise ValueError(f"unknown node type {kind!r}")
