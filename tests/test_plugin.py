"""The pytest plugin, driven the way users drive it: pytester runs of user-style test files.

Runs that start servers or threads go through ``runpytest_subprocess``; runs that only read
options and markers stay in process. Every subprocess has a timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests
from simproc import ontap_sim

from pytest_ontapjob.plugin import OPTIONS, PASSWORD_ENV, OntapOptions, resolve_options

RUN_TIMEOUT = 90.0
ENV_NAMES = [env for _key, _flag, env, _ini in OPTIONS] + [PASSWORD_ENV, "ONTAP_SIM_PASSWORD"]
VOLUME = '{"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}'


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ONTAP_* setting of the developer's shell leaks into the runs under test."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester whose inner runs treat warnings as errors, as this project's own do."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    return pytester


#: Plugins installed here that these runs do not need; importing them costs seconds per run.
UNRELATED_PLUGINS = ("schemathesis", "hypothesispytest", "benchmark", "anyio", "pytest_httpserver")


BLOCKED = tuple(arg for name in UNRELATED_PLUGINS for arg in ("-p", f"no:{name}"))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run in a fresh interpreter (for anything that starts servers or threads)."""
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *BLOCKED, *args, timeout=RUN_TIMEOUT
    )


def run_here(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A pytest run in this process (options, header and markers only: no server starts)."""
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *BLOCKED, *args)


# -- entry point and import weight -------------------------------------------------------------
def test_the_plugin_is_a_pytest11_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("ontapjob") == "pytest_ontapjob.plugin"


def test_importing_the_plugin_imports_neither_flask_nor_the_simulator() -> None:
    heavy = ("flask", "werkzeug", "simulator", "responses")
    code = (
        "import sys, pytest_ontapjob.plugin; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


# -- option resolution -------------------------------------------------------------------------
def test_defaults_are_the_simulator_on_a_virtual_clock_over_http() -> None:
    options = resolve_options({}, {}, {})
    assert options == OntapOptions()
    assert (options.live, options.clock, options.transport) == (False, "virtual", "http")
    assert (options.username, options.verify, options.password) == ("admin", True, None)


@pytest.mark.parametrize(
    ("key", "env_name", "cli", "env", "ini"),
    [
        ("url", "ONTAP_URL", "https://cli.example", "https://env.example", "https://ini.example"),
        ("username", "ONTAP_USERNAME", "cli-user", "env-user", "ini-user"),
        ("ca_bundle", "ONTAP_CA_BUNDLE", "/cli.pem", "/env.pem", "/ini.pem"),
        ("scenario", "ONTAP_SCENARIO", "cli.json", "env.json", "ini.json"),
        ("clock", "ONTAP_CLOCK", "real", "virtual", "real"),
        ("transport", "ONTAP_TRANSPORT", "inprocess", "http", "inprocess"),
        ("insecure", "ONTAP_INSECURE", True, "0", True),
    ],
)
def test_precedence_is_cli_then_environment_then_ini(
    key: str, env_name: str, cli: object, env: str, ini: object
) -> None:
    def resolved(**layers: dict[str, object]) -> object:
        options = resolve_options(
            layers.get("cli", {}),
            {k: str(v) for k, v in layers.get("env", {}).items()},
            layers.get("ini", {}),
        )
        return getattr(options, key)

    env_value = resolve_options({}, {env_name: env}, {}).__getattribute__(key)
    assert resolved(cli={key: cli}, env={env_name: env}, ini={key: ini}) == cli
    assert resolved(env={env_name: env}, ini={key: ini}) == env_value != ini
    assert resolved(ini={key: ini}) == ini


def test_an_empty_environment_value_overrides_the_ini_file_with_the_default() -> None:
    options = resolve_options({}, {"ONTAP_URL": ""}, {"url": "https://ini.example"})
    assert options.url is None
    assert resolve_options({"url": ""}, {"ONTAP_URL": "https://env.example"}, {}).url is None


def test_the_password_comes_only_from_the_environment() -> None:
    options = resolve_options({"password": "cli"}, {}, {"password": "ini"})
    assert options.password is None
    options = resolve_options({"url": "https://c.example"}, {PASSWORD_ENV: "pw-123"}, {})
    assert options.password == "pw-123"
    assert "pw-123" not in repr(options) + options.describe()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"ONTAP_CLOCK": "fast"}, "ONTAP_CLOCK='fast': expected one of virtual, real"),
        ({"ONTAP_TRANSPORT": "pigeon"}, "ONTAP_TRANSPORT='pigeon'"),
        ({"ONTAP_INSECURE": "maybe"}, "ONTAP_INSECURE='maybe': expected true/false"),
        ({"ONTAP_URL": "cluster.example"}, "expected an http(s) URL"),
        ({"ONTAP_URL": "https://admin:pw@cluster.example"}, "must not carry credentials"),
    ],
)
def test_bad_values_are_usage_errors_naming_their_source(env: dict[str, str], needle: str) -> None:
    with pytest.raises(pytest.UsageError) as error:
        resolve_options({}, env, {})
    assert needle in str(error.value)


def test_the_ini_file_the_environment_and_the_flags_meet_in_the_header(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\nontap_url = https://ini.example\nontap_clock = real\n"
        "ontap_transport = inprocess\n"
    )
    pytester.makepyfile("def test_nothing(): pass")
    result = run_here(pytester, "--co")
    result.stdout.fnmatch_lines(["ontapjob: live cluster https://ini.example (user admin, *)"])

    monkeypatch.setenv("ONTAP_URL", "")
    monkeypatch.setenv("ONTAP_CLOCK", "virtual")
    result = run_here(pytester, "--co")
    result.stdout.fnmatch_lines(["ontapjob: simulator (virtual clock, inprocess transport)"])

    result = run_here(pytester, "--co", "--ontap-clock", "real", "--ontap-transport", "http")
    result.stdout.fnmatch_lines(["ontapjob: simulator (real clock, http transport)"])


def test_the_live_header_names_url_user_and_tls_but_never_the_password(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = pytester.path / "ca.pem"
    bundle.write_text("not read at collection time\n")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-Passw0rd")
    monkeypatch.setenv("ONTAP_USERNAME", "ops")
    pytester.makepyfile("def test_nothing(): pass")
    result = run_here(pytester, "--co", "--ontap-url", "https://c1.example:8443/", "-v")
    result.stdout.fnmatch_lines(
        [
            "ontapjob: live cluster https://c1.example:8443 "
            "(user ops, TLS verified with the system CA store)"
        ]
    )
    result = run_here(
        pytester, "--co", "--ontap-url=https://c1.example", f"--ontap-ca-bundle={bundle}"
    )
    result.stdout.fnmatch_lines(
        [
            "ontapjob: live cluster https://c1.example "
            f"(user ops, TLS verified with CA bundle {bundle})"
        ]
    )
    monkeypatch.setenv("ONTAP_INSECURE", "1")
    result = run_here(pytester, "--co", "--ontap-url=https://c1.example")
    result.stdout.fnmatch_lines(
        ["*https://c1.example (user ops, WARNING: TLS certificate verif*OFF)"]
    )
    assert "s3cret" not in result.stdout.str() + result.stderr.str()


def test_a_bad_option_value_stops_the_run_with_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    monkeypatch.setenv("ONTAP_TRANSPORT", "pigeon")
    result = run_here(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ONTAP_TRANSPORT='pigeon': expected one of http, inprocess*"])
    monkeypatch.delenv("ONTAP_TRANSPORT")
    result = run_here(pytester, "--ontap-scenario", "missing.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*scenario file missing.json does not exist*"])


# -- markers -----------------------------------------------------------------------------------
MARKED = """
    import pytest

    @pytest.mark.ontap_sim_only
    def test_sim_only():
        pass

    @pytest.mark.ontap_live_only
    def test_live_only():
        pass
"""


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = run_here(pytester, "--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.ontap_sim_only:*",
            "@pytest.mark.ontap_live_only:*",
            "@pytest.mark.ontap_policy(**kwargs):*",
            "@pytest.mark.ontap_script(method, path, steps, times=1, **options):*",
        ]
    )


def test_on_the_simulator_live_only_tests_skip_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MARKED)
    result = run_here(pytester, "-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED ?1? test_*.py:*: ontap_live_only: needs a live cluster "
            "(--ontap-url or ONTAP_URL); this run uses the simulator"
        ]
    )


def test_on_a_live_cluster_sim_only_tests_skip_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MARKED)
    result = run_here(pytester, "-rs", "--ontap-url", "https://c1.example")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED ?1? test_*.py:*: ontap_sim_only: needs the simulator; this run targets the "
            "live cluster https://c1.example"
        ]
    )


def test_live_mode_without_a_password_fails_the_client_fixture_clearly(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_cluster(ontap_client): pass")
    result = run_here(pytester, "--ontap-url", "https://c1.example")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*ontap_client: set ONTAP_PASSWORD to the password of admin on https://c1.example*"]
    )


def test_bad_marker_arguments_fail_the_test_naming_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ontap_policy(interval=-1)
        def test_policy(ontap_client):
            pass

        @pytest.mark.ontap_script("POST", "/api/storage/volumes", [{"state": "running"}])
        def test_script(ontap_sim):
            pass
        """
    )
    result = run(pytester, "--ontap-transport", "inprocess")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.ontap_policy: PollPolicy.interval must be > 0, got -1",
            "*@pytest.mark.ontap_script('POST', '/api/storage/volumes', *",
        ]
    )


