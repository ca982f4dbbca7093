"""The OpenAPI 3 document of the ONTAP endpoints the simulator serves (placeholder)."""

from __future__ import annotations

from typing import Any


def build_openapi(sim: object) -> dict[str, Any]:
    """OpenAPI 3.0 document for ``sim``'s ONTAP API."""
    return {"openapi": "3.0.3", "info": {"title": "ontap-sim", "version": "0"}, "paths": {}}
