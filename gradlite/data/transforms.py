"""Image transforms and augmentations in numpy (the augmentations of the lectures).

Every transform here takes either one image ``(C, H, W)`` or a batch ``(N, C, H, W)``
of floats (pixel values in [0, 1] unless normalised) and returns the same layout.
On a batch, random transforms draw independent parameters for every image in one
vectorised step, which is how the array-backed datasets apply them (per batch).

Randomness comes from gradlite's global generator (``gradlite.manual_seed``) unless a
``generator`` (a ``numpy.random.Generator`` or an int seed) is passed.

Datasets yield uint8 images (H, W) as torchvision's do, so a pipeline starts with
``ToTensor()``: ``Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])``.
Custom transforms: any callable works. Datasets call it on one image at a time unless
it comes after ``ToTensor`` and has the attribute ``supports_batch = True``, in which
case it gets the whole batch.
"""
import numbers

import numpy as np

from ..random import as_generator
from .collate import as_array


def apply_transform(transform, batch):
    """Apply ``transform`` to every item of ``batch``, as ``dataset[i]`` applies it to one.

    Vectorised where that gives the same answer: ``ToTensor`` converts the whole batch,
    and after it every transform with ``supports_batch`` gets the whole (N, C, H, W)
    batch; any other transform is called item by item.
    """
    converted = False
    for step in _steps(transform):
        if isinstance(step, ToTensor):
            batch, converted = step.batch(batch), True
        elif converted and getattr(step, "supports_batch", False):
            batch = step(batch)
        else:
            batch = np.stack([np.asarray(step(item)) for item in batch])
    return batch


def _steps(transform):
    """The transforms a (possibly nested) ``Compose`` applies, in order."""
    if transform is None:
        return []
    if isinstance(transform, Compose):
        return [step for t in transform.transforms for step in _steps(t)]
    return [transform]


class Transform:
    """Base class: subclasses implement ``forward(batch)`` on an (N, C, H, W) array."""

    supports_batch = True

    def __call__(self, x):
        x = as_array(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected an image (C, H, W) or a "
                             f"batch (N, C, H, W), got shape {x.shape} (images from a "
                             "dataset need transforms.ToTensor() first)")
        if x.ndim == 3:
            return self.forward(x[None])[0]
        return self.forward(x)

    def forward(self, batch):
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class RandomTransform(Transform):
    """A transform that draws random parameters from ``self.rng``."""

    def __init__(self, generator=None):
        self._generator = None if generator is None else as_generator(generator)

    @property
    def rng(self):
        return as_generator(self._generator)


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        self.supports_batch = all(getattr(t, "supports_batch", False) for t in self.transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToTensor:
    """Convert an image (H, W) or (H, W, C) (a numpy array or a PIL image) to (C, H, W)
    float32, as torchvision's ``ToTensor``: uint8 values are divided by 255, floats kept.

    It returns a numpy array; the DataLoader wraps batches as Tensors.
    """

    supports_batch = False

    def __call__(self, image):
        x = as_array(image)
        if x.ndim not in (2, 3):
            raise ValueError(f"ToTensor: expected an image (H, W) or (H, W, C), got shape {x.shape}")
        return self.batch(x[None])[0]

    def batch(self, images):
        """The same for a batch (N, H, W) or (N, H, W, C) -> (N, C, H, W)."""
        x = as_array(images)
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor: expected images (N, H, W) or (N, H, W, C), got "
                             f"shape {x.shape}")
        if x.dtype == np.uint8:
            return x.astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(x, dtype=x.dtype if x.dtype.kind == "f" else np.float32)

    def __repr__(self):
        return "ToTensor()"


def _per_channel(values):
    """A scalar or sequence as a (1, C, 1, 1) array that broadcasts over a batch."""
    return np.asarray(values, dtype=np.float64).reshape(1, -1, 1, 1)


