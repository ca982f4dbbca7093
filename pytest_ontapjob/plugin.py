"""The pytest plugin: options, fixtures, markers and the report header.

A run targets either the simulator (the default) or a live cluster (``--ontap-url``). Every
option is a command-line flag, an environment variable and an ini key; the first of those that
is set wins, in that order (see :func:`resolve_options`). The password comes only from
``$ONTAP_PASSWORD``.

With ``--ontap-record FILE`` on a live run, the tests reach the cluster through
``ontap-sim record`` (started for the session on 127.0.0.1, port 0), which writes FILE at the
end: a scenario that replays, test by test, the jobs and errors the cluster gave.

This module is the ``pytest11`` entry point, loaded by every pytest run where the package is
installed, so it imports Flask, the simulator, ``requests`` and ``responses`` only inside the
fixtures that need them.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .poller import PollPolicy

if TYPE_CHECKING:
    from simulator import Simulator

    from .client import OntapClient

__all__ = [
    "OntapOptions",
    "OntapServer",
    "SimulatorServerError",
    "resolve_options",
]

ClockMode = Literal["virtual", "real"]
Transport = Literal["http", "inprocess"]

#: (key, flag, environment variable, ini key) of every option; the key names the value in
#: the mappings :func:`resolve_options` takes.
OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("url", "--ontap-url", "ONTAP_URL", "ontap_url"),
    ("username", "--ontap-username", "ONTAP_USERNAME", "ontap_username"),
    ("ca_bundle", "--ontap-ca-bundle", "ONTAP_CA_BUNDLE", "ontap_ca_bundle"),
    ("insecure", "--ontap-insecure", "ONTAP_INSECURE", "ontap_insecure"),
    ("clock", "--ontap-clock", "ONTAP_CLOCK", "ontap_clock"),
    ("transport", "--ontap-transport", "ONTAP_TRANSPORT", "ontap_transport"),
    ("scenario", "--ontap-scenario", "ONTAP_SCENARIO", "ontap_scenario"),
    ("record", "--ontap-record", "ONTAP_RECORD", "ontap_record"),
)
PASSWORD_ENV = "ONTAP_PASSWORD"  # noqa: S105 - the variable's name, not a password
DEFAULT_USERNAME = "admin"
_CHOICES: dict[str, tuple[str, ...]] = {
    "clock": ("virtual", "real"),
    "transport": ("http", "inprocess"),
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")

_LIVE_SKIP = "{what} needs the simulator; this run targets the live cluster {url} (--ontap-url)"
_SIM_ONLY_SKIP = "ontap_sim_only: needs the simulator; this run targets the live cluster {url}"
_LIVE_ONLY_SKIP = (
    "ontap_live_only: needs a live cluster (--ontap-url or ONTAP_URL); this run uses the simulator"
)


@dataclass(frozen=True)
class OntapOptions:
    """The resolved options of a run. ``url`` None means the simulator."""

    url: str | None = None
    username: str = DEFAULT_USERNAME
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    clock: ClockMode = "virtual"
    transport: Transport = "http"
    scenario: str | None = None
    record: str | None = None

    @property
    def live(self) -> bool:
        """True when the run targets a live cluster."""
        return self.url is not None

    @property
    def verify(self) -> bool | str:
        """What ``requests`` takes as ``verify``: False when insecure, else the bundle or True."""
        if self.insecure:
            return False
        return self.ca_bundle or True

    def describe(self) -> str:
        """The report header line (never the password)."""
        if self.url is None:
            text = f"ontapjob: simulator ({self.clock} clock, {self.transport} transport"
            if self.scenario:
                text += f", scenario {self.scenario}"
            return text + ")"
        details = [f"user {self.username}"]
        if not self.url.startswith("https:"):
            details.append("plain HTTP, no TLS")
        elif self.insecure:
            details.append("WARNING: TLS certificate verification is OFF")
        elif self.ca_bundle:
            details.append(f"TLS verified with CA bundle {self.ca_bundle}")
        else:
            details.append("TLS verified with the system CA store")
        if self.password is None:
            details.append(f"{PASSWORD_ENV} is not set")
        if self.record:
            details.append(f"recording to {self.record}")
        return f"ontapjob: live cluster {self.url} ({', '.join(details)})"


def _parse_bool(value: object, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise pytest.UsageError(f"{source}={value!r}: expected true/false (1/0, yes/no, on/off)")


def resolve_options(
    cli: Mapping[str, object],
    env: Mapping[str, str],
    ini: Mapping[str, object],
) -> OntapOptions:
    """Resolve every option: command line, then environment, then ini file, then default.

    ``cli`` and ``ini`` map option keys (``url``, ``username``, ``ca_bundle``, ``insecure``,
    ``clock``, ``transport``, ``scenario``, ``record``) to values, None meaning "not given";
    ``env`` is the process environment. The first layer that sets an option decides it, even to
    an empty string, which means the default (an empty ``ONTAP_URL`` selects the simulator).
    The password is read from ``$ONTAP_PASSWORD`` only. Raises ``pytest.UsageError`` on a bad
    value.
    """
    values: dict[str, Any] = {}
    for key, flag, env_name, ini_name in OPTIONS:
        layers: tuple[tuple[object, str], ...] = (
            (cli.get(key), flag),
            (env.get(env_name), env_name),
            (ini.get(key), f"ini {ini_name}"),
        )
        for value, source in layers:
            if value is None:
                continue
            if key == "insecure":
                values[key] = _parse_bool(value, source)
            else:
                text = str(value).strip()
                choices = _CHOICES.get(key)
                if choices and text and text not in choices:
                    raise pytest.UsageError(
                        f"{source}={text!r}: expected one of {', '.join(choices)}"
                    )
                if key == "url" and text:
                    text = _check_url(text, source)
                if text:
                    values[key] = text
            break
    password = env.get(PASSWORD_ENV) or None
    return OntapOptions(password=password, **values)


def _check_url(url: str, source: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(f"{source}={url!r}: expected an http(s) URL such as https://host")
    if parts.username or parts.password:
        raise pytest.UsageError(
            f"{source}: the URL must not carry credentials; use --ontap-username and "
            f"${PASSWORD_ENV}"
        )
    return url.rstrip("/")


# -- pytest hooks ------------------------------------------------------------------------------
_OPTIONS_KEY = pytest.StashKey[OntapOptions]()
_SIM_KEY = pytest.StashKey["Simulator"]()
_REPORTED_KEY = pytest.StashKey[int]()


@dataclass
class _Recording:
    """A ``--ontap-record`` run: where to write, which test is running, what was written."""

    path: str
    test: str | None = None
    summary: str | None = None


_RECORDING_KEY = pytest.StashKey[_Recording]()
#: Per-test scripts and faults of a recorded scenario (its ``recording.tests``), by test id.
_REPLAY_KEY = pytest.StashKey["dict[str, Any] | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ontapjob", "pytest-ontapjob (precedence: flag > environment > ini)")
    group.addoption(
        "--ontap-url",
        dest="ontap_url",
        metavar="URL",
        help="run against the live cluster at URL instead of the simulator [env ONTAP_URL, "
        "ini ontap_url]",
    )
    group.addoption(
        "--ontap-username",
        dest="ontap_username",
        metavar="USER",
        help=f"user on the live cluster (default {DEFAULT_USERNAME}) [env ONTAP_USERNAME, "
        "ini ontap_username]; the password comes only from $ONTAP_PASSWORD",
    )
    group.addoption(
        "--ontap-ca-bundle",
        dest="ontap_ca_bundle",
        metavar="PEM",
        help="CA bundle to verify the live cluster's certificate with [env ONTAP_CA_BUNDLE, "
        "ini ontap_ca_bundle]",
    )
    group.addoption(
        "--ontap-insecure",
        dest="ontap_insecure",
        action="store_true",
        default=None,
        help="do not verify the live cluster's TLS certificate [env ONTAP_INSECURE=1, "
        "ini ontap_insecure]",
    )
    group.addoption(
        "--ontap-clock",
        dest="ontap_clock",
        choices=_CHOICES["clock"],
        help="simulator clock: virtual (default; waits cost no time) or real [env ONTAP_CLOCK, "
        "ini ontap_clock]",
    )
    group.addoption(
        "--ontap-transport",
        dest="ontap_transport",
        choices=_CHOICES["transport"],
        help="how the client reaches the simulator: http (default; a server on 127.0.0.1, "
        "port 0) or inprocess (through `responses`, no socket) [env ONTAP_TRANSPORT, "
        "ini ontap_transport]",
    )
    group.addoption(
        "--ontap-scenario",
        dest="ontap_scenario",
        metavar="FILE",
        help="simulator scenario file (JSON) [env ONTAP_SCENARIO, ini ontap_scenario, relative "
        "to the ini file]",
    )
    group.addoption(
        "--ontap-record",
        dest="ontap_record",
        metavar="FILE",
        help="with --ontap-url: reach the cluster through `ontap-sim record` and write what its "
        "jobs did to FILE, a scenario for --ontap-scenario (FILE must not exist) [env "
        "ONTAP_RECORD, ini ontap_record, relative to the ini file]",
    )
    parser.addini("ontap_url", "live cluster URL (see --ontap-url)", default="")
    parser.addini("ontap_username", "live cluster user (see --ontap-username)", default="")
    parser.addini("ontap_ca_bundle", "CA bundle (see --ontap-ca-bundle)", default="")
    parser.addini(
        "ontap_insecure", "skip TLS verification (see --ontap-insecure)", type="bool", default=False
    )
    parser.addini("ontap_clock", "simulator clock: virtual or real", default="")
    parser.addini("ontap_transport", "simulator transport: http or inprocess", default="")
    parser.addini("ontap_scenario", "simulator scenario file", default="")
    parser.addini("ontap_record", "record the live run to this scenario file", default="")


def _ini_path(config: pytest.Config, value: str) -> str:
    """An ini path relative to the ini file's directory (as pytest's own path ini keys are)."""
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return str(base / value) if value and not os.path.isabs(value) else value


def _options_from_config(config: pytest.Config) -> OntapOptions:
    cli = {key: config.getoption(f"ontap_{key}") for key, *_ in OPTIONS}
    ini: dict[str, object] = {}
    for key, *_rest, ini_name in OPTIONS:
        value = config.getini(ini_name)
        if key == "insecure":
            ini[key] = bool(value) or None
        elif value:
            paths = ("scenario", "ca_bundle", "record")
            ini[key] = _ini_path(config, str(value)) if key in paths else value
    options = resolve_options(cli, os.environ, ini)
    if options.live and options.ca_bundle and not os.path.exists(options.ca_bundle):
        raise pytest.UsageError(f"ontapjob: CA bundle {options.ca_bundle} does not exist")
    if not options.live and options.scenario and not os.path.isfile(options.scenario):
        raise pytest.UsageError(f"ontapjob: scenario file {options.scenario} does not exist")
    if options.record:
        _check_record(config, options)
    return options


def _check_record(config: pytest.Config, options: OntapOptions) -> None:
    """``--ontap-record`` needs a live run, one process, and a file that does not exist yet."""
    if not options.live:
        raise pytest.UsageError(
            "ontapjob: --ontap-record records a live cluster: give --ontap-url (or ONTAP_URL)"
        )
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        raise pytest.UsageError(
            "ontapjob: --ontap-record needs one process (not -n/xdist): a recording keeps the "
            "order of the writes of each test"
        )
    target = options.record or ""
    if os.path.exists(target):
        raise pytest.UsageError(
            f"ontapjob: --ontap-record {target} exists; remove it (or record to another file)"
        )
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise pytest.UsageError(f"ontapjob: --ontap-record {target}: no directory {directory}")


def pytest_configure(config: pytest.Config) -> None:
    options = config.stash[_OPTIONS_KEY] = _options_from_config(config)
    if options.record:
        config.stash[_RECORDING_KEY] = _Recording(options.record)
    for line in (
        "ontap_sim_only: run this test only against the simulator (skipped on a live cluster)",
        "ontap_live_only: run this test only against a live cluster (skipped on the simulator)",
        "ontap_policy(**kwargs): the PollPolicy(**kwargs) of this test's ontap_client",
        "ontap_script(method, path, steps, times=1, **options): script the next `times` "
        "matching writes on ontap_sim before the test (repeatable; implies ontap_sim_only)",
    ):
        config.addinivalue_line("markers", line)


def pytest_report_header(config: pytest.Config) -> str:
    return config.stash[_OPTIONS_KEY].describe()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """While recording, name the running test, so its writes are replayed for it alone."""
    recording = item.config.stash.get(_RECORDING_KEY, None)
    if recording is None:
        return (yield)
    recording.test = item.nodeid
    try:
        return (yield)
    finally:
        recording.test = None


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    recording = config.stash.get(_RECORDING_KEY, None)
    if recording is None or hasattr(config, "workerinput"):
        return
    terminalreporter.write_line(
        recording.summary
        or f"ontapjob: nothing recorded (no test used ontap_client); {recording.path} not written"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked for the other backend (reported at the test's own location)."""
    options = config.stash[_OPTIONS_KEY]
    for item in items:
        reason = None
        if options.live:
            if item.get_closest_marker("ontap_sim_only") is not None:
                reason = _SIM_ONLY_SKIP.format(url=options.url)
            elif item.get_closest_marker("ontap_script") is not None:
                reason = _LIVE_SKIP.format(what="ontap_script", url=options.url)
        elif item.get_closest_marker("ontap_live_only") is not None:
            reason = _LIVE_ONLY_SKIP
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


