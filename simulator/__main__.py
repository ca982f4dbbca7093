"""``python -m simulator``: the same as ``ontap-sim``."""

from .cli import main

raise SystemExit(main())
