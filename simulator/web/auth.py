"""HTTP Basic authentication: a constant-time check, with the last accepted header remembered
so a client repeating it is not decoded and checked again; 401 with ``WWW-Authenticate``."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import ApiError

__all__ = ["MAX_AUTHORIZATION_BYTES", "BasicAuth", "Credentials", "basic_credentials"]

#: A longer ``Authorization`` header is not decoded: 401 (a real one is under 1 KiB).
MAX_AUTHORIZATION_BYTES = 8 * 1024


class Credentials(Protocol):
    """What the check is against (a :class:`~simulator.Simulator` is one)."""

    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    def check_auth(self, username: str | None, password: str | None) -> bool: ...


def basic_credentials(header: str) -> tuple[str | None, str | None]:
    """User and password of a well-formed ``Basic`` header value, else (None, None).

    Every malformed form (over :data:`MAX_AUTHORIZATION_BYTES`, a non-ASCII byte, bad base64
    or padding, not UTF-8, no colon) is simply no credentials: a 401, never an exception.
    """
    if len(header) > MAX_AUTHORIZATION_BYTES:
        return None, None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None, None
    try:
        # ValueError covers UnicodeEncodeError (non-ASCII), binascii.Error, UnicodeDecodeError.
        decoded = base64.b64decode(token.strip().encode("ascii"), validate=True).decode("utf-8")
    except ValueError:
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


class BasicAuth:
    """Checks a request's ``Authorization`` header against ``credentials``."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        # The last header that passed, with the credentials it passed against.
        self._accepted: tuple[bytes, str, str] | None = None

    def check(self, environ: Mapping[str, Any]) -> bool:
        """Whether the request carries the right user and password."""
        header: str = environ.get("HTTP_AUTHORIZATION", "")
        raw = header.encode("utf-8", "surrogatepass")
        credentials = self.credentials
        username, password = credentials.username, credentials.password
        accepted = self._accepted
        if (
            accepted is not None
            and accepted[1] == username
            and accepted[2] == password
            and hmac.compare_digest(raw, accepted[0])
        ):
            return True
        user, given = basic_credentials(header)
        if not credentials.check_auth(user, given):
            return False
        self._accepted = (raw, username, password)
        return True

    @staticmethod
    def challenge() -> ApiError:
        """The 401 a request without the right credentials gets."""
        error = ApiError(401, "6", "Authentication required: invalid or missing credentials.")
        error.headers["WWW-Authenticate"] = 'Basic realm="ontap-sim"'
        return error