class SimulatorServerError(Exception):
    """The simulator raised while serving the test; ``errors`` holds what it raised."""

    def __init__(self, errors: list[BaseException], test_error: BaseException | None) -> None:
        self.errors = errors
        first = errors[0]
        count = "an error" if len(errors) == 1 else f"{len(errors)} errors"
        text = (
            f"the simulator raised {count} while serving this test "
            f"(server-side traceback above): {type(first).__name__}: {first}"
        )
        if len(errors) > 1:
            text += "; then: " + "; ".join(f"{type(e).__name__}: {e}" for e in errors[1:])
        if test_error is not None:
            text += f"; the test itself then failed with {type(test_error).__name__}: {test_error}"
        super().__init__(text)


def _check_server_errors(item: pytest.Item, test_error: BaseException | None) -> None:
    __tracebackhide__ = True
    sim = item.stash.get(_SIM_KEY, None)
    if sim is None:
        return
    reported = item.stash.get(_REPORTED_KEY, 0)
    errors = list(sim.errors)
    if len(errors) > reported:
        item.stash[_REPORTED_KEY] = len(errors)
        raise SimulatorServerError(errors[reported:], test_error) from errors[reported]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail the test with any error the simulator raised while serving it."""
    __tracebackhide__ = True
    try:
        result = yield
    except Exception as exc:
        _check_server_errors(item, exc)
        raise
    _check_server_errors(item, None)
    return result


# -- fixtures ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OntapServer:
    """The session's simulator and where to reach it.

    ``transport`` is ``"http"`` (a real server on 127.0.0.1) or ``"inprocess"`` (``url`` is a
    fake address answered through ``responses`` while a test holds ``ontap_sim``).
    """

    sim: Simulator
    url: str
    transport: Transport

    @property
    def auth(self) -> tuple[str, str]:
        """The simulator's ``(username, password)``."""
        return self.sim.username, self.sim.password


