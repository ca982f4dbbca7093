"""Deep models layered on the generic store (see :mod:`simulator.model.behaviour`).

Importing this package registers every behaviour; each module holds one family.
"""

from __future__ import annotations

from . import nas as nas
from . import network as network
