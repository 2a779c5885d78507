"""``gradlite.utils.data`` is ``gradlite.data``, as ``torch.utils.data`` (DataLoader,
Dataset, random_split, ...), so ``torch.utils.data.DataLoader`` ports unchanged."""
import sys

from .. import data

sys.modules[__name__ + ".data"] = data
