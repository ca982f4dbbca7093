"""``ontap-sim record``: record a cluster's jobs through the proxy, replay them as a scenario.

The "cluster" is the simulator itself on a real clock (an ``ontap-sim`` process, or a served
``Simulator`` where the process does not matter), scripted with short timelines; replays run on
the virtual clock with a different poll policy and must meet the same outcomes, messages, codes
and state order.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simproc import SimProcess, ontap_sim

from pytest_ontapjob import JobFailed, OntapClient, OntapError, PollPolicy
from simulator import Simulator, serve
from simulator.faults import FaultRule, FaultSet
from simulator.record import (
    Observation,
    Recorder,
    WriteRecord,
    body_shape,
    build_scenario,
    job_steps,
    main,
    path_pattern,
    place_faults,
    request_secrets,
    scrub,
    write_scenario,
)

AUTH = ("admin", "netapp1!")
U1 = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
U2 = "11111111-2222-3333-4444-555555555555"
DISKS = "There are not enough disks in Pool1."
#: queued, running, paused, running, failure: 0.4 s of real time.
FAILING = [
    {"state": "queued", "seconds": 0.1},
    {
        "state": "running",
        "seconds": 0.1,
        "message": "Checking remote storage pool",
        "code": 2432844,
    },
    {"state": "paused", "seconds": 0.1, "message": "Waiting for the snapshot to be released."},
    {"state": "running", "seconds": 0.1},
    {"state": "failure", "message": DISKS, "code": 2432836},
]
SUCCEEDING = [
    {"state": "queued", "seconds": 0.1},
    {"state": "running", "seconds": 0.1, "message": "Creating the volume."},
    {"state": "success", "message": "Complete: Successful [0]"},
]
FAILING_FAST = [
    {"state": "running", "seconds": 0.05},
    {"state": "failure", "message": "Aggregate aggr1 is offline.", "code": 917536},
]
STATES = ["queued", "running", "paused", "running", "failure"]


def volume(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}], **extra}


def write(index: int = 0, **fields: Any) -> WriteRecord:
    defaults: dict[str, Any] = {
        "index": index,
        "method": "POST",
        "path": "/api/storage/volumes",
        "body": None,
        "return_timeout": None,
        "test": None,
        "started": 100.0,
        "wall": 1.7e9,
        "answered": 100.01,
        "status": 202,
        "kind": "job",
    }
    return WriteRecord(**{**defaults, **fields})


def seen(t: float, state: str, message: str | None = None, code: int | None = 0) -> Observation:
    return Observation(t, state, message, code)


# -- what is kept of a request ---------------------------------------------------------------
def test_paths_become_endpoint_globs_with_uuids_as_stars() -> None:
    assert path_pattern(f"/api/storage/volumes/{U1}/snapshots/{U2}") == (
        "/api/storage/volumes/*/snapshots/*"
    )
    assert path_pattern("/api/storage/volumes/") == "/api/storage/volumes"
    assert path_pattern("/api/storage/volumes/", strip=False) == "/api/storage/volumes/"
    assert path_pattern("/api/protocols/cifs/shares/x*y?[z]") == (
        "/api/protocols/cifs/shares/x[*]y[?][[]z]"
    )


def test_a_body_keeps_its_shape_never_its_values() -> None:
    shape = body_shape(
        {
            "name": "v1",
            "size": 10,
            "svm": {"name": "vs0"},
            "aggregates": [{"name": "a"}],
            "encryption": {"enabled": True},
            "password": "Hunter2!",
            "comment": None,
        }
    )
    assert shape == {
        "name": "string",
        "size": "number",
        "svm": {"name": "string"},
        "aggregates": [{"name": "string"}],
        "encryption": {"enabled": "boolean"},
        "password": "<redacted>",
        "comment": "null",
    }


def test_every_secret_of_a_request_is_found_and_scrubbed() -> None:
    header = "Basic " + base64.b64encode(b"admin:Sw0rdf1sh!").decode()
    secrets = request_secrets(
        header, {"name": "v1", "auth": {"password": "B0dySecret"}}, {"token": "QueryT0ken"}
    )
    assert {"Sw0rdf1sh!", "B0dySecret", "QueryT0ken", header} <= secrets
    assert "v1" not in secrets
    echoed = {"message": 'bad value "B0dySecret" for Sw0rdf1sh! (QueryT0ken)', "code": "2"}
    assert scrub(echoed, secrets) == {
        "message": 'bad value "<redacted>" for <redacted> (<redacted>)',
        "code": "2",
    }
    assert request_secrets("Bearer abc.def", None, {}) >= {"Bearer abc.def", "abc.def"}


# -- from a timeline to a script --------------------------------------------------------------
def test_state_changes_are_placed_halfway_between_the_polls_that_saw_them() -> None:
    record = write(
        started=100.0,
        observations=[
            seen(100.05, "queued", "Job is queued."),
            seen(100.15, "queued", "Job is queued."),
            seen(100.25, "running", "Checking", 7),
            seen(100.35, "paused", "Waiting"),
            seen(100.45, "failure", DISKS, 2432836),
        ],
    )
    assert job_steps(record) == [
        {"state": "queued", "seconds": 0.2, "message": "Job is queued."},
        {"state": "running", "seconds": 0.1, "message": "Checking", "code": 7},
        {"state": "paused", "seconds": 0.1, "message": "Waiting"},
        {"state": "failure", "message": DISKS, "code": 2432836},
    ]


def test_a_job_first_seen_finished_lasts_until_the_write_answered_or_the_first_look() -> None:
    done_in_time = write(status=201, answered=100.3, observations=[seen(100.4, "success", "ok")])
    assert job_steps(done_in_time) == [
        {"state": "running", "seconds": 0.3},
        {"state": "success", "message": "ok"},
    ]
    seen_late = write(status=202, answered=100.2, observations=[seen(100.4, "success", "ok")])
    assert job_steps(seen_late)[0] == {"state": "running", "seconds": 0.3}


def test_a_job_not_seen_to_end_ends_in_a_failure_saying_so() -> None:
    record = write(observations=[seen(100.1, "running", "Still going")])
    steps = job_steps(record)
    assert steps[0] == {"state": "running", "seconds": 0.1, "message": "Still going"}
    assert steps[-1]["state"] == "failure"
    assert "still running when recording stopped" in steps[-1]["message"]
    assert job_steps(write(note="a GET of the job answered 403"))[-1]["message"].endswith("403")


# -- placing the errors among the writes -----------------------------------------------------
def fired(faults: list[dict[str, Any]], sequence: list[tuple[str, str]]) -> list[int]:
    """The indexes of ``sequence`` the faults answer when replayed through a FaultSet."""
    rules = FaultSet()
    for fault in faults:
        rules.add(fault)
    return [i for i, (method, path) in enumerate(sequence) if rules.take(method, path)]


def test_each_recorded_error_fires_at_its_own_write_among_overlapping_endpoints() -> None:
    volume_path, snapshot_path = (
        f"/api/storage/volumes/{U1}",
        f"/api/storage/volumes/{U1}/snapshots",
    )
    sequence = [
        ("POST", "/api/storage/volumes"),
        ("PATCH", volume_path),
        ("POST", "/api/storage/volumes"),  # error
        ("PATCH", f"{snapshot_path}/{U2}"),
        ("PATCH", volume_path),  # error
        ("PATCH", f"{snapshot_path}/{U2}"),  # error
        ("POST", "/api/storage/volumes"),
        ("PATCH", volume_path),  # error
    ]
    errors = [2, 4, 5, 7]
    targets = [
        (
            i,
            {
                "method": sequence[i][0],
                "path": path_pattern(sequence[i][1], strip=False),
                "times": 1,
                "status": 409,
            },
        )
        for i in errors
    ]
    faults = place_faults(sequence, targets)
    assert [f.get("after", 0) for f in faults] == [1, 2, 1, 2]
    assert fired(faults, sequence) == errors


def test_faults_take_a_target_and_an_after() -> None:
    rule = FaultRule.parse(
        {
            "method": "POST",
            "path": "/api/storage/volumes",
            "status": 409,
            "code": "1",
            "message": "duplicate entry",
            "target": "name",
            "after": 2,
        }
    )
    assert [rule.fires() for _ in range(3)] == [False, False, True]
    assert rule.error().body() == {
        "error": {"message": "duplicate entry", "code": "1", "target": "name"}
    }
    assert FaultRule.parse({"status": 500, "after": 1}).to_json()["after"] == 1
    for bad, target in (
        ({"status": 409, "after": -1}, "after"),
        ({"status": 409, "after": True}, "after"),
        ({"status": 409, "target": 3}, "target"),
        ({"delay": 1, "target": "name"}, "target"),
    ):
        with pytest.raises(Exception) as refused:
            FaultRule.parse(bad)
        assert (refused.value.status, refused.value.target) == (400, target)  # type: ignore[attr-defined]


def test_a_fault_with_after_answers_the_nth_write_over_http() -> None:
    sim = Simulator()
    client = sim.app.test_client()
    headers = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
    answer = client.post(
        "/simulator/faults",
        json={
            "method": "POST",
            "path": "/api/storage/volumes",
            "status": 409,
            "code": "1",
            "message": "duplicate entry",
            "target": "name",
            "after": 1,
        },
        headers=headers,
    )
    assert (answer.status_code, answer.json["after"], answer.json["target"]) == (201, 1, "name")
    statuses = [
        client.post("/api/storage/volumes", json=volume(f"v{i}"), headers=headers) for i in range(3)
    ]
    assert [a.status_code for a in statuses] == [202, 409, 202]
    assert statuses[1].json == {
        "error": {"message": "duplicate entry", "code": "1", "target": "name"}
    }


def test_scripts_list_deeper_endpoints_first_so_each_write_takes_its_own() -> None:
    snapshot = f"/api/storage/volumes/{U1}/snapshots/{U2}"
    records = [
        write(
            0,
            method="PATCH",
            path=f"/api/storage/volumes/{U1}",
            observations=[seen(100.1, "success", "volume")],
        ),
        write(1, method="PATCH", path=snapshot, observations=[seen(100.1, "failure", "snap", 9)]),
    ]
    scenario = build_scenario(
        records, inventory=None, upstream="https://c1", started=0.0, stopped=1.0
    )
    assert [s["path"] for s in scenario["scripts"]] == [
        "/api/storage/volumes/*/snapshots/*",
        "/api/storage/volumes/*",
    ]
    sim = Simulator(scenario=scenario)
    assert sim._take_script("PATCH", f"/api/storage/volumes/{U1}").steps[-1].message == "volume"
    assert sim._take_script("PATCH", snapshot).steps[-1].message == "snap"


def test_equal_consecutive_scripts_merge_and_unknown_job_endpoints_are_declared() -> None:
    records = [
        write(
            i,
            path=path,
            answered=100.2,
            observations=[seen(100.1, "running", "r"), seen(100.3, "success", "ok")],
        )
        for path in ("/api/storage/luns", "/api/example/widgets")  # served; unknown here
        for i in range(3)
    ]
    scenario = build_scenario(records, inventory=None, upstream="https://c1", started=0, stopped=1)
    assert scenario["endpoints"] == [{"method": "POST", "path": "/api/example/widgets"}]
    assert sorted((s["path"], s["times"]) for s in scenario["scripts"]) == [
        ("/api/example/widgets", 3),
        ("/api/storage/luns", 3),
    ]


def test_a_scenario_may_carry_a_recording_object_and_nothing_else_there() -> None:
    Simulator(scenario={"recording": {"writes": []}})
    with pytest.raises(ValueError, match="recording must be an object"):
        Simulator(scenario={"recording": ["not", "an", "object"]})


# -- the file ---------------------------------------------------------------------------------
def test_the_file_is_written_atomically_and_never_replaced_without_force(tmp_path: Path) -> None:
    out = tmp_path / "rec.json"
    write_scenario(out, {"scripts": []})
    assert json.loads(out.read_text()) == {"scripts": []}
    with pytest.raises(FileExistsError, match="--force"):
        write_scenario(out, {"scripts": [1]})
    assert json.loads(out.read_text()) == {"scripts": []}
    write_scenario(out, {"faults": []}, force=True)
    assert json.loads(out.read_text()) == {"faults": []}
    assert [p.name for p in tmp_path.iterdir()] == ["rec.json"]  # no temporary file left


def test_record_refuses_an_existing_out_file_and_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rec.json"
    out.write_text("{}")
    assert main(["--upstream", "https://c1", "--out", str(out)]) == 2
    assert f"--out {out} exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "{}"
    for argv, needle in (
        (["--upstream", "ftp://c1"], "expected an http(s) URL"),
        (["--upstream", "https://admin:pw@c1"], "must not carry credentials"),
        (
            ["--upstream", "https://c1", "--upstream-insecure", "--upstream-ca-bundle", "x"],
            "not allowed with argument",
        ),
        (["--upstream", "https://c1", "--poll-interval", "0"], "positive number"),
        (
            ["--upstream", "https://c1", "--upstream-ca-bundle", str(tmp_path / "no.pem")],
            "does not exist",
        ),
    ):
        with pytest.raises(SystemExit) as usage:
            main([*argv, "--out", str(tmp_path / "new.json")])
        assert usage.value.code == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "new.json").exists()


def settled(rec: Recorder, timeout: float = 5.0) -> None:
    """Wait until every job the recorder follows has been seen to end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [w for w in rec.writes if w.kind == "job"]
        if all(w.observations and w.observations[-1].state in ("success", "failure") for w in jobs):
            return
        time.sleep(0.01)
    raise AssertionError(f"jobs still followed after {timeout} s: {rec.writes}")


