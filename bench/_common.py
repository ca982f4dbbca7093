"""Helpers shared by the benchmark scripts: machine line, statistics, RSS, wrk, py-spy.

Benchmarks run by hand (``python -m bench.<name>`` from the repository root), never in CI.
"""

from __future__ import annotations

import collections
import contextlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any


def machine() -> str:
    """One comment line naming the machine: cores, Python, OS, UTC date, load average."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    impl = platform.python_implementation()
    return (
        f"# nproc {cores}, Python {platform.python_version()} ({impl}), "
        f"{platform.system()} {platform.release()} {platform.machine()}, {date}, loadavg {load}"
    )


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    """``median (min-max)`` of repeated runs, as the docs print it."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


def rss_mb() -> float:
    """Resident set size of this process in MiB (from /proc, else getrusage's peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- wrk -----------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read a wrk duration from {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str, *, threads: int, connections: int, seconds: float, headers: Sequence[str] = ()
) -> dict[str, Any]:
    """Run ``wrk --latency`` against ``url`` (127.0.0.1 only) and parse its summary."""
    if not url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
        raise ValueError("benchmarks only target 127.0.0.1")
    exe = shutil.which("wrk")
    if exe is None:
        raise FileNotFoundError("wrk is not installed (apt-get install -y wrk)")
    cmd = [
        exe,
        "--latency",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
    ]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "requests": total,
        "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


# -- py-spy --------------------------------------------------------------------------------------
@contextlib.contextmanager
def pyspy_record(seconds: float, rate: int = 250, gil: bool = False) -> Iterator[dict[str, Any]]:
    """Sample this process with ``py-spy record`` for ``seconds`` while the block runs.

    ``gil=True`` samples only the thread holding the GIL: where the CPU time goes, not where
    threads wait (a thread waiting to re-take the GIL after a syscall shows in that syscall).

    Yields a dict filled on exit with ``samples`` (collapsed stack -> count) or ``error``.
    """
    result: dict[str, Any] = {}
    exe = shutil.which("py-spy")
    if exe is None:
        result["error"] = "py-spy is not installed (pip install py-spy)"
        yield result
        return
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="pyspy-")
    os.close(fd)
    proc = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(os.getpid()),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            path,
            "--nonblocking",
            *(["--gil"] if gil else []),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield result
    finally:
        try:
            out, _ = proc.communicate(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        samples: collections.Counter[str] = collections.Counter()
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as raw:
            for line in raw:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                if stack and count.isdigit():
                    samples[stack] += int(count)
        with contextlib.suppress(OSError):
            os.unlink(path)
        if samples:
            result["samples"] = samples
        else:
            result["error"] = f"py-spy recorded nothing: {out.strip()[-500:]}"


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    return f"{match.group(1)} ({os.path.basename(match.group(2))})"


def summarize_profile(
    samples: collections.Counter[str], *, top: int = 15, under: str | None = None
) -> str:
    """Inclusive and self time per function, as Markdown tables (percent of samples).

    ``under``: keep only stacks containing this substring (e.g. a thread's request handler).
    """
    kept = {s: c for s, c in samples.items() if under is None or under in s}
    total = sum(kept.values())
    if not total:
        return "(no samples)"
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for stack, count in kept.items():
        frames = [_frame_name(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "| inclusive % | function |", "|---:|---|"]
    lines += [f"| {100 * c / total:.1f} | `{n}` |" for n, c in inclusive.most_common(top)]
    lines += ["", "| self % | function |", "|---:|---|"]
    lines += [f"| {100 * c / total:.1f} | `{n}` |" for n, c in own.most_common(top)]
    return "\n".join(lines)


def python() -> str:
    """The real interpreter binary (py-spy cannot read a pyenv shim)."""
    return os.path.realpath(sys.executable)