def _options(request: pytest.FixtureRequest) -> OntapOptions:
    return request.config.stash[_OPTIONS_KEY]


@pytest.fixture(scope="session")
def ontap_server(request: pytest.FixtureRequest) -> Iterator[OntapServer]:
    """The session's simulator, served on 127.0.0.1 port 0 (one per xdist worker).

    Skips the test on a live-cluster run.
    """
    options = _options(request)
    if options.url is not None:
        pytest.skip(_LIVE_SKIP.format(what="ontap_server", url=options.url))
    from simulator import Simulator, serve

    try:
        sim = Simulator(clock=options.clock, scenario=options.scenario)
    except ValueError as exc:
        pytest.fail(f"ontapjob: cannot start the simulator: {exc}", pytrace=False)
    if options.transport == "inprocess":
        from ._inprocess import INPROCESS_URL

        yield OntapServer(sim, INPROCESS_URL, "inprocess")
        return
    with serve(sim, port=0) as handle:
        yield OntapServer(sim, handle.url, "http")


def _recorded_tests(config: pytest.Config, scenario: str | None) -> dict[str, Any] | None:
    """The per-test part of a recorded scenario (``recording.tests``), read once per session."""
    if _REPLAY_KEY not in config.stash:
        tests = None
        if scenario:
            from simulator.sim import load_scenario_file

            recording = load_scenario_file(scenario).get("recording")
            found = recording.get("tests") if isinstance(recording, Mapping) else None
            tests = dict(found) if isinstance(found, Mapping) else None
        config.stash[_REPLAY_KEY] = tests
    return config.stash[_REPLAY_KEY]