# -- simulator mode ----------------------------------------------------------------------------
def test_simulator_mode_end_to_end_with_a_reset_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json
        from simulator import VIRTUAL_EPOCH

        VOLUME = json.loads({VOLUME!r})

        def test_create_volume(ontap_client, ontap_server, ontap_sim):
            assert ontap_server.url.startswith("http://127.0.0.1:")
            assert ontap_client.clock is ontap_sim.clock
            result = ontap_client.post("/api/storage/volumes", json=VOLUME)
            assert (result.status_code, result.state) == (202, "success")
            assert result.polls >= 1
            body = ontap_client.get("/api/storage/volumes", params={{"name": "v1"}})
            assert [record["name"] for record in body["records"]] == ["v1"]
            ontap_sim.fault("GET", "/api/cluster", status=500, times=None)
            ontap_sim.script("POST", "/api/*", [{{"state": "failure", "message": "no", "code": 1}}])

        def test_the_next_test_starts_from_a_reset_simulator(ontap_client, ontap_sim):
            assert ontap_sim.clock.now() == VIRTUAL_EPOCH
            assert ontap_client.get("/api/storage/volumes")["num_records"] == 0
            assert ontap_client.get("/api/cluster")["name"]
            assert ontap_client.post("/api/storage/volumes", json=VOLUME).state == "success"
            assert [(entry["method"], entry["path"]) for entry in ontap_sim.journal][:3] == [
                ("GET", "/api/storage/volumes"),
                ("GET", "/api/cluster"),
                ("POST", "/api/storage/volumes"),
            ]
        """
    )
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["ontapjob: simulator (virtual clock, http transport)"])


def test_a_seeded_record_changed_in_one_test_is_back_in_every_next_one(
    pytester: pytest.Pytester,
) -> None:
    """Resets copy the seeded tables back once seeding proved deterministic: what a test
    changes inside a seeded record (the cluster) is gone in every test after it."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_rename(ontap_client, ontap_sim, n):
            assert ontap_client.get("/api/cluster")["name"] == "cluster1"
            assert ontap_client.patch("/api/cluster", json={"name": f"c{n}"}).state == "success"
            assert ontap_client.get("/api/cluster")["name"] == f"c{n}"
            ontap_sim.store.tables["Cluster"][next(iter(ontap_sim.store.tables["Cluster"]))][
                "location"
            ] = "moved"
        """
    )
    result = run(pytester, "-v", "--ontap-transport", "inprocess")
    result.assert_outcomes(passed=4)


def test_a_thirty_minute_job_takes_seconds_not_minutes(pytester: pytest.Pytester) -> None:
    """The virtual clock never waits for real: the bound only catches real sleeping (1,800 s),
    loose enough for a loaded CI machine; what a poll costs is measured in bench/."""
    pytester.makepyfile(
        f"""
        import json, time
        import pytest

        VOLUME = json.loads({VOLUME!r})

        @pytest.mark.ontap_script(
            "POST",
            "/api/storage/volumes",
            [
                {{"state": "queued", "seconds": 60}},
                {{"state": "running", "seconds": 1740, "message": "Creating the volume"}},
                {{"state": "success", "message": "success"}},
            ],
        )
        def test_long_job(ontap_client):
            started = time.perf_counter()
            result = ontap_client.post("/api/storage/volumes", json=VOLUME)
            wall = time.perf_counter() - started
            assert result.elapsed >= 1800
            assert result.polls > 10
            assert wall < 20.0, f"took {{wall:.3f}} s of wall time"
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_the_real_clock_waits_in_real_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import json
        import pytest

        VOLUME = json.loads({VOLUME!r})

        @pytest.mark.ontap_policy(interval=0.05, jitter=0)
        @pytest.mark.ontap_script(
            "POST",
            "/api/storage/volumes",
            [{{"state": "running", "seconds": 0.3}}, {{"state": "success"}}],
        )
        def test_short_real_job(ontap_client, ontap_sim):
            assert ontap_sim.clock.mode == "real"
            assert ontap_client.clock is not ontap_sim.clock
            result = ontap_client.post("/api/storage/volumes", json=VOLUME)
            assert 0.25 <= result.elapsed < 10
        """
    )
    result = run(pytester, "--ontap-clock", "real")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["ontapjob: simulator (real clock, http transport)"])


def test_a_scenario_file_from_the_ini_file_applies_after_every_reset(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "scenarios").mkdir()
    scenario = {
        "default_script": [{"state": "running", "seconds": 7}, {"state": "success"}],
        "endpoints": [{"method": "POST", "path": "/api/storage/luns"}],
    }
    (pytester.path / "scenarios" / "luns.json").write_text(json.dumps(scenario))
    pytester.makeini("[pytest]\nfilterwarnings = error\nontap_scenario = scenarios/luns.json\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("attempt", [1, 2])
        def test_declared_endpoint(ontap_client, attempt):
            result = ontap_client.post("/api/storage/luns", json={"name": "lun1"})
            assert result.state == "success"
            assert result.elapsed >= 7
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["ontapjob: simulator (virtual clock, http transport, scenario */scenarios/luns.json)"]
    )


def test_a_broken_scenario_fails_the_tests_with_its_problem(pytester: pytest.Pytester) -> None:
    (pytester.path / "bad.json").write_text('{"default_script": [], "colour": "blue"}')
    pytester.makepyfile("def test_x(ontap_sim): pass")
    result = run(pytester, "--ontap-scenario", "bad.json")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*ontapjob: cannot start the simulator: scenario bad.json: unknown key*"]
    )


@pytest.mark.parametrize("transport", ["http", "inprocess"])
def test_errors_raised_in_the_server_fail_the_test_that_caused_them(
    pytester: pytest.Pytester, transport: str
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_ontapjob import OntapError

        def test_breaks_the_server(ontap_client, ontap_sim, monkeypatch):
            def broken(*args, **kwargs):
                raise RuntimeError("inventory exploded")

            monkeypatch.setattr(ontap_sim.store, "read", broken)
            with pytest.raises(OntapError) as answer:
                ontap_client.get("/api/storage/volumes")
            assert answer.value.status == 500

        def test_the_next_test_is_not_blamed(ontap_client, ontap_sim):
            assert ontap_client.get("/api/storage/volumes")["num_records"] == 0
            assert ontap_sim.errors == []
        """
    )
    result = run(pytester, "--ontap-transport", transport)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: inventory exploded",
            "*SimulatorServerError: the simulator raised an error while serving this test "
            "*RuntimeError: inventory exploded",
            "FAILED *::test_breaks_the_server*",
        ]
    )


