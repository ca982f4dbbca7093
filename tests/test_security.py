"""Security defaults: loopback bind, the default-password warning, credential checks, no secrets
in the journal or logs, TLS verification against the generated CA, the control API behind auth,
and clean stops on SIGTERM/SIGINT."""

from __future__ import annotations

import base64
import hmac
import inspect
import json
import logging
import os
import signal
import threading
import time
from typing import Any

import pytest
import requests
from simproc import ontap_sim

import simulator.sim
from simulator import Simulator, serve
from simulator.cli import build_parser

PASSWORD = "netapp1!"
AUTH = ("admin", PASSWORD)
TOKEN = base64.b64encode(b"admin:netapp1!").decode()
VOLUME: dict[str, Any] = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
TIMEOUT = 5.0


# -- ontap-sim as a process ----------------------------------------------------------------------
def test_loopback_is_the_default_bind() -> None:
    assert build_parser().parse_args([]).host == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    with ontap_sim() as sim:
        assert sim.url().startswith("http://127.0.0.1:")


def test_binding_elsewhere_with_the_default_password_warns() -> None:
    with ontap_sim("--host", "0.0.0.0") as sim:
        warning = sim.line("stderr")
        assert "0.0.0.0" in warning and "default password" in warning
        assert "ONTAP_SIM_PASSWORD" in warning and PASSWORD not in warning
        url = sim.url()  # reachable, on loopback at least
        assert requests.get(url + "/api/cluster", auth=AUTH, timeout=TIMEOUT).ok


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("--host", "127.0.0.1"), None, id="loopback"),
        pytest.param(("--host", "0.0.0.0"), {"ONTAP_SIM_PASSWORD": "s3cret"}, id="env-password"),
        pytest.param(("--host", "0.0.0.0", "--password", "s3cret"), None, id="flag-password"),
    ],
)
def test_no_warning_on_loopback_or_with_a_chosen_password(
    args: tuple[str, ...], env: dict[str, str] | None
) -> None:
    with ontap_sim(*args, "--quiet", env=env) as sim:
        sim.url()
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(TIMEOUT) == 0
        assert "default password" not in sim.rest("stderr")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ontap_sim_stops_cleanly_within_2_s(signum: int) -> None:
    with ontap_sim("--clock", "real") as sim:
        url = sim.url()
        assert requests.get(url + "/api/cluster", auth=AUTH, timeout=TIMEOUT).ok
        sim.send_signal(signum)
        started = time.monotonic()
        assert sim.wait(TIMEOUT) == 0
        assert time.monotonic() - started < 2.0
        assert "Traceback" not in sim.rest("stderr")


def test_ontap_sim_stops_within_2_s_while_a_write_waits_on_return_timeout() -> None:
    with ontap_sim("--clock", "real") as sim:
        url = sim.url()
        script: dict[str, Any] = {
            "method": "POST",
            "path": "/api/storage/volumes",
            "steps": [{"state": "running", "seconds": 60}, {"state": "success"}],
        }
        requests.post(url + "/simulator/scripts", json=script, auth=AUTH, timeout=TIMEOUT)
        outcome: list[Any] = []

        def waiting_write() -> None:
            try:
                outcome.append(
                    requests.post(
                        url + "/api/storage/volumes?return_timeout=30",
                        json=VOLUME,
                        auth=AUTH,
                        timeout=TIMEOUT,
                    )
                )
            except requests.RequestException as exc:
                outcome.append(exc)

        writer = threading.Thread(target=waiting_write)
        writer.start()
        time.sleep(0.3)
        sim.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert sim.wait(TIMEOUT) == 0
        assert time.monotonic() - started < 2.0
        writer.join(TIMEOUT)
        assert isinstance(outcome[0], requests.ConnectionError)  # cut, not left hanging


