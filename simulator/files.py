"""Reading the files the simulator is started with (scenario, certificate, key), safely.

A path given on a command line can be anything: a FIFO (an ordinary ``open`` blocks until a
writer comes), a device (``/dev/zero`` never ends), a directory, a huge file. Each is refused
with a ValueError naming the file and what is wrong, before a byte is read.
"""

from __future__ import annotations

import os
import stat

__all__ = ["read_input_file"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_input_file(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    ``what`` names the file in errors (``"scenario"``, ``"key file"``): a ValueError reads
    ``<what> <path> is not a regular file (a FIFO)`` and the like, in one line.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ValueError(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        problem = f"is not a regular file ({kind})"
    elif info.st_size > limit:
        problem = f"is larger than {limit} bytes"
    if problem is not None:
        os.close(fd)
        raise ValueError(f"{what} {os.fspath(path)} {problem}")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise ValueError(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None
    if len(data) > limit:
        raise ValueError(f"{what} {os.fspath(path)} is larger than {limit} bytes")
    return data
