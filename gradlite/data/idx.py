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
import math
import sys
import zlib
from pathlib import Path

import numpy as np

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: A gzipped IDX file may promise at most this many data bytes per byte of file (real
#: data compresses 2-6x: MNIST's images 5x, its labels 2x), or ``SMALL_DATA`` bytes,
#: whichever is more. So a small gzip cannot make ``read_idx`` allocate gigabytes.
#: A plain (not gzipped) file has no such limit: its size is checked exactly.
MAX_GZIP_RATIO = 100
SMALL_DATA = 1 << 24


class DataFileError(ValueError):
    """A data file exists but its content is not what it should be."""


def read_idx(path, expected_ndim=None):
    """Read an IDX file into a numpy array (native byte order).

    The header is read first and checked against the file's size before anything is
    allocated; the data is then streamed (un-gzipped if the name ends in .gz) into the
    array and reading stops at the size the header declares. Raises ``DataFileError``
    naming the file if the magic number is wrong, the number of dimensions is not
    ``expected_ndim`` (when given), the sizes are more than the file can hold, or the
    data is shorter or longer than the header promises.
    """
    path = Path(path)
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            dtype, shape = _read_header(f, path, expected_ndim)
            _check_size(path, dtype, shape)
            array = np.empty(shape, dtype)
            _stream_into(f, array, path)
    except EOFError:
        raise DataFileError(f"{path}: the gzip stream ends early; the file is truncated "
                            "(an interrupted download?)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DataFileError(f"{path}: not a valid gzip file ({err})") from None
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def _read_header(f, path, expected_ndim):
    """(dtype, shape) from the magic number and the sizes that follow it."""
    magic_bytes = f.read(4)
    if len(magic_bytes) < 4:
        raise DataFileError(f"{path}: only {len(magic_bytes)} bytes, too short to be an "
                            "IDX file")
    type_code, ndim = magic_bytes[2], magic_bytes[3]
    magic = int.from_bytes(magic_bytes, "big")
    if magic_bytes[:2] != b"\x00\x00" or type_code not in IDX_TYPES:
        raise DataFileError(f"{path}: bad magic number 0x{magic:08X}; not an IDX file "
                            "(MNIST images start with 0x00000803, labels with 0x00000801)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(f"{path}: magic number 0x{magic:08X} says {ndim} dimensions, "
                            f"expected {expected_ndim} "
                            f"(0x{0x800 + expected_ndim:08X}); is it the right file?")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataFileError(f"{path}: truncated inside the header ({4 + len(sizes)} bytes)")
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    return np.dtype(IDX_TYPES[type_code]), shape


def _check_size(path, dtype, shape):
    """Refuse shapes numpy cannot allocate and data the file cannot hold: a plain file
    must hold exactly the data, a gzip at most ``MAX_GZIP_RATIO`` times its size."""
    expected = math.prod(shape) * dtype.itemsize
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > sys.maxsize:
        raise DataFileError(f"{path}: the header promises shape {shape}, too big to exist")
    file_size = path.stat().st_size
    header_size = 4 + 4 * len(shape)
    if path.suffix == ".gz":
        if expected > max(MAX_GZIP_RATIO * file_size, SMALL_DATA):
            raise DataFileError(f"{path}: the header promises shape {shape} ({expected} "
                                f"data bytes), over {MAX_GZIP_RATIO} times the size of "
                                "the gzip file; if the data is real, gunzip it and read "
                                "the plain file")
    elif file_size - header_size != expected:
        found = file_size - header_size
        problem = "truncated" if found < expected else "longer than its header says"
        raise DataFileError(f"{path}: {problem}: the header promises shape {shape} "
                            f"({expected} data bytes) but the file holds {found}")


def _stream_into(f, array, path, chunk=1 << 20):
    """Fill ``array`` from ``f`` chunk by chunk; then the file must end."""
    view = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        count = f.readinto(view[done:done + chunk])
        if not count:
            raise DataFileError(f"{path}: truncated: the header promises shape "
                                f"{array.shape} ({len(view)} data bytes) but the file "
                                f"holds {done}")
        done += count
    if f.read(1):
        raise DataFileError(f"{path}: longer than its header says: the header promises "
                            f"shape {array.shape} ({len(view)} data bytes)")


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
