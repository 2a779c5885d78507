"""``Size``: the shape tuple ``tensor.size()`` returns, as ``torch.Size``."""
import math


class Size(tuple):
    """A tuple of dimension lengths; ``numel()`` is their product."""

    def numel(self):
        return math.prod(self)

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item

    def __repr__(self):
        return f"gradlite.Size({list(self)})"