# -- in-process transport ----------------------------------------------------------------------
def test_the_inprocess_transport_opens_no_socket_and_allows_no_other_url(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        f"""
        import json, socket
        import pytest, requests
        from pytest_ontapjob._inprocess import WSGIAdapter

        VOLUME = json.loads({VOLUME!r})

        def test_no_socket(ontap_client, ontap_server, monkeypatch):
            def refuse(*args, **kwargs):
                raise AssertionError("a socket was opened")

            monkeypatch.setattr(socket.socket, "connect", refuse)
            assert ontap_server.url == "http://ontap-sim.invalid"
            adapter = ontap_client.session.get_adapter(ontap_server.url + "/api")
            assert isinstance(adapter, WSGIAdapter)
            assert ontap_client.post("/api/storage/volumes", json=VOLUME).state == "success"
            with pytest.raises(requests.ConnectionError):
                requests.get("http://127.0.0.1:9/", timeout=1)

        def test_own_requests_reach_the_simulator(ontap_sim, ontap_server):
            answer = requests.get(ontap_server.url + "/api/cluster", auth=ontap_server.auth)
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == "application/hal+json"
        """
    )
    result = run(pytester, "--ontap-transport", "inprocess")
    result.assert_outcomes(passed=2)


TRANSPORT_SCENARIOS = """
import json, os, re
from pathlib import Path

import pytest
from pytest_ontapjob import OntapJobError

VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
QUICK = [{"state": "queued", "seconds": 1}, {"state": "running", "seconds": 6},
         {"state": "success"}]
SCENARIOS = {
    "success": {"steps": [{"state": "queued", "seconds": 2},
                          {"state": "running", "seconds": 30, "message": "Creating"},
                          {"state": "success", "message": "success"}]},
    "failure": {"steps": [{"state": "running", "seconds": 10},
                          {"state": "failure", "message": "No space left.", "code": 917536}]},
    "paused": {"steps": [{"state": "running", "seconds": 5},
                         {"state": "paused", "seconds": 40, "message": "Paused by an admin"},
                         {"state": "running", "seconds": 5}, {"state": "success"}]},
    "polls": {"steps": [{"state": "running", "polls": 3}, {"state": "success"}]},
    "return_timeout": {"steps": QUICK, "return_timeout": 30},
    "failure_within_return_timeout": {
        "steps": [{"state": "running", "seconds": 3},
                  {"state": "failure", "message": "Duplicate.", "code": 13}],
        "return_timeout": 30,
    },
    "503_retry_after": {"steps": QUICK, "faults": [
        {"method": "POST", "path": "/api/storage/volumes", "status": 503, "retry_after": 7}]},
    "drop_while_polling": {"steps": QUICK, "faults": [
        {"method": "GET", "path": "/api/cluster/jobs/*", "drop": True, "times": 2}]},
    "malformed_while_polling": {"steps": QUICK, "faults": [
        {"method": "GET", "path": "/api/cluster/jobs/*", "malformed": True}]},
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize(text):
    seen = {}
    return UUID.sub(lambda m: seen.setdefault(m.group(0), f"<uuid{len(seen)}>"), text)


@pytest.mark.ontap_policy(jitter=0)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name, ontap_client, ontap_sim, ontap_server):
    route = ontap_server.transport
    if os.environ.get("ONTAP_TEST_ROUTE") == "responses":
        # Unmount the direct WSGI adapter: the client goes through ontap_sim's responses mock.
        del ontap_client.session.adapters[ontap_server.url + "/"]
        route = "responses"
    scenario = SCENARIOS[name]
    ontap_sim.script("POST", "/api/storage/volumes", scenario["steps"])
    for fault in scenario.get("faults", []):
        ontap_sim.fault(**fault)
    try:
        result = ontap_client.post(
            "/api/storage/volumes", json=VOLUME, return_timeout=scenario.get("return_timeout")
        )
    except OntapJobError as exc:
        outcome = {"raised": type(exc).__name__, "text": str(exc),
                   "fields": {k: v for k, v in vars(exc).items() if k != "__cause__"}}
    else:
        outcome = {"status_code": result.status_code, "state": result.state,
                   "polls": result.polls, "elapsed": result.elapsed, "job": result.job,
                   "location": result.location, "body": result.body}
    outcome["journal"] = ontap_sim.journal
    out = Path(os.environ["ONTAP_TEST_OUT"]) / f"{route}-{name}.json"
    text = json.dumps(outcome, sort_keys=True, indent=1, default=repr)
    out.write_text(normalize(text.replace(ontap_server.url, "<url>")))
"""


