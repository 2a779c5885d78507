"""gradlite.onnx: export a model to ONNX (``export``, as ``torch.onnx.export``).

Needs the ``onnx`` package (``pip install "gradlite[onnx]"``), imported on first export.
"""
from .export import export
from .trace import UnsupportedOperatorError

__all__ = ["export", "UnsupportedOperatorError"]
