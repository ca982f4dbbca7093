"""Deep models layered on the generic store (see :mod:`simulator.model.behaviour`).

Importing this package registers every behaviour; each module holds one family. The
platform's comes first: its seed loads the starting inventory the others build on.
"""

from __future__ import annotations

from . import (
    assigned,  # noqa: F401
    disks,  # noqa: F401
    dp,  # noqa: F401
    fc,  # noqa: F401
    fpolicy,  # noqa: F401
    nas,  # noqa: F401
    network,  # noqa: F401
    platform,  # noqa: F401
    san,  # noqa: F401
    storage,  # noqa: F401
    storage_units,  # noqa: F401
    svm,  # noqa: F401
)
