"""Reader for the IDX format of the original MNIST files (gzipped or not).

An IDX file is a header followed by the array in row-major order::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 = uint8 (MNIST), 0x09 int8, 0x0B int16,
                0x0C int32, 0x0D float32, 0x0E float64 (all big-endian)
    byte  3     number of dimensions d
    then        d big-endian uint32 sizes, then the data

so the MNIST "magic numbers" 2049 (0x00000801) and 2051 (0x00000803) are simply
"uint8, 1 dimension" (labels) and "uint8, 3 dimensions" (images).
"""
import gzip
import zlib
from pathlib import Path

import numpy as np

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataFileError(ValueError):
    """A data file exists but its content is not what it should be."""


def _read_bytes(path):
    """The file's bytes, un-gzipped if its name ends in .gz."""
    path = Path(path)
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except EOFError:
        raise DataFileError(f"{path}: the gzip stream ends early; the file is truncated "
                            "(an interrupted download?)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DataFileError(f"{path}: not a valid gzip file ({err})") from None


def read_idx(path, expected_ndim=None):
    """Read an IDX file into a numpy array (native byte order).

    Raises ``DataFileError`` naming the file if the magic number is wrong, the number
    of dimensions is not ``expected_ndim`` (when given), or the data is shorter or
    longer than the header promises.
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataFileError(f"{path}: only {len(raw)} bytes, too short to be an IDX file")
    zero, type_code, ndim = raw[:2], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero != b"\x00\x00" or type_code not in IDX_TYPES:
        raise DataFileError(f"{path}: bad magic number 0x{magic:08X}; not an IDX file "
                            "(MNIST images start with 0x00000803, labels with 0x00000801)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(f"{path}: magic number 0x{magic:08X} says {ndim} dimensions, "
                            f"expected {expected_ndim} "
                            f"(0x{0x800 + expected_ndim:08X}); is it the right file?")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataFileError(f"{path}: truncated inside the header ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(raw) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise DataFileError(f"{path}: {problem}: the header promises shape {shape} "
                            f"({expected} data bytes) but the file holds {found}")
    array = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in .gz). For tests and tools."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder(">").str: k for k, v in IDX_TYPES.items()}
    key = array.dtype.newbyteorder(">").str
    if key not in codes:
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, codes[key], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(key, copy=False).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