def test_http_and_inprocess_transports_give_identical_results(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(TRANSPORT_SCENARIOS)
    monkeypatch.setenv("ONTAP_TEST_OUT", str(tmp_path))
    run(pytester, "--ontap-transport", "http").assert_outcomes(passed=9)
    run(pytester, "--ontap-transport", "inprocess").assert_outcomes(passed=9)
    monkeypatch.setenv("ONTAP_TEST_ROUTE", "responses")
    run(pytester, "--ontap-transport", "inprocess").assert_outcomes(passed=9)

    outcomes = {}
    for http_file in sorted(tmp_path.glob("http-*.json")):
        name = http_file.stem.removeprefix("http-")
        http = json.loads(http_file.read_text())
        inprocess = json.loads((tmp_path / f"inprocess-{name}.json").read_text())
        through_responses = json.loads((tmp_path / f"responses-{name}.json").read_text())
        assert http == inprocess == through_responses, name
        outcomes[name] = http
    assert len(outcomes) == 9

    assert outcomes["success"]["state"] == "success"
    assert outcomes["failure"]["raised"] == "JobFailed"
    assert outcomes["failure"]["fields"]["code"] == 917536
    assert outcomes["paused"]["elapsed"] >= 50
    assert outcomes["polls"]["polls"] == 4
    assert (outcomes["return_timeout"]["status_code"], outcomes["return_timeout"]["polls"]) == (
        201,
        0,
    )
    assert outcomes["failure_within_return_timeout"]["raised"] == "OntapError"
    assert outcomes["503_retry_after"]["journal"][0]["status"] == 503
    assert (
        outcomes["503_retry_after"]["journal"][1]["time"]
        >= 7 + (outcomes["503_retry_after"]["journal"][0]["time"])
    )
    dropped = [e for e in outcomes["drop_while_polling"]["journal"] if e.get("fault") == "drop"]
    assert [e["status"] for e in dropped] == [None, None]
    assert outcomes["drop_while_polling"]["state"] == "success"
    assert outcomes["malformed_while_polling"]["state"] == "success"


# -- live mode ---------------------------------------------------------------------------------
LIVE_TESTS = """
import os, uuid
import pytest

def volume():
    return {"name": "v_" + uuid.uuid4().hex[:8], "svm": {"name": "vs0"},
            "aggregates": [{"name": "aggr1"}]}

def test_create_volume_on_the_cluster(ontap_client):
    body = volume()
    result = ontap_client.post("/api/storage/volumes", json=body, return_timeout=30)
    assert result.status_code == 201
    found = ontap_client.get("/api/storage/volumes", params={"name": body["name"]})
    assert found["num_records"] == 1
    with open(os.environ["ONTAP_TEST_OUT"], "a") as out:
        out.write(body["name"] + "\\n")

def test_needs_the_simulator(ontap_sim):
    pass

def test_needs_the_server(ontap_server):
    pass

@pytest.mark.ontap_sim_only
def test_sim_only(ontap_client):
    pass

@pytest.mark.ontap_live_only
def test_live_only(ontap_client):
    assert ontap_client.get("/api/cluster")["name"]

@pytest.mark.ontap_script("POST", "/api/storage/volumes", [{"state": "success"}])
def test_scripted(ontap_client):
    pass
"""


def test_live_mode_against_a_standalone_simulator_process(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Live-Passw0rd-7"
    pytester.makepyfile(LIVE_TESTS)
    names = tmp_path / "names.txt"
    monkeypatch.setenv("ONTAP_TEST_OUT", str(names))
    with ontap_sim("--clock", "virtual", "--quiet", env={"ONTAP_SIM_PASSWORD": password}) as sim:
        url = sim.url()
        monkeypatch.setenv(PASSWORD_ENV, password)
        result = run(pytester, "-rs", "--ontap-url", url)
        result.assert_outcomes(passed=2, skipped=4)
        result.stdout.fnmatch_lines(
            [f"ontapjob: live cluster {url} (user admin, plain HTTP, no TLS)"], consecutive=True
        )
        result.stdout.fnmatch_lines(
            [
                f"SKIPPED ?1? *: ontap_sim needs the simulator; this run targets the live cluster "
                f"{url} (--ontap-url)",
                f"SKIPPED ?1? *: ontap_server needs the simulator; this run targets the live "
                f"cluster {url} (--ontap-url)",
                f"SKIPPED ?1? *: ontap_sim_only: needs the simulator; this run targets the live "
                f"cluster {url}",
                "SKIPPED ?1? *: ontap_script needs the simulator*",
            ]
        )
        assert password not in result.stdout.str() + result.stderr.str()
        # The cluster was neither reset nor scripted: the volume is still there.
        name = names.read_text().strip()
        answer = requests.get(
            f"{url}/api/storage/volumes",
            params={"name": name},
            auth=("admin", password),
            timeout=10,
        )
        assert answer.json()["num_records"] == 1


def test_live_mode_verifies_tls_with_a_ca_bundle_or_skips_it_when_told(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Tls-Passw0rd-9"
    pytester.makepyfile(
        """
        import os, uuid

        def test_create(ontap_client):
            body = {"name": "v_" + uuid.uuid4().hex[:8], "svm": {"name": "vs0"},
                    "aggregates": [{"name": "aggr1"}]}
            assert ontap_client.post("/api/storage/volumes", json=body, return_timeout=30).state
        """
    )
    monkeypatch.setenv("ONTAP_TEST_OUT", str(tmp_path / "names.txt"))
    monkeypatch.setenv(PASSWORD_ENV, password)
    env = {"ONTAP_SIM_PASSWORD": password}
    with ontap_sim("--clock", "virtual", "--quiet", "--tls", env=env) as sim:
        url, ca_file = sim.url(), sim.ca_file()  # the first two lines of its stdout
        assert url.startswith("https://")

        result = run(pytester, "--ontap-url", url, "--ontap-ca-bundle", ca_file)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"*(user admin, TLS verified with CA bundle {ca_file})"])

        result = run(pytester, "--ontap-url", url)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*TransportError: POST /api/storage/volumes: connection failed: "
                "SSLCertVerificationError*CERTIFICATE_VERIFY_FAILED*",
            ]
        )

        monkeypatch.setenv("ONTAP_INSECURE", "1")
        result = run(pytester, "--ontap-url", url)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*(user admin, WARNING: TLS certificate verification is OFF)"])
        assert password not in result.stdout.str() + result.stderr.str()


