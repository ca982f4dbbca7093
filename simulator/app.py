"""``create_app``: the WSGI application over one Simulator (built by :mod:`simulator.web`)."""

from __future__ import annotations

from .web import MAX_BODY_BYTES, MAX_JSON_DEPTH, create_app, parse_json

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "create_app", "parse_json"]