def _float_dtype(batch):
    """Keep float32/float64 inputs' dtype; anything else (uint8, int) gives float32."""
    return batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` for every channel c (scalars apply to all channels)."""

    def __init__(self, mean, std):
        self.mean = mean
        self.std = std
        if np.any(np.asarray(std) <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std!r}")

    def forward(self, batch):
        mean = _per_channel(self.mean)
        std = _per_channel(self.std)
        if mean.shape[1] not in (1, batch.shape[1]) or std.shape[1] not in (1, batch.shape[1]):
            raise ValueError(f"Normalize: mean/std have {mean.shape[1]}/{std.shape[1]} values "
                             f"but the image has {batch.shape[1]} channels")
        return ((batch - mean) / std).astype(_float_dtype(batch), copy=False)


# ----------------------------------------------------------------- geometry

def _range(value, name, centre=0.0):
    """A number v means the interval (centre - v, centre + v); a pair is taken as is."""
    if isinstance(value, numbers.Real):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        return (centre - value, centre + value)
    low, high = value
    if low > high:
        raise ValueError(f"{name} must be (min, max) with min <= max, got {value}")
    return (float(low), float(high))


def _pad_and_flatten(batch, fill):
    """Surround every image by a border of ``fill`` (1 pixel before, 2 after) and
    flatten it to (N, C, (H+3) * (W+3)).

    Source positions clipped to [-1, H] x [-1, W], and their right/lower neighbours,
    then land on the image or on this border: reading outside needs no special case.
    """
    padded = np.pad(batch, ((0, 0), (0, 0), (1, 2), (1, 2)), constant_values=fill)
    return padded.reshape(len(batch), batch.shape[1], -1)


def _gather(flat, index):
    """Pixels of every channel at flat positions ``index`` (N, H', W') -> (N, C, H', W')."""
    n, c, size = flat.shape
    start = (np.arange(n * c) * size).reshape(n, c, 1)  # where each (image, channel) begins
    pixels = np.take(flat.reshape(-1), start + index.reshape(n, 1, -1))
    return pixels.reshape(n, c, *index.shape[1:])


def sample_bilinear(batch, src_y, src_x, fill=0.0):
    """Read ``batch`` (N, C, H, W) at real-valued source positions, bilinearly.

    ``src_y, src_x`` have shape (N, H', W'); the result is (N, C, H', W').  Each output
    pixel is the weighted mean of the 4 neighbouring pixels,
    ``(1-a)(1-b) I[y0,x0] + (1-a) b I[y0,x0+1] + a (1-b) I[y0+1,x0] + a b I[y0+1,x0+1]``
    with ``a = y - y0``, ``b = x - x0``; neighbours outside the image count as ``fill``.
    """
    _, _, h, w = batch.shape
    flat = _pad_and_flatten(batch, fill)
    y, x = np.clip(src_y, -1, h), np.clip(src_x, -1, w)
    y0, x0 = np.floor(y), np.floor(x)
    a, b = (y - y0)[:, None], (x - x0)[:, None]
    row = w + 3  # stride of one row in the padded, flattened image
    corner = (y0.astype(np.int64) + 1) * row + (x0.astype(np.int64) + 1)
    top = (1 - b) * _gather(flat, corner) + b * _gather(flat, corner + 1)
    bottom = (1 - b) * _gather(flat, corner + row) + b * _gather(flat, corner + row + 1)
    return (1 - a) * top + a * bottom


def sample_nearest(batch, src_y, src_x, fill=0.0):
    """Like ``sample_bilinear`` but reads the single nearest pixel."""
    _, _, h, w = batch.shape
    y = np.rint(np.clip(src_y, -1, h)).astype(np.int64)
    x = np.rint(np.clip(src_x, -1, w)).astype(np.int64)
    return _gather(_pad_and_flatten(batch, fill), (y + 1) * (w + 3) + (x + 1))


def affine(batch, angle=0.0, translate=(0.0, 0.0), scale=1.0, interpolation="bilinear", fill=0.0):
    """Rotate (degrees, counter-clockwise), scale and shift each image about its centre.

    ``angle`` and ``scale`` are scalars or arrays of length N; ``translate`` is (dx, dy)
    in pixels, or an (N, 2) array. Inverse mapping: an output pixel p reads the input at
    ``c + R(-angle) (p - c - t) / scale``, where c is the image centre and R a rotation,
    so every output pixel gets a value and there are no holes.
    """
    batch = np.asarray(batch)
    n, _, h, w = batch.shape
    dtype = _float_dtype(batch)  # float32 images get float32 coordinates: half the work
    theta = np.deg2rad(np.broadcast_to(np.asarray(angle, np.float64), (n,)))[:, None, None]
    scale = np.broadcast_to(np.asarray(scale, dtype), (n,))[:, None, None]
    shift = np.broadcast_to(np.asarray(translate, dtype), (n, 2))
    cy, cx = dtype.type((h - 1) / 2.0), dtype.type((w - 1) / 2.0)
    ys, xs = np.meshgrid(np.arange(h, dtype=dtype), np.arange(w, dtype=dtype), indexing="ij")
    dx = (xs - cx - shift[:, 0, None, None]) / scale
    dy = (ys - cy - shift[:, 1, None, None]) / scale
    # y points down, so a counter-clockwise turn on screen is
    # x' = x cos + y sin, y' = -x sin + y cos; its inverse swaps the signs of sin.
    cos, sin = np.cos(theta).astype(dtype), np.sin(theta).astype(dtype)
    src_x = cx + cos * dx - sin * dy
    src_y = cy + sin * dx + cos * dy
    if interpolation == "bilinear":
        out = sample_bilinear(batch, src_y, src_x, fill)
    elif interpolation == "nearest":
        out = sample_nearest(batch, src_y, src_x, fill)
    else:
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    return out.astype(dtype, copy=False)


class RandomAffine(RandomTransform):
    """Random rotation, shift and scale per image (torchvision's ``RandomAffine``).

    Args:
        degrees: angle range; a number d means (-d, d).
        translate: (a, b): shift by up to a * width horizontally and b * height vertically.
        scale: (lo, hi): zoom factor drawn uniformly from this range.
        interpolation: 'bilinear' or 'nearest'.  fill: value for pixels from outside.
    """

    def __init__(self, degrees, translate=None, scale=None, interpolation="bilinear",
                 fill=0.0, generator=None):
        super().__init__(generator)
        self.degrees = _range(degrees, "RandomAffine: degrees")
        if translate is not None and not all(0 <= t <= 1 for t in translate):
            raise ValueError(f"RandomAffine: translate must be two fractions in [0, 1], got {translate}")
        if scale is not None and not 0 < scale[0] <= scale[1]:
            raise ValueError(f"RandomAffine: scale must be (lo, hi) with 0 < lo <= hi, got {scale}")
        self.translate, self.scale = translate, scale
        self.interpolation, self.fill = interpolation, fill

    def forward(self, batch):
        n, _, h, w = batch.shape
        angle = self.rng.uniform(*self.degrees, size=n)
        shift = np.zeros((n, 2))
        if self.translate is not None:
            limit = np.array([self.translate[0] * w, self.translate[1] * h])
            shift = self.rng.uniform(-limit, limit, size=(n, 2))
        scale = 1.0 if self.scale is None else self.rng.uniform(*self.scale, size=n)
        return affine(batch, angle, shift, scale, self.interpolation, self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (d means (-d, d))."""

    def __init__(self, degrees, interpolation="bilinear", fill=0.0, generator=None):
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability ``p``."""

    axis = -1

    def __init__(self, p=0.5, generator=None):
        super().__init__(generator)
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, batch):
        flip = self.rng.random(len(batch)) < self.p
        return np.where(flip[:, None, None, None], np.flip(batch, axis=self.axis), batch)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``."""

    axis = -2


class RandomCrop(RandomTransform):
    """Cut a random ``size`` window from each image, after padding it with ``fill``.

    ``size``: int or (h, w).  ``padding``: pixels added on every side (int) or None.
    With padding p and size equal to the image size this is a random shift by up to p
    pixels.
    """

    def __init__(self, size, padding=None, fill=0.0, generator=None):
        super().__init__(generator)
        if padding is not None and not (isinstance(padding, numbers.Integral) and padding >= 0):
            raise ValueError(f"RandomCrop: padding must be a non-negative int or None, got {padding!r}")
        self.size = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        self.padding, self.fill = padding, fill

    def forward(self, batch):
        if self.padding:
            p = self.padding
            batch = np.pad(batch, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        n, _, h, w = batch.shape
        ch, cw = self.size
        if ch > h or cw > w:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the "
                             f"(padded) image {(h, w)}")
        top = self.rng.integers(0, h - ch + 1, size=n)
        left = self.rng.integers(0, w - cw + 1, size=n)
        rows = (top[:, None] + np.arange(ch))[:, :, None]
        cols = (left[:, None] + np.arange(cw))[:, None, :]
        return batch[np.arange(n)[:, None, None], :, rows, cols].transpose(0, 3, 1, 2)


# ----------------------------------------------------------------- intensity

def _gray(batch):
    """Luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R 601) as (N, 1, H, W); 1 channel passes."""
    if batch.shape[1] == 1:
        return batch
    if batch.shape[1] != 3:
        raise ValueError(f"expected 1 or 3 channels, got {batch.shape[1]}")
    weights = np.array([0.299, 0.587, 0.114], dtype=batch.dtype).reshape(1, 3, 1, 1)
    return (batch * weights).sum(axis=1, keepdims=True)


class Grayscale(Transform):
    """Convert to gray levels, output with ``num_output_channels`` (1 or 3) equal channels."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got {num_output_channels}")
        self.num_output_channels = num_output_channels

    def forward(self, batch):
        return np.repeat(_gray(batch), self.num_output_channels, axis=1)


class ColorJitter(RandomTransform):
    """Randomly change brightness and contrast, per image, on [0, 1] images.

    brightness b: multiply by f ~ U[max(0, 1 - b), 1 + b].
    contrast c: ``m + f (x - m)`` with f ~ U[max(0, 1 - c), 1 + c] and m the image's mean
    gray level.  Results are clipped to [0, 1].
    """

    def __init__(self, brightness=0.0, contrast=0.0, generator=None):
        super().__init__(generator)
        self.brightness = _range(brightness, "ColorJitter: brightness", centre=1.0)
        self.contrast = _range(contrast, "ColorJitter: contrast", centre=1.0)

    def _factors(self, limits, n):
        return self.rng.uniform(max(0.0, limits[0]), limits[1], size=(n, 1, 1, 1))

    def forward(self, batch):
        n = len(batch)
        out = batch * self._factors(self.brightness, n)
        out = np.clip(out, 0.0, 1.0)
        mean = _gray(out).mean(axis=(1, 2, 3), keepdims=True)
        out = mean + self._factors(self.contrast, n) * (out - mean)
        return np.clip(out, 0.0, 1.0).astype(_float_dtype(batch), copy=False)


class GaussianNoise(RandomTransform):
    """Add independent ``N(mean, std^2)`` noise to every pixel."""

    def __init__(self, std=0.1, mean=0.0, generator=None):
        super().__init__(generator)
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {std}")
        self.std, self.mean = std, mean

    def forward(self, batch):
        noise = self.rng.normal(self.mean, self.std, size=batch.shape)
        return (batch + noise).astype(_float_dtype(batch), copy=False)


class ZCAWhitening(Transform):
    """ZCA whitening: decorrelate pixels while staying as close as possible to the input.

    ``fit(X)`` on training images (N, ...) computes the mean mu and the covariance
    ``S = (X - mu)^T (X - mu) / N = U diag(l) U^T`` of the flattened images; then
    ``W = U diag(1 / sqrt(l + eps)) U^T`` and each image maps to ``(x - mu) W``.
    The result has (nearly) identity covariance; ``eps`` keeps tiny eigenvalues from
    blowing up noise.
    """

    def __init__(self, eps=1e-2):
        self.eps = eps
        self.mean = None
        self.matrix = None

    def fit(self, images):
        """Learn mu and W from ``images`` (N, ...): an array or Tensor of training images
        as the model will see them (e.g. float32 in [0, 1], not the raw uint8 ``.data``)."""
        x = as_array(images).astype(np.float64)
        flat = x.reshape(len(x), -1)
        self.mean = flat.mean(axis=0)
        centred = flat - self.mean
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(flat))
        scale = 1.0 / np.sqrt(np.clip(eigenvalues, 0.0, None) + self.eps)
        self.matrix = (eigenvectors * scale) @ eigenvectors.T
        return self

    def forward(self, batch):
        if self.matrix is None:
            raise RuntimeError("ZCAWhitening: call .fit(training_images) before using it")
        flat = batch.reshape(len(batch), -1)
        if flat.shape[1] != len(self.mean):
            raise ValueError(f"ZCAWhitening: fitted on images of {len(self.mean)} values, "
                             f"got images of {flat.shape[1]}")
        out = (flat - self.mean) @ self.matrix
        return out.reshape(batch.shape).astype(_float_dtype(batch), copy=False)