# -- xdist ------------------------------------------------------------------------------------
def test_each_xdist_worker_gets_its_own_server(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        f"""
        import json, os
        from pathlib import Path
        import pytest

        VOLUME = json.loads({VOLUME!r})

        @pytest.mark.parametrize("n", range(3))
        def test_record_server(ontap_server, ontap_client, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            out = Path(os.environ["ONTAP_TEST_OUT"]) / f"{{worker}}-{{n}}.txt"
            out.write_text(ontap_server.url)
            assert ontap_client.post("/api/storage/volumes", json=VOLUME).state == "success"
        """
    )
    monkeypatch.setenv("ONTAP_TEST_OUT", str(tmp_path))
    result = run(pytester, "-n", "2", "--dist", "each")
    result.assert_outcomes(passed=6)
    urls: dict[str, set[str]] = {}
    for path in tmp_path.glob("*.txt"):
        urls.setdefault(path.stem.split("-")[0], set()).add(path.read_text())
    assert sorted(urls) == ["gw0", "gw1"]
    assert all(len(seen) == 1 for seen in urls.values()), urls
    ports = {next(iter(seen)).rsplit(":", 1)[1] for seen in urls.values()}
    assert len(ports) == 2, urls


def test_the_simulator_client_ignores_proxies_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")
    pytester.makepyfile(
        """
        def test_reaches_the_simulator(ontap_client):
            assert ontap_client.session.trust_env is False
            assert ontap_client.get("/api/cluster")["name"]
        """
    )
    run(pytester).assert_outcomes(passed=1)