# -- the proxy, in process --------------------------------------------------------------------
@pytest.fixture
def upstream() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(clock="real")
    with serve(sim) as handle:
        yield sim, handle.url


@pytest.fixture
def recorder(upstream: tuple[Simulator, str]) -> Iterator[tuple[Recorder, str]]:
    rec = Recorder(upstream[1], poll_interval=0.01)
    with serve(rec) as handle:
        yield rec, handle.url
    rec.close()


def test_answers_come_back_unchanged(
    upstream: tuple[Simulator, str], recorder: tuple[Recorder, str]
) -> None:
    sim, direct = upstream
    _, proxied = recorder
    requests.get(proxied + "/api/cluster/nodes", auth=AUTH, timeout=10)  # reads the inventory
    sim.fault("GET", "/api/cluster", times=2, status=503, retry_after=7)
    for target in ("/api/cluster", "/api/cluster?fields=name", "/api/storage/nothing"):
        a = requests.get(direct + target, auth=AUTH, timeout=10)
        b = requests.get(proxied + target, auth=AUTH, timeout=10)
        assert (b.status_code, b.content) == (a.status_code, a.content)
        for name in ("Content-Type", "Retry-After", "Cache-Control", "Server"):
            assert b.headers.get(name) == a.headers.get(name)
    refused = requests.get(proxied + "/api/cluster", auth=("admin", "wrong"), timeout=10)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="ontap-sim"'
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    created = requests.post(
        proxied + "/api/storage/volumes?return_timeout=5", json=volume("v1"), auth=AUTH, timeout=10
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/storage/volumes/?name=v1"
    head = requests.head(proxied + "/api/cluster", auth=AUTH, timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_compressed_answers_pass_unchanged_and_their_jobs_are_still_followed() -> None:
    job = {"job": {"uuid": U1, "_links": {"self": {"href": f"/api/cluster/jobs/{U1}"}}}}
    done = {"uuid": U1, "state": "success", "message": "success", "code": 0}

    def cluster(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """An upstream that gzips every answer, as a proxy in front of ONTAP may."""
        body = job if environ["REQUEST_METHOD"] == "POST" else done
        data = gzip.compress(json.dumps(body).encode())
        status = "202 Accepted" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
        start_response(
            status,
            [
                ("Content-Type", "application/hal+json"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(data))),
            ],
        )
        return [data]

    with serve(cluster) as upstream:
        rec = Recorder(upstream.url, poll_interval=0.01)
        with serve(rec) as handle:
            answer = requests.post(
                handle.url + "/api/storage/volumes", json=volume("v1"), auth=AUTH, timeout=10
            )
            assert (answer.status_code, answer.json()) == (202, job)
            assert answer.headers["Content-Encoding"] == "gzip"
            settled(rec)
        rec.close()
    (write,) = rec.writes
    assert (write.kind, write.job_uuid, write.observations[-1].state) == ("job", U1, "success")


def test_an_unreachable_upstream_answers_502_in_ontap_format_and_the_proxy_goes_on() -> None:
    with serve(Simulator()) as gone:
        url = gone.url
    rec = Recorder(url)
    with serve(rec) as handle:
        for _ in range(2):
            answer = requests.post(
                handle.url + "/api/storage/volumes", json=volume("v1"), auth=AUTH, timeout=10
            )
            assert answer.status_code == 502
            assert answer.json()["error"]["message"].startswith(
                f"ontap-sim record: the upstream {url} cannot be reached"
            )
        too_big = requests.post(
            handle.url + "/api/storage/volumes",
            data=b"x" * (16 * 1024 * 1024 + 1),
            auth=AUTH,
            timeout=30,
        )
        assert too_big.status_code == 413 and "exceeds" in too_big.json()["error"]["message"]
    rec.close()
    assert [w.kind for w in rec.writes] == ["unreachable", "unreachable"]


def test_tls_upstreams_are_verified_unless_told_otherwise() -> None:
    with serve(Simulator(), tls=True) as upstream:
        assert upstream.ca_file is not None
        for verify, status in ((upstream.ca_file, 200), (True, 502), (False, 200)):
            rec = Recorder(upstream.url, verify=verify)
            with serve(rec) as handle:
                answer = requests.get(handle.url + "/api/cluster", auth=AUTH, timeout=10)
            rec.close()
            assert answer.status_code == status, answer.text
            if status == 502:
                assert "CERTIFICATE_VERIFY_FAILED" in answer.json()["error"]["message"]


def test_a_job_that_fails_within_return_timeout_is_recorded_with_its_status(
    upstream: tuple[Simulator, str], recorder: tuple[Recorder, str]
) -> None:
    sim, _ = upstream
    rec, url = recorder
    sim.script("POST", "/api/storage/volumes", FAILING_FAST, status=422)
    answer = requests.post(
        url + "/api/storage/volumes?return_timeout=5", json=volume("v1"), auth=AUTH, timeout=10
    )
    assert answer.status_code == 422
    rec.stop()
    (script,) = rec.scenario()["scripts"]
    assert script["status"] == 422
    assert script["steps"][-1] == {
        "state": "failure",
        "message": "Aggregate aggr1 is offline.",
        "code": 917536,
    }
    assert 0.04 <= script["steps"][0]["seconds"] < 0.5
    assert rec.scenario()["faults"] == []


def test_no_credential_reaches_the_file_or_the_log(
    upstream: tuple[Simulator, str],
    recorder: tuple[Recorder, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim, _ = upstream
    rec, url = recorder
    password = "Upstr3am-Passw0rd"
    sim._password = password
    body_secret = "Body-Passw0rd!9"  # not a valid volume name: the error message echoes it
    query_secret = "QueryT0ken-7"
    auth = ("admin", password)
    header = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    caplog.set_level(logging.INFO, logger="simulator.record")
    # The volume name echoes the body's secret in the upstream's error message.
    requests.post(
        url + "/api/storage/volumes",
        json=volume(body_secret, password=body_secret),
        auth=auth,
        timeout=10,
    )
    requests.post(
        url + f"/api/svm/svms?token={query_secret}&return_timeout=0",
        json={"name": "vs1", "password": body_secret},
        auth=auth,
        timeout=10,
    )
    sim.script("POST", "/api/storage/volumes", FAILING_FAST)
    requests.post(url + "/api/storage/volumes", json=volume("v1"), auth=auth, timeout=10)
    settled(rec)
    rec.stop()
    out = tmp_path / "rec.json"
    scenario = rec.save(out)
    text = out.read_text() + caplog.text + repr(rec.writes)
    for secret in (password, body_secret, query_secret, header, header.split()[1]):
        assert secret not in text
    assert scenario["recording"]["writes"][0]["body"]["password"] == "<redacted>"
    assert scenario["faults"][0]["message"].startswith('Invalid volume name "<redacted>"')
    assert "token=<redacted>" in caplog.text
    assert len(scenario["scripts"]) == 1


# -- the command, end to end: record, stop, replay ------------------------------------------
def run_writes(client: OntapClient) -> list[tuple[Any, ...]]:
    """The writes of the recording session, and what the client saw of each."""
    outcomes: list[tuple[Any, ...]] = []
    progress: list[tuple[str, str, int]] = []
    client.on_progress = lambda r: progress.append((r["state"], r.get("message"), r.get("code")))
    try:
        client.post("/api/storage/volumes", json=volume("v1"))
    except JobFailed as exc:
        outcomes.append(("failed", exc.message, exc.code, list(progress)))
    progress.clear()
    result = client.post("/api/storage/volumes", json=volume("v2"))
    outcomes.append((result.state, result.job["message"], result.job["code"], list(progress)))
    try:
        client.post("/api/storage/volumes", json=volume("v2"))
    except OntapError as exc:
        outcomes.append(("refused", exc.status, exc.code, exc.message, exc.target))
    try:
        client.post("/api/storage/volumes", json=volume("v3"), return_timeout=5)
    except OntapError as exc:
        outcomes.append(("failed in time", exc.status, exc.code, exc.message))
    return outcomes


def test_record_from_a_cluster_then_replay_on_the_virtual_clock(tmp_path: Path) -> None:
    out = tmp_path / "lab.json"
    password = "Lab-Passw0rd-3"
    auth = ("admin", password)
    with ontap_sim("--quiet", env={"ONTAP_SIM_PASSWORD": password}) as lab:
        for steps in (FAILING, SUCCEEDING, FAILING_FAST):
            requests.post(
                lab.url() + "/simulator/scripts",
                json={"method": "POST", "path": "/api/storage/volumes", "steps": steps},
                auth=auth,
                timeout=10,
            ).raise_for_status()
        proxy = SimProcess(
            "record",
            "--upstream",
            lab.url(),
            "--out",
            str(out),
            "--port",
            "0",
            "--poll-interval",
            "0.01",
        )
        try:
            url = proxy.url()
            assert proxy.line().startswith(f"ontap-sim recording {lab.url()} into {out}")
            policy = PollPolicy(interval=0.02, backoff=1.0, jitter=0.0)
            with OntapClient(url, auth=auth, policy=policy) as client:
                recorded = run_writes(client)
            proxy.send_signal(signal.SIGINT)
            assert proxy.wait() == 0
            said = proxy.rest("stdout")
            logged = proxy.rest("stderr")
        finally:
            proxy.stop()
    assert f"ontap-sim record: wrote {out}: 4 writes, 3 jobs, 1 synchronous errors" in said
    assert password not in out.read_text() + said + logged
    assert recorded[0] == ("failed", DISKS, 2432836, recorded[0][3])
    assert [p[0] for p in recorded[0][3]] == STATES
    assert recorded[2][:3] == ("refused", 409, "1")

    scenario = json.loads(out.read_text())
    assert [len(s["steps"]) for s in scenario["scripts"]] == [5, 3, 2]
    assert scenario["scripts"][2]["status"] == 400
    assert scenario["faults"] == [
        {
            "method": "POST",
            "path": "/api/storage/volumes",
            "times": 1,
            "status": 409,
            "message": recorded[2][3],
            "code": "1",
            "target": "name",
            "after": 2,
        }
    ]
    durations = [s["seconds"] for s in scenario["scripts"][0]["steps"][:-1]]
    assert all(0.05 <= d <= 0.2 for d in durations), durations

    # Replay on the virtual clock, polling differently: same outcomes, messages, codes, order.
    sim = Simulator(clock="virtual", scenario=out)
    began = sim.clock.now()
    with serve(sim) as replay:
        other = PollPolicy(interval=0.005, backoff=2.0, max_interval=0.04, jitter=0.1)
        with OntapClient(replay.url, auth=AUTH, policy=other, clock=sim.clock) as client:
            replayed = run_writes(client)
    assert replayed == recorded
    assert sim.faults.list()[0]["hits"] == 1  # the 409 came from the recording's fault
    assert sim.clock.now() - began == pytest.approx(
        sum(durations)
        + sum(s.get("seconds", 0) for s in scenario["scripts"][1]["steps"])
        + scenario["scripts"][2]["steps"][0]["seconds"],
        abs=0.2,
    )

    # An hour-long pause (an edit of the recording) costs no real time on the virtual clock.
    scenario["scripts"][0]["steps"][2]["seconds"] = 3600
    sim = Simulator(clock="virtual", scenario=scenario)
    with (
        serve(sim) as replay,
        OntapClient(
            replay.url, auth=AUTH, policy=PollPolicy(jitter=0, timeout=7200), clock=sim.clock
        ) as client,
    ):
        wall = time.monotonic()
        with pytest.raises(JobFailed) as failed:
            client.post("/api/storage/volumes", json=volume("v1"))
        assert time.monotonic() - wall < 5
    assert failed.value.message == DISKS
    assert sim.clock.now() - began > 3600

    # ontap-sim --scenario: with return_timeout the virtual clock jumps to each job's end.
    with ontap_sim("--quiet", "--clock", "virtual", "--scenario", str(out)) as cli:
        answers = [
            requests.post(
                cli.url() + "/api/storage/volumes?return_timeout=120",
                json=volume(name),
                auth=AUTH,
                timeout=10,
            )
            for name in ("v1", "v2", "v2", "v3")
        ]
    assert [a.status_code for a in answers] == [400, 201, 409, 400]
    assert answers[0].json()["error"] == {"message": DISKS, "code": "2432836"}
    assert answers[2].json()["error"]["message"] == recorded[2][3]


def test_sigterm_writes_the_file_and_force_replaces_an_old_one(tmp_path: Path) -> None:
    out = tmp_path / "lab.json"
    out.write_text('{"old": true}')
    with serve(Simulator()) as gone:
        url = gone.url
    proxy = SimProcess("record", "--upstream", url, "--out", str(out), "--port", "0", "--force")
    try:
        proxy.url()
        proxy.send_signal(signal.SIGTERM)
        proxy.send_signal(signal.SIGINT)  # an impatient second signal loses nothing
        assert proxy.wait() == 0
    finally:
        proxy.stop()
    scenario = json.loads(out.read_text())
    assert scenario["scripts"] == [] and scenario["recording"]["writes"] == []
    assert "inventory" not in scenario  # no request came, so no credentials to read it with
    Simulator(scenario=out)


# -- the plugin: record a live run, replay it test by test ---------------------------------------
INNER = """
import pytest
from pytest_ontapjob import JobFailed, OntapError

def volume(name):
    return {"name": name, "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}

pytestmark = pytest.mark.ontap_policy(interval=0.02, backoff=1.0, jitter=0.0)

def test_a_create_that_fails(ontap_client):
    states = []
    ontap_client.on_progress = lambda r: states.append(r["state"])
    with pytest.raises(JobFailed) as failed:
        ontap_client.post("/api/storage/volumes", json=volume("a1"))
    assert (failed.value.message, failed.value.code) == (
        "There are not enough disks in Pool1.", 2432836)
    assert states == ["queued", "running", "paused", "running", "failure"]

def test_b_create_then_a_duplicate(ontap_client):
    assert ontap_client.post("/api/storage/volumes", json=volume("b1")).state == "success"
    with pytest.raises(OntapError) as refused:
        ontap_client.post("/api/storage/volumes", json=volume("b1"))
    assert (refused.value.status, refused.value.code) == (409, "1")
"""
BLOCKED = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")


def test_the_plugin_records_a_live_run_that_replays_test_by_test(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_inner=INNER)
    out = tmp_path / "lab.json"
    password = "Plugin-Passw0rd-5"
    monkeypatch.setenv("ONTAP_PASSWORD", password)
    for name in ("ONTAP_URL", "ONTAP_SCENARIO", "ONTAP_RECORD", "ONTAP_CLOCK"):
        monkeypatch.delenv(name, raising=False)
    with ontap_sim("--quiet", env={"ONTAP_SIM_PASSWORD": password}) as lab:
        for steps in (FAILING, SUCCEEDING):
            requests.post(
                lab.url() + "/simulator/scripts",
                json={"method": "POST", "path": "/api/storage/volumes", "steps": steps},
                auth=("admin", password),
                timeout=10,
            ).raise_for_status()
        result = pytester.runpytest_subprocess(
            *BLOCKED, "--ontap-url", lab.url(), "--ontap-record", str(out), timeout=90
        )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            f"ontapjob: live cluster {lab.url()} (user admin, plain HTTP, no TLS, "
            f"recording to {out})",
            f"ontapjob: recorded 3 writes (2 jobs, 1 synchronous errors) of 2 tests to {out}",
        ]
    )
    scenario = json.loads(out.read_text())
    assert password not in out.read_text()
    tests = scenario["recording"]["tests"]
    assert list(tests) == [
        "test_inner.py::test_a_create_that_fails",
        "test_inner.py::test_b_create_then_a_duplicate",
    ]
    assert [w["test"] for w in scenario["recording"]["writes"]] == [
        "test_inner.py::test_a_create_that_fails",
        *["test_inner.py::test_b_create_then_a_duplicate"] * 2,
    ]
    # Each test replays its own writes (test b does not meet test a's failing job).
    monkeypatch.delenv("ONTAP_PASSWORD")
    replay = pytester.runpytest_subprocess(*BLOCKED, "--ontap-scenario", str(out), timeout=90)
    replay.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ontap-record", "x.json"], "--ontap-record records a live cluster: give --ontap-url"),
        (["--ontap-url", "https://c1", "--ontap-record", "exists.json"], "exists.json exists"),
        (["--ontap-url", "https://c1", "--ontap-record", "no/such/dir/x.json"], "no directory"),
    ],
)
def test_the_record_option_is_checked_before_the_run(
    pytester: pytest.Pytester, args: list[str], needle: str
) -> None:
    pytester.makefile(".json", exists="{}")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess(*BLOCKED, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{needle}*"])


def test_a_recorded_test_is_found_by_its_id_or_its_path_tail() -> None:
    from pytest_ontapjob.plugin import _recorded_part

    tests = {"tests/a/test_x.py::test_t": 1, "tests/b/test_x.py::test_t": 2, "test_y.py::C::t": 3}
    assert _recorded_part(tests, "tests/a/test_x.py::test_t") == 1
    assert _recorded_part(tests, "repo/tests/b/test_x.py::test_t") == 2
    assert _recorded_part(tests, "b/test_x.py::test_t") == 2
    assert _recorded_part(tests, "c/test_x.py::test_t") is None  # ambiguous
    assert _recorded_part(tests, "sub/test_y.py::C::t") == 3
    assert _recorded_part(tests, "test_y.py::C::u") is None


def test_a_recording_run_that_never_reaches_the_cluster_writes_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_inprocess(
        *BLOCKED, "--ontap-url", "https://c1", "--ontap-record", "x.json"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["ontapjob: nothing recorded (no test used ontap_client); x.json not written"]
    )
    assert not (pytester.path / "x.json").exists()
