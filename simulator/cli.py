"""``ontap-sim``: run the simulator as a standalone server.

The first line on stdout (flushed) carries the base URL, so scripts can start it with
``--port 0`` and read where it listens. One log line per request goes to stderr.
SIGINT, SIGTERM, SIGHUP and SIGQUIT stop it cleanly (a generated ``--tls`` directory is
removed). Bad input at startup (an empty password, an unreadable scenario, certificate or key)
is one line on stderr naming what is wrong, and exit status 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import ServerHandle, ServerLimits, serve
from .sim import DEFAULT_PASSWORD, DEFAULT_USERNAME, Simulator

__all__ = ["build_parser", "is_loopback", "main"]

#: Signals that stop the server cleanly (connections closed, a generated --tls directory
#: removed); SIGKILL cannot be caught.
_STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ontap-sim",
        description=(
            "A fake NetApp ONTAP REST server whose writes run as scripted jobs. "
            "Control it at /simulator/... (scripts, clock, faults, request journal)."
        ),
        epilog=(
            "The password comes from --password, else $ONTAP_SIM_PASSWORD, else "
            f"{DEFAULT_PASSWORD!r}. Example: ontap-sim --port 0 --scenario scenarios/demo.json"
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; anything else exposes the simulator)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on; 0 picks a free one (default 8080)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS; without --certfile/--keyfile a throwaway CA and certificate "
        "(valid for 127.0.0.1 and localhost) are generated and their paths printed",
    )
    parser.add_argument("--certfile", help="PEM certificate chain to serve with --tls")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument(
        "--username", default=DEFAULT_USERNAME, help=f"basic-auth user (default {DEFAULT_USERNAME})"
    )
    parser.add_argument(
        "--password",
        default=None,
        help="basic-auth password (default: $ONTAP_SIM_PASSWORD, else the documented default); "
        "prefer the environment variable: command lines are visible to other users",
    )
    parser.add_argument(
        "--clock",
        choices=("real", "virtual"),
        default="real",
        help="real: wall-clock time (default); virtual: starts at 2024-01-01T00:00:00Z and moves "
        "only via POST /simulator/clock or return_timeout autojumps",
    )
    parser.add_argument(
        "--scenario",
        help="JSON scenario file, or the name of a bundled one (demo): default script, "
        "per-endpoint scripts, inventory, extra asynchronous endpoints, faults (see scenarios/)",
    )
    parser.add_argument(
        "--retention",
        type=_retention,
        default=None,
        help="seconds a finished job stays readable (default 300, or the scenario's)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive_int,
        default=None,
        help="open connections at most; at the cap the oldest idle ones are closed first "
        f"(here {ServerLimits().max_connections}: 512, or half the open-file limit if lower)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser


def _retention(text: str) -> float:
    """``--retention``: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or not text.strip().isascii():
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _password_problem(flag: str | None) -> str | None:
    """Why the password given cannot be used (an empty one), or None."""
    if flag is not None:
        return None if flag else "--password is empty: give a password, or leave the flag out"
    if os.environ.get("ONTAP_SIM_PASSWORD") == "":
        return (
            "ONTAP_SIM_PASSWORD is set but empty (a missing secret?): set a password, "
            "or unset it for the default"
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_model_files() -> None:
    """Read what the model needs from disk (the declaration, the deep models) before serving:
    the store and routes built by the first request then need no file, so it is served even
    when the process is out of descriptors."""
    from .model import deep  # noqa: F401
    from .model.spec import load_spec

    load_spec()


def _announce(handle: ServerHandle, sim: Simulator, scenario: str | None) -> None:
    """Print where the simulator listens (the first line is what scripts wait for), then load
    the model's files before the first connection is accepted."""
    print(f"ontap-sim listening on {handle.url}", flush=True)
    if handle.ca_file:
        print(f"ontap-sim CA certificate: {handle.ca_file}", flush=True)
    print(
        f"ontap-sim clock={sim.clock.mode} user={sim.username} scenario={scenario or '(default)'}",
        flush=True,
    )
    print(f"ontap-sim job board: {handle.url}/simulator/ui", flush=True)
    _load_model_files()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["record"]:  # ontap-sim record ...: the recording proxy
        from .record import main as record_main

        return record_main(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.certfile is None) != (args.keyfile is None):
        parser.error("--certfile and --keyfile go together")
    if args.certfile and not args.tls:
        parser.error("--certfile/--keyfile need --tls")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")

    problem = _password_problem(args.password)
    if problem is not None:
        print(f"ontap-sim: {problem}", file=sys.stderr)
        return 2

    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("simulator.access").setLevel(logging.WARNING if args.quiet else logging.INFO)

    try:
        sim = Simulator(
            clock=args.clock,
            username=args.username,
            password=args.password,
            scenario=args.scenario,
        )
    except ValueError as exc:
        print(f"ontap-sim: {exc}", file=sys.stderr)
        return 2
    if args.retention is not None:
        sim.jobs.retention = args.retention

    password_is_default = args.password is None and "ONTAP_SIM_PASSWORD" not in os.environ
    if not is_loopback(args.host) and password_is_default:
        logging.getLogger("simulator").warning(
            "binding %s with the default password: anyone who can reach this address can use "
            "the simulator; set ONTAP_SIM_PASSWORD",
            args.host,
        )

    limits = ServerLimits(
        **({} if args.max_connections is None else {"max_connections": args.max_connections})
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in _STOP_SIGNALS}
    try:
        with serve(
            sim,
            host=args.host,
            port=args.port,
            tls=args.tls,
            certfile=args.certfile,
            keyfile=args.keyfile,
            limits=limits,
            on_bound=lambda handle: _announce(handle, sim, args.scenario),
        ):
            while not stop.wait(0.5):
                pass
    except ValueError as exc:  # a certificate or key file that cannot be served
        print(f"ontap-sim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ontap-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("ontap-sim stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