KEPT_CONNECTIONS = """
import pytest

from pytest_ontapjob import TransportError

seen = []


def pool(client, server):
    # the adapter on the simulator URL, and how many connections it ever opened
    adapter = client.session.get_adapter(server.url + "/")
    pools = adapter.poolmanager.pools
    return adapter, sum(pools[key].num_connections for key in pools.keys())


def test_one(ontap_client, ontap_server):
    ontap_client.get("/api/cluster")
    seen.append(pool(ontap_client, ontap_server))


def test_two(ontap_client, ontap_server):
    ontap_client.get("/api/cluster")
    seen.append(pool(ontap_client, ontap_server))
    assert seen[0][0] is seen[1][0]
    assert seen[1][1] == 1  # the first test's connection, kept alive


def test_a_drop_closes_it(ontap_sim, ontap_client):
    ontap_sim.fault("GET", "/api/cluster", drop=True)
    with pytest.raises(TransportError):
        ontap_client.get("/api/cluster")


def test_the_next_test_connects_again(ontap_client, ontap_server):
    assert ontap_client.get("/api/cluster")
    assert pool(ontap_client, ontap_server)[1] == 2
"""


def test_tests_share_kept_alive_connections_to_the_simulator_over_http(
    pytester: pytest.Pytester,
) -> None:
    """A connection per test cost as much CPU as two polls: the session's tests share them."""
    pytester.makepyfile(KEPT_CONNECTIONS)
    run(pytester, "--ontap-transport", "http", "-p", "no:randomly").assert_outcomes(passed=4)
