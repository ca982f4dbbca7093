"""``ontap-sim`` as a separate process: URL line first, flags, scenario, TLS, request log."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from simproc import REPO, ontap_sim

from simulator.cli import build_parser, is_loopback

VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}


def test_help_explains_every_flag() -> None:
    text = build_parser().format_help()
    for flag in (
        "--host",
        "--port",
        "--tls",
        "--certfile",
        "--keyfile",
        "--username",
        "--password",
        "--clock",
        "--scenario",
    ):
        assert flag in text
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert out.returncode == 0 and "ontap-sim" in out.stdout


def test_defaults_follow_the_contract() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.clock, args.username) == ("127.0.0.1", 8080, "real", "admin")


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_first_line_is_the_url_and_the_demo_flow_works() -> None:
    with ontap_sim("--clock", "virtual", "--scenario", "scenarios/demo.json") as sim:
        url = sim.url()
        assert url.startswith("http://127.0.0.1:")
        auth = ("admin", "netapp1!")
        response = requests.post(url + "/api/storage/volumes", json=VOLUME, auth=auth, timeout=5)
        assert response.status_code == 202
        href = response.json()["job"]["_links"]["self"]["href"]
        requests.post(url + "/simulator/clock", json={"advance": 5}, auth=auth, timeout=5)
        assert requests.get(url + href, auth=auth, timeout=5).json()["state"] == "success"
        volumes = requests.get(url + "/api/storage/volumes?name=v1", auth=auth, timeout=5).json()
        assert volumes["num_records"] == 1
        sim.send_signal(signal.SIGINT)
        assert sim.wait(timeout=5) == 0
        log = sim.rest("stderr")
    assert '"POST /api/storage/volumes" 202' in log
    assert "netapp1!" not in log and "Authorization" not in log and "Basic" not in log


def test_password_from_the_environment() -> None:
    with ontap_sim(env={"ONTAP_SIM_PASSWORD": "s3cret"}) as sim:
        url = sim.url()
        assert (
            requests.get(url + "/api/cluster", auth=("admin", "netapp1!"), timeout=5).status_code
            == 401
        )
        assert (
            requests.get(url + "/api/cluster", auth=("admin", "s3cret"), timeout=5).status_code
            == 200
        )


def test_username_and_password_flags() -> None:
    with ontap_sim("--username", "ops", "--password", "pw") as sim:
        url = sim.url()
        assert requests.get(url + "/api/cluster", auth=("ops", "pw"), timeout=5).status_code == 200


def test_tls_with_a_generated_certificate() -> None:
    with ontap_sim("--tls") as sim:
        url = sim.url()
        assert url.startswith("https://127.0.0.1:")
        ca = sim.ca_file()  # the second line, "ontap-sim CA certificate: <path>"
        assert requests.get(
            url + "/api/cluster", auth=("admin", "netapp1!"), verify=ca, timeout=5
        ).ok
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/api/cluster", auth=("admin", "netapp1!"), verify=True, timeout=5)


def test_bad_scenario_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"default_script": [{"state": "running", "seconds": 1}]}')
    out = subprocess.run(
        [sys.executable, "-m", "simulator", "--port", "0", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert out.returncode == 2
    assert "steps[0]" in out.stderr


def test_flag_errors() -> None:
    for args in (
        ["--certfile", "x"],
        ["--tls", "--keyfile", "k"],
        ["--clock", "sundial"],
        ["--port", "70000"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "simulator", *args],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )
        assert out.returncode == 2, args


def test_port_in_use_is_a_clear_error() -> None:
    with ontap_sim() as sim:
        port = str(sim.port)
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "simulator", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO,
        )
        assert out.returncode == 1
        assert "cannot listen" in out.stderr
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM, signal.SIGINT])
def test_the_generated_tls_directory_is_removed_on_every_stop_signal(signum: int) -> None:
    """Attack: a terminal closing (SIGHUP) left the throwaway CA's private key behind."""
    with ontap_sim("--tls") as sim:
        directory = Path(sim.ca_file()).parent
        assert directory.is_dir()
        sim.send_signal(signum)
        assert sim.wait(timeout=5) == 0
    assert not directory.exists()
