"""Fetch a file over HTTP(S): try each mirror, check the md5, show progress, write atomically."""
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path


class DownloadError(OSError):
    """A data file could not be downloaded (no network, or every mirror failed)."""


class _TextProgress:
    """A minimal progress bar on stderr, used when tqdm is not installed."""

    def __init__(self, total, desc):
        self.total, self.desc, self.done = total, desc, 0

    def update(self, count):
        self.done += count
        if self.total:
            sys.stderr.write(f"\r{self.desc}: {100 * self.done // self.total:3d}% "
                             f"of {self.total / 1e6:.1f} MB")
        else:
            sys.stderr.write(f"\r{self.desc}: {self.done / 1e6:.1f} MB")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")


def _progress(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return _TextProgress(total, desc)
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024)


def _fetch(url, destination, md5, timeout):
    """Stream ``url`` into a temp file beside ``destination``; rename it there if the md5 matches."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0)
        digest = hashlib.md5()
        fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=destination.name + ".")
        bar = _progress(total, destination.name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != md5:
                raise DownloadError(f"{url}: md5 {digest.hexdigest()} does not match the "
                                    f"expected {md5}")
            os.replace(tmp, destination)
        finally:
            bar.close()
            if os.path.exists(tmp):
                os.remove(tmp)


def _check_plain_name(filename):
    """Refuse names that are not one file name inside the target directory."""
    separators = {"/", "\\", os.sep, os.altsep} - {None}
    if (not isinstance(filename, str) or filename in ("", ".", "..") or "\0" in filename
            or any(sep in filename for sep in separators)):
        raise ValueError(f"download: filename must be a plain file name inside root "
                         f"(no directories, no '..'), got {filename!r}")


def download(filename, md5, mirrors, root, timeout=30):
    """Download ``filename`` from the first mirror that serves it with the right md5.

    ``mirrors`` are base URLs ending in '/'.  Raises ``DownloadError`` listing what
    each mirror said when none worked, ``ValueError`` if ``filename`` is not a plain
    file name (a path like ``../x`` or ``/etc/x`` would write outside ``root``).
    """
    _check_plain_name(filename)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    problems = []
    for base in mirrors:
        try:
            _fetch(base + filename, root / filename, md5, timeout)
            return root / filename
        except (urllib.error.URLError, OSError) as err:  # URLError, timeouts, bad md5
            problems.append(str(getattr(err, "reason", err)))
    raise DownloadError("; ".join(dict.fromkeys(problems)))  # each distinct reason once