def _split_id(nodeid: str) -> tuple[list[str], str]:
    path, sep, rest = nodeid.partition("::")
    return path.replace("\\", "/").split("/"), sep + rest


def _recorded_part(tests: Mapping[str, Any], nodeid: str) -> Any:
    """The recording of the test ``nodeid``: by its id, else (the two runs had different
    rootdirs, so ids differ in their leading directories) the one recorded id with the same
    test part and the longest matching tail of the file path."""
    if nodeid in tests:
        return tests[nodeid]
    parts, rest = _split_id(nodeid)
    best: list[tuple[int, str]] = []
    for key in tests:
        other, other_rest = _split_id(key)
        if other_rest != rest or other[-1] != parts[-1]:
            continue
        common = 0
        while common < min(len(parts), len(other)) and parts[-1 - common] == other[-1 - common]:
            common += 1
        best.append((common, key))
    best.sort(reverse=True)
    if best and (len(best) == 1 or best[0][0] > best[1][0]):
        return tests[best[0][1]]
    return None


def _install_recorded(item: pytest.Item, sim: Simulator, tests: Mapping[str, Any]) -> None:
    """This test's recorded scripts and faults, after its markers (which take precedence)."""
    part = _recorded_part(tests, item.nodeid)
    if not isinstance(part, Mapping):
        return
    problem = None
    try:
        for script in part.get("scripts") or []:
            sim.add_script(script)
        for fault in part.get("faults") or []:
            sim.faults.add(fault)
    except Exception as exc:
        problem = getattr(exc, "message", None) or str(exc)
    if problem is not None:
        pytest.fail(
            f"ontapjob: the recording of {item.nodeid} in the scenario is invalid: {problem}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def _ontap_recorder(request: pytest.FixtureRequest) -> Iterator[str]:
    """``ontap-sim record`` in front of the live cluster for the session; its URL.

    At the end of the session it writes the ``--ontap-record`` file.
    """
    options = _options(request)
    recording = request.config.stash[_RECORDING_KEY]
    assert options.url is not None
    from simulator import serve
    from simulator.record import Recorder

    recorder = Recorder(options.url, verify=options.verify, segment=lambda: recording.test)
    try:
        with serve(recorder, port=0) as handle:
            yield handle.url
    finally:
        recorder.close()
    scenario = recorder.save(recording.path)
    writes = scenario["recording"]["writes"]
    recording.summary = (
        f"ontapjob: recorded {len(writes)} writes ({sum('job' in w for w in writes)} jobs, "
        f"{sum('error' in w for w in writes)} synchronous errors) of "
        f"{len(scenario['recording'].get('tests', {}))} tests to {recording.path}"
    )


def _install_scripts(item: pytest.Item, sim: Simulator) -> None:
    """Install ``ontap_script`` markers, nearest node first and top-down within a node."""
    for node in reversed(item.listchain()):
        marks = [mark for mark in node.own_markers if mark.name == "ontap_script"]
        for mark in reversed(marks):
            problem = None
            try:
                sim.script(*mark.args, **mark.kwargs)
            except Exception as exc:
                problem = str(exc)
            if problem is not None:
                args = ", ".join(
                    [repr(a) for a in mark.args] + [f"{k}={v!r}" for k, v in mark.kwargs.items()]
                )
                pytest.fail(f"@pytest.mark.ontap_script({args}): {problem}", pytrace=False)


@pytest.fixture
def ontap_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """The session's :class:`~simulator.Simulator`, reset before and after the test.

    ``ontap_script`` markers are installed first; with a recorded scenario (``--ontap-record``)
    the scripts and faults recorded for this very test follow them, instead of the session's.
    Errors the simulator raises while serving the test fail it. With the in-process transport,
    ``requests`` calls to ``ontap_server.url`` are answered in process for the test's duration.
    Skips the test on a live-cluster run.
    """
    options = _options(request)
    if options.url is not None:
        pytest.skip(_LIVE_SKIP.format(what="ontap_sim", url=options.url))
    server: OntapServer = request.getfixturevalue("ontap_server")
    sim = server.sim
    sim.reset()
    item = request.node
    item.stash[_SIM_KEY] = sim
    item.stash[_REPORTED_KEY] = 0
    recorded = _recorded_tests(request.config, options.scenario)
    try:
        if recorded is not None:
            # A recorded scenario replays each test's own writes, not the whole session's.
            sim.clear_scripts()
            sim.faults.clear()
        _install_scripts(item, sim)
        if recorded is not None:
            _install_recorded(item, sim, recorded)
        with contextlib.ExitStack() as stack:
            if server.transport == "inprocess":
                from ._inprocess import inprocess_transport

                stack.enter_context(inprocess_transport(sim.app, server.url))
            yield sim
        _check_server_errors(item, None)
    finally:
        sim.reset()


def _policy(item: pytest.Item) -> PollPolicy:
    mark = item.get_closest_marker("ontap_policy")
    if mark is None:
        return PollPolicy()
    if len(mark.args) == 1 and isinstance(mark.args[0], PollPolicy) and not mark.kwargs:
        return mark.args[0]
    problem = "takes PollPolicy's keyword arguments (or one PollPolicy)"
    if not mark.args:
        try:
            return PollPolicy(**mark.kwargs)
        except (TypeError, ValueError) as exc:
            problem = str(exc)
    pytest.fail(f"@pytest.mark.ontap_policy: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def _ontap_connections(ontap_server: OntapServer) -> Iterator[Any]:
    """Kept-alive connections to the session's simulator over HTTP, shared by every test's
    ``ontap_client``: a connection of its own per test cost as much CPU as two polls
    (connect, a server thread, both teardowns)."""
    from .client import _KeptAdapter

    adapter = _KeptAdapter()
    try:
        yield adapter
    finally:
        adapter.release()


@pytest.fixture
def ontap_client(request: pytest.FixtureRequest) -> Iterator[OntapClient]:
    """An :class:`~pytest_ontapjob.OntapClient` on the simulator or on the live cluster.

    On the simulator it authenticates as the simulator's user and, on the virtual clock, waits
    on the simulator's clock, so polling a long job costs no real time; it uses ``ontap_sim``,
    so every test starts from a reset simulator. On a live cluster it authenticates with
    ``--ontap-username`` and ``$ONTAP_PASSWORD`` and verifies TLS as configured. Its
    ``PollPolicy`` is ``PollPolicy()`` unless the test is marked ``ontap_policy(...)``.
    """
    from .client import OntapClient

    options = _options(request)
    policy = _policy(request.node)
    if options.url is None:
        sim: Simulator = request.getfixturevalue("ontap_sim")
        server: OntapServer = request.getfixturevalue("ontap_server")
        clock = sim.clock if options.clock == "virtual" else None
        with OntapClient(server.url, auth=server.auth, clock=clock, policy=policy) as client:
            # The simulator is local: no proxy from the environment may catch its traffic,
            # and requests then skips two environment scans per request (-14 % per poll).
            client.session.trust_env = False
            if server.transport == "inprocess":
                from ._inprocess import WSGIAdapter

                # Straight into the app, not through the `responses` route that ontap_sim keeps
                # for other requests code: the same answers at two thirds of the cost per poll.
                client.session.mount(server.url + "/", WSGIAdapter(sim.app, server.url))
            else:
                client.session.mount(
                    server.url + "/", request.getfixturevalue("_ontap_connections")
                )
            yield client
        return
    if options.password is None:
        pytest.fail(
            f"ontap_client: set {PASSWORD_ENV} to the password of {options.username} on "
            f"{options.url} (it is never read from a flag or an ini file)",
            pytrace=False,
        )
    url = request.getfixturevalue("_ontap_recorder") if options.record else options.url
    with contextlib.ExitStack() as stack:
        if options.insecure:
            # The opt-out was explicit and the report header says so; don't fail every request
            # under filterwarnings=error with urllib3's InsecureRequestWarning.
            from urllib3.exceptions import InsecureRequestWarning

            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore", InsecureRequestWarning)
        client = stack.enter_context(
            OntapClient(
                url,
                auth=(options.username, options.password),
                verify=options.verify,
                policy=policy,
            )
        )
        if options.record:
            client.session.trust_env = False  # the recorder is local: no proxy may catch it
        yield client
