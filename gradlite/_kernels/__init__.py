"""Convolution and pooling kernels on numpy arrays (NCHW, float32 or float64).

The compiled Cython modules (``_conv``, ``_pool``) are used when built; otherwise
the plain numpy twins in ``_reference`` (the specification) are used, with one
warning. Both expose exactly these functions:

    conv2d_forward(x, w, b, stride, padding, dilation, groups) -> y
    conv2d_backward(x, w, grad_y, stride, padding, dilation, groups,
                    needs=(True, True, True)) -> (gx, gw, gb)
    max_pool2d_forward(x, kernel, stride, padding) -> (y, argmax)
    max_pool2d_backward(grad_y, argmax, x_shape) -> gx
    avg_pool2d_forward(x, kernel, stride, padding, count_include_pad=True) -> y
    avg_pool2d_backward(grad_y, x_shape, kernel, stride, padding, count_include_pad=True) -> gx
    adaptive_avg_pool2d_forward(x, output_size) -> y
    adaptive_avg_pool2d_backward(grad_y, x_shape) -> gx

``stride``, ``padding``, ``dilation``, ``kernel`` and ``output_size`` are (h, w)
pairs of ints (the nn layer turns a user's ints into pairs and words its errors in the
user's terms). Every function checks its sizes and dtypes itself (``_checks``): a bad
size or a dtype other than float32/float64 is a ValueError or TypeError naming the
function, never a crash. ``needs`` flags which of (gx, gw, gb) to compute; the others
come back as None. ``argmax`` holds flat ``h * W + w`` indices within one plane (int32
compiled, int64 reference; either backward takes either).
"""
import warnings

from ._reference import output_size

try:
    from ._conv import conv2d_backward, conv2d_forward
    from ._pool import (adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward,
                        avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward,
                        max_pool2d_forward)
    COMPILED = True
except ImportError:  # pragma: no cover - depends on the build
    warnings.warn("gradlite: the compiled conv/pool kernels (gradlite._kernels._conv, _pool) "
                  "are not built, so the slow numpy reference kernels are used. Build them "
                  "with `pip install .` (or `python setup.py build_ext --inplace` in a "
                  "source checkout).", RuntimeWarning, stacklevel=2)
    from ._reference import (adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward,
                             avg_pool2d_backward, avg_pool2d_forward, conv2d_backward,
                             conv2d_forward, max_pool2d_backward, max_pool2d_forward)
    COMPILED = False

__all__ = ["COMPILED", "output_size", "conv2d_forward", "conv2d_backward",
           "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward"]
