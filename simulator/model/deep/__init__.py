"""Deep models layered on the generic store (see :mod:`simulator.model.behaviour`).

Importing this package registers every behaviour; each module holds one family.
"""

from __future__ import annotations

from . import (
    assigned,  # noqa: F401
    dp,  # noqa: F401
    fpolicy,  # noqa: F401
    nas,  # noqa: F401
    network,  # noqa: F401
    san,  # noqa: F401
)