# -- credentials ----------------------------------------------------------------------------------
def test_credentials_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both user and password go through hmac.compare_digest, right or wrong, every time."""
    compared: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what simulator.sim calls
    sim = Simulator(password=PASSWORD)
    cases = [("admin", PASSWORD, True), ("root", PASSWORD, False), ("admin", "x", False),
             ("root", "x", False), (None, None, False), ("", "", False)]  # fmt: skip
    for user, password, expected in cases:
        compared.clear()
        assert sim.check_auth(user, password) is expected
        assert len(compared) == 2  # no short cut on a wrong user
        assert all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("Basic " + base64.b64encode(b"root:netapp1!").decode(), id="wrong-user"),
        pytest.param("Basic " + base64.b64encode(b"admin:netapp1").decode(), id="wrong-password"),
        pytest.param("Basic " + base64.b64encode(b"admin:NETAPP1!").decode(), id="wrong-case"),
        pytest.param("Basic " + base64.b64encode(b"admin:netapp1!\x00").decode(), id="nul-suffix"),
        pytest.param("Basic " + TOKEN[:-2], id="truncated-token"),
        pytest.param("Basic not base64!", id="malformed-header"),
        pytest.param("Basic", id="scheme-only"),
        pytest.param("Bearer " + TOKEN, id="bearer-scheme"),
        pytest.param("Digest username=admin", id="digest-scheme"),
        pytest.param(TOKEN, id="no-scheme"),
    ],
)
def test_every_bad_credential_is_401_with_a_basic_challenge(authorization: str | None) -> None:
    sim = Simulator(password=PASSWORD)
    headers = {} if authorization is None else {"Authorization": authorization}
    with serve(sim) as handle:
        answer = requests.get(handle.url + "/api/cluster", headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="ontap-sim"'
    assert answer.headers["Content-Type"] == "application/hal+json"
    assert answer.json()["error"]["code"] == "6"
    assert PASSWORD not in answer.text and "admin" not in answer.text
    assert sim.errors == []


def test_basic_scheme_name_is_case_insensitive() -> None:
    sim = Simulator(password=PASSWORD)
    client = sim.app.test_client()
    assert (
        client.get("/api/cluster", headers={"Authorization": "basic " + TOKEN}).status_code == 200
    )


def test_the_control_api_is_behind_the_same_auth() -> None:
    """Every route the app has, with every method it takes, answers 401 without credentials."""
    sim = Simulator(password=PASSWORD)
    routes = [(rule.rule, sorted(rule.methods or ())) for rule in sim.app.url_map.iter_rules()]
    control = [(path, methods) for path, methods in routes if path.startswith("/simulator")]
    assert {"/simulator/reset", "/simulator/scripts", "/simulator/clock", "/simulator/requests",
            "/simulator/faults"} <= {path for path, _ in control}  # fmt: skip
    with serve(sim) as handle, requests.Session() as session:
        for path, methods in routes:
            concrete = path.replace("<job_uuid>", "x").replace("<path:rest>", "storage/volumes")
            for method in methods:
                answer = session.request(method, handle.url + concrete, timeout=TIMEOUT)
                assert answer.status_code == 401, (method, concrete)
                assert "WWW-Authenticate" in answer.headers
        # a wrong password changes nothing either
        session.post(handle.url + "/simulator/clock", json={"advance": 5}, auth=("admin", "x"))
        session.post(handle.url + "/simulator/faults", json={"drop": True}, auth=("admin", "x"))
    assert sim.faults.list() == [] and sim.clock.now() == simulator.VIRTUAL_EPOCH
    assert sim.journal and all(entry["status"] == 401 for entry in sim.journal)


# -- no secrets in the journal or the logs ---------------------------------------------------------
def test_authorization_and_passwords_never_reach_the_journal_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: simulator.access, simulator, werkzeug, ...
    secret = "Sup3r-s3cret"
    sim = Simulator(password=PASSWORD)
    with serve(sim) as handle, requests.Session() as session:
        session.auth = AUTH
        url = handle.url
        session.get(url + "/api/cluster", timeout=TIMEOUT)
        session.post(url + "/api/storage/volumes", json=VOLUME, timeout=TIMEOUT)
        session.post(
            url + "/api/svm/svms",
            json={"name": "vs9", "password": secret, "nested": [{"admin_password": secret}]},
            timeout=TIMEOUT,
        )
        session.get(url + "/api/cluster", params={"password": secret}, timeout=TIMEOUT)
        session.get(url + "/api/cluster", auth=("admin", secret), timeout=TIMEOUT)
        session.post(url + "/api/storage/volumes", data=b"{not json " + secret.encode())
        journal = session.get(url + "/simulator/requests", timeout=TIMEOUT).json()
    assert journal["num_records"] == 6
    svm_post = journal["records"][2]
    assert svm_post["body"]["password"] == "<redacted>"
    assert svm_post["body"]["nested"] == [{"admin_password": "<redacted>"}]
    assert journal["records"][3]["query"] == {"password": "<redacted>"}
    assert journal["records"][5]["body"] == "<unparsable>"
    ours = ("simulator", "werkzeug")  # not urllib3: the client's own log shows its own URLs
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    assert '"GET /api/cluster" 200' in logged  # the access log did run
    everything = json.dumps(journal) + json.dumps(sim.journal) + logged
    for leak in (secret, PASSWORD, TOKEN, base64.b64encode(b"admin:" + secret.encode()).decode()):
        assert leak not in everything
    assert "authorization" not in everything.lower()
    assert PASSWORD not in repr(sim)


# -- TLS ------------------------------------------------------------------------------------------
def test_a_client_verifies_the_generated_certificate_against_its_ca() -> None:
    sim = Simulator(password=PASSWORD)
    with serve(sim, tls=True) as handle:
        assert handle.ca_file and handle.url.startswith("https://127.0.0.1:")
        for host in ("127.0.0.1", "localhost"):
            url = f"https://{host}:{handle.port}/api/cluster"
            answer = requests.get(url, auth=AUTH, verify=handle.ca_file, timeout=TIMEOUT)
            assert answer.status_code == 200, host
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(url, auth=AUTH, verify=True, timeout=TIMEOUT)
        assert handle.cert_file is not None
        with pytest.raises(requests.exceptions.SSLError):  # the CA, not any file, is the anchor
            requests.get(handle.url, auth=AUTH, verify=os.devnull, timeout=TIMEOUT)
    assert sim.errors == []


def test_plain_http_to_the_tls_port_is_refused_and_the_server_goes_on() -> None:
    sim = Simulator(password=PASSWORD)
    with serve(sim, tls=True) as handle:
        plain = f"http://127.0.0.1:{handle.port}/api/cluster"
        with pytest.raises(requests.ConnectionError):
            requests.get(plain, auth=AUTH, timeout=TIMEOUT)
        assert requests.get(handle.url + "/api/cluster", auth=AUTH, verify=handle.ca_file).ok
    assert sim.errors == []
