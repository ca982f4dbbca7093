"""``python -m simulator`` (ontap-sim) as a subprocess for the tests: one launcher for them all.

Not a test module: the tests import it as ``from simproc import ...`` (pytest puts ``tests/`` on
``sys.path``, as it has no ``__init__.py``). Both output streams are read by threads into queues,
so every read, like every wait, has a timeout: a hung or silent simulator fails the test rather
than hanging the run.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

REPO = Path(__file__).resolve().parent.parent
#: How long the simulator may take to print a line (startup imports Flask, --tls makes a CA).
LINE_TIMEOUT = 30.0
#: How long a stop may take: SIGINT, this long, then SIGKILL.
STOP_TIMEOUT = 5.0
LISTENING = "ontap-sim listening on "
CA_CERTIFICATE = "ontap-sim CA certificate: "

Stream = Literal["stdout", "stderr"]


class SimProcess:
    """``python -m simulator *args`` in a subprocess, its output lines readable with a timeout.

    ``env`` adds to (or overrides) this process's environment, from which
    ``ONTAP_SIM_PASSWORD`` is removed unless ``env`` sets it. The working directory is the
    repository root, so relative paths like ``scenarios/demo.json`` work.
    """

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if k != "ONTAP_SIM_PASSWORD"}
        environment.update(env or {})
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=environment,
        )
        # Each queue ends with None once its stream is at end of file.
        self._lines: dict[Stream, queue.Queue[str | None]] = {
            "stdout": queue.Queue(),
            "stderr": queue.Queue(),
        }
        self._closed: set[Stream] = set()
        #: Every line each stream has printed so far, read or not: for failure messages.
        self.printed: dict[Stream, list[str]] = {"stdout": [], "stderr": []}
        self._url: str | None = None
        self._ca_file: str | None = None
        streams: dict[Stream, IO[str] | None] = {
            "stdout": self.proc.stdout,
            "stderr": self.proc.stderr,
        }
        self._readers = [
            threading.Thread(
                target=self._pump,
                args=(stream, self._lines[name], self.printed[name]),
                name=f"ontap-sim {name}",
            )
            for name, stream in streams.items()
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    @staticmethod
    def _pump(stream: IO[str] | None, lines: queue.Queue[str | None], printed: list[str]) -> None:
        try:
            if stream is not None:
                for line in stream:
                    printed.append(line)
                    lines.put(line)
        finally:
            lines.put(None)

    def __repr__(self) -> str:
        return f"<SimProcess pid={self.proc.pid} args={self.args!r}>"

    # -- output ----------------------------------------------------------------------------------
    def line(self, stream: Stream = "stdout", timeout: float = LINE_TIMEOUT) -> str:
        """The next line of ``stream``; an AssertionError if none comes within ``timeout`` s."""
        if stream not in self._closed:
            try:
                line = self._lines[stream].get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no {stream} line from ontap-sim within {timeout} s{self._context(stream)}"
                ) from None
            if line is not None:
                return line
            self._closed.add(stream)
        raise AssertionError(
            f"ontap-sim closed its {stream} (exit code {self.proc.poll()}){self._context(stream)}"
        )

    def _context(self, stream: Stream) -> str:
        """What ontap-sim has said on the other stream so far, for a failure message."""
        other: Stream = "stderr" if stream == "stdout" else "stdout"
        said = "".join(self.printed[other][-20:])
        return f"; its {other} so far ends:\n{said}" if said else ""

    def url(self, timeout: float = LINE_TIMEOUT) -> str:
        """The URL from the first stdout line, ``ontap-sim listening on <url>`` (read once)."""
        if self._url is None:
            first = self.line(timeout=timeout)
            assert first.startswith(LISTENING), first
            self._url = first[len(LISTENING) :].strip()
        return self._url

    @property
    def port(self) -> int:
        return int(self.url().rsplit(":", 1)[1])

    def ca_file(self, timeout: float = LINE_TIMEOUT) -> str:
        """Under ``--tls``, the CA path from the second stdout line (read once)."""
        if self._ca_file is None:
            self.url(timeout)
            second = self.line(timeout=timeout)
            assert second.startswith(CA_CERTIFICATE), second
            self._ca_file = second[len(CA_CERTIFICATE) :].strip()
        return self._ca_file

    def rest(self, stream: Stream, timeout: float = STOP_TIMEOUT) -> str:
        """All of ``stream`` not read yet, up to its end: call it once the process has exited."""
        deadline = time.monotonic() + timeout
        out: list[str] = []
        while stream not in self._closed:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines[stream].get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(
                    f"ontap-sim's {stream} still open after {timeout} s; so far:\n{''.join(out)}"
                ) from None
            if line is None:
                self._closed.add(stream)
            else:
                out.append(line)
        return "".join(out)

    # -- the process -----------------------------------------------------------------------------
    def send_signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """The exit code; ``subprocess.TimeoutExpired`` if it is still running after ``timeout``."""
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """Stop gracefully: SIGINT, up to ``STOP_TIMEOUT`` s, then SIGKILL; close the streams."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        for reader, stream in zip(self._readers, (self.proc.stdout, self.proc.stderr), strict=True):
            reader.join(STOP_TIMEOUT)
            # Closing a stream a reader still blocks on could block too: leave that one be.
            if stream is not None and not reader.is_alive():
                stream.close()


@contextmanager
def ontap_sim(*args: str, env: Mapping[str, str] | None = None) -> Iterator[SimProcess]:
    """``python -m simulator --port 0 *args``, yielded once its URL line is read; then stopped."""
    process = SimProcess("--port", "0", *args, env=env)
    try:
        process.url()
        yield process
    finally:
        process.stop()
