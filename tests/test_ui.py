"""The job board at ``/simulator/ui`` (issue 17).

First its JSON endpoints and files, in process. Then the page itself in headless Chromium
driven by Selenium, against a real ``serve(sim)`` server on a virtual clock. Chromium and
chromedriver come from the system (Debian's ``chromium`` and ``chromium-driver``; ``.ci/run``
installs them); without them the browser tests skip, except in CI (``$CI`` set), where they fail.
"""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
import struct
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from simproc import REPO, ontap_sim

import simulator.board
import simulator.faults
import simulator.sim
from simulator import Simulator, serve
from simulator.board import CONTENT_SECURITY_POLICY, STATIC_FILES

if TYPE_CHECKING:
    from selenium.webdriver.common.alert import Alert
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

AUTH = ("admin", "netapp1!")
HEADERS = {"Authorization": "Basic " + base64.b64encode(b"admin:netapp1!").decode()}
VOLUME = {"svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
TIMEOUT = 10
SCREENSHOT = REPO / "docs" / "ui.png"
RUNNING_A_MINUTE = [{"state": "running", "seconds": 60}, {"state": "success"}]


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    fake = Simulator(clock="virtual")
    yield fake
    assert fake.errors == []


@pytest.fixture
def api(sim: Simulator) -> FlaskClient:
    return sim.app.test_client()


def call(client: FlaskClient, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, headers=HEADERS, json=body)


def write(client: FlaskClient, name: str) -> str:
    answer = call(client, "POST", "/api/storage/volumes", {"name": name, **VOLUME})
    assert answer.status_code == 202, answer.json
    job_uuid: str = answer.json["job"]["uuid"]
    return job_uuid


def error_of(answer: Any) -> tuple[int, str, str]:
    return answer.status_code, answer.json["error"]["code"], answer.json["error"]["message"]


# -- the page's files ------------------------------------------------------------------------
def test_the_page_and_its_files_are_served_with_a_strict_policy(api: FlaskClient) -> None:
    page = call(api, "GET", "/simulator/ui")
    assert page.status_code == 200 and page.content_type == "text/html; charset=utf-8"
    html = page.get_data(as_text=True)
    for name in ("board.css", "board.js", "favicon.svg"):
        assert f'"/simulator/ui/{name}"' in html
    for name, content_type in STATIC_FILES.items():
        answer = call(api, "GET", f"/simulator/ui/{name}")
        assert answer.status_code == 200 and answer.content_type == content_type
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_the_files_name_no_other_origin() -> None:
    for name in STATIC_FILES:
        text = (REPO / "simulator" / "ui" / name).read_text(encoding="utf-8")
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
        assert "<script>" not in text and " style=" not in text and "innerHTML" not in text


def test_the_page_needs_credentials_and_unknown_files_are_404(api: FlaskClient) -> None:
    for path in ("/simulator/ui", "/simulator/ui/board.js", "/simulator/jobs"):
        answer = api.get(path)
        assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers
    missing = call(api, "GET", "/simulator/ui/secrets.txt")
    assert error_of(missing) == (404, "262179", 'Unexpected argument "secrets.txt".')
    assert call(api, "GET", "/simulator/ui/..%2Fsim.py").status_code == 404
    assert error_of(call(api, "GET", "/simulator/ui?x=1"))[:2] == (404, "262179")


# -- GET /simulator/jobs -----------------------------------------------------------------------
def test_jobs_come_newest_first_with_counts_and_pages(sim: Simulator, api: FlaskClient) -> None:
    uuids = [write(api, f"v{i}") for i in range(5)]
    sim.advance(0.5)  # all running (the default script: queued 0.2 s, running 1 s)
    call(api, "PATCH", f"/api/cluster/jobs/{uuids[1]}?action=pause")
    body = call(api, "GET", "/simulator/jobs?limit=2&offset=1").json
    assert [job["uuid"] for job in body["records"]] == [uuids[3], uuids[2]]
    assert (body["num_records"], body["offset"], body["limit"]) == (2, 1, 2)
    assert (body["matched"], body["total"]) == (5, 5)
    assert body["counts"] == {"queued": 0, "running": 4, "paused": 1, "success": 0, "failure": 0}
    assert body["clock"] == {"mode": "virtual", "now": sim.clock.now()}
    paused = call(api, "GET", "/simulator/jobs?state=paused,success").json
    assert [job["uuid"] for job in paused["records"]] == [uuids[1]]
    assert (paused["matched"], paused["total"]) == (1, 5)
    assert call(api, "GET", "/simulator/jobs?offset=99").json["records"] == []


def test_a_job_record_is_ontaps_plus_its_timeline(sim: Simulator, api: FlaskClient) -> None:
    epoch = sim.clock.now()
    sim.script(
        "POST",
        "/api/storage/volumes",
        [
            {"state": "queued", "seconds": 2},
            {"state": "running", "seconds": 10},
            {"state": "success"},
        ],
        pausable=False,
    )
    job_uuid = write(api, "v1")
    sim.advance(5)
    record = call(api, "GET", "/simulator/jobs").json["records"][0]
    ontap = call(api, "GET", f"/api/cluster/jobs/{job_uuid}").json
    assert {key: record[key] for key in ontap} == ontap
    assert (record["pausable"], record["cancellable"]) == (False, True)
    assert (record["created"], record["ended"]) == (epoch, None)
    assert record["timeline"] == [
        {"state": "queued", "start": epoch, "end": epoch + 2},
        {"state": "running", "start": epoch + 2, "end": epoch + 5},
    ]
    sim.advance(10)
    done = call(api, "GET", "/simulator/jobs").json["records"][0]
    assert done["ended"] == epoch + 12
    assert done["timeline"][1:] == [
        {"state": "running", "start": epoch + 2, "end": epoch + 12},
        {"state": "success", "start": epoch + 12, "end": epoch + 12},
    ]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("limit=0", 400, "262197"),
        ("limit=501", 400, "262197"),
        ("offset=-1", 400, "262197"),
        ("offset=x", 400, "262197"),
        ("state=done", 400, "262197"),
        ("state=running,", 400, "262197"),
        ("order_by=uuid", 404, "262179"),
    ],
)
def test_bad_job_queries_answer_ontap_errors(
    api: FlaskClient, query: str, status: int, code: str
) -> None:
    answer = call(api, "GET", f"/simulator/jobs?{query}")
    assert error_of(answer)[:2] == (status, code)
    assert answer.json["error"]["target"] == query.split("=")[0]


# -- PATCH /simulator/jobs/{uuid}?action= ------------------------------------------------------
def test_actions_follow_the_engine_outside_journal_and_faults(
    sim: Simulator, api: FlaskClient
) -> None:
    job_uuid = write(api, "v1")
    sim.advance(0.5)
    sim.fault("PATCH", "*", times=None, status=503)
    journal_before = len(sim.journal)
    assert call(api, "PATCH", f"/simulator/jobs/{job_uuid}?action=pause").status_code == 200
    assert sim.jobs.job(job_uuid).state == "paused"
    assert call(api, "PATCH", f"/simulator/jobs/{job_uuid}?action=resume").status_code == 200
    assert sim.jobs.job(job_uuid).state == "running"
    assert len(sim.journal) == journal_before
    assert sim.faults.list()[0]["hits"] == 0


def test_refusals_are_the_same_as_ontaps(sim: Simulator, api: FlaskClient) -> None:
    sim.script(
        "POST",
        "/api/storage/volumes",
        [{"state": "running", "seconds": 60}, {"state": "success"}],
        times=None,
        pausable=False,
        cancellable=False,
    )
    running = write(api, "v1")
    sim.script("POST", "/api/storage/volumes", [{"state": "success"}])
    over = write(api, "v2")
    cases = [
        (running, "pause"),
        (running, "cancel"),
        (running, "resume"),
        (over, "pause"),
        (running, "stop"),
        (str(uuid.uuid4()), "pause"),
    ]
    for job_uuid, action in cases:
        ours = call(api, "PATCH", f"/simulator/jobs/{job_uuid}?action={action}")
        ontap = call(api, "PATCH", f"/api/cluster/jobs/{job_uuid}?action={action}")
        assert ours.status_code == ontap.status_code >= 400, (action, ours.json)
        assert ours.json == ontap.json
    missing = call(api, "PATCH", f"/simulator/jobs/{running}")
    assert error_of(missing)[:2] == (400, "2") and missing.json["error"]["target"] == "action"
    with_body = call(api, "PATCH", f"/simulator/jobs/{running}?action=pause", {"x": 1})
    assert error_of(with_body) == (400, "2", 'Unexpected argument "x".')
    assert error_of(call(api, "PATCH", f"/simulator/jobs/{running}?action=pause&y=1"))[0] == 404


# -- GET /simulator/requests/latest ------------------------------------------------------------
def test_the_latest_requests_newest_first_and_filtered(sim: Simulator, api: FlaskClient) -> None:
    first = write(api, "v1")
    call(api, "GET", f"/api/cluster/jobs/{first}?fields=state")
    sim.fault("GET", "/api/cluster/jobs/*", status=503)
    call(api, "GET", f"/api/cluster/jobs/{first}")
    call(api, "POST", "/api/svm/svms", {"name": "vs9", "password": "s3cret"})
    latest = call(api, "GET", "/simulator/requests/latest").json
    assert (latest["total"], latest["matched"], latest["num_records"]) == (4, 4, 4)
    assert latest["scanned"] == 4
    assert latest["records"] == list(reversed(sim.journal))
    assert "s3cret" not in str(latest)
    two = call(api, "GET", "/simulator/requests/latest?limit=2").json
    assert [entry["method"] for entry in two["records"]] == ["POST", "GET"]
    assert (two["matched"], two["num_records"]) == (4, 2)
    hits = call(api, "GET", "/simulator/requests/latest?match=get%20503").json
    assert [entry["status"] for entry in hits["records"]] == [503]
    assert hits["records"][0]["fault"] == "status"
    assert call(api, "GET", "/simulator/requests/latest?match=FIELDS=state").json["matched"] == 1
    assert call(api, "GET", f"/simulator/requests/latest?match={first}").json["matched"] == 3
    assert call(api, "GET", "/simulator/requests/latest?match=nothing").json["records"] == []


def test_a_match_looks_through_the_latest_entries_only(
    sim: Simulator, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulator.board, "JOURNAL_SCAN", 3)
    for name in ("v1", "v2", "v3", "v4"):
        write(api, name)
    found = call(api, "GET", "/simulator/requests/latest?match=post&limit=2").json
    assert (found["matched"], found["scanned"], found["total"], found["num_records"]) == (
        3,
        3,
        4,
        2,
    )
    assert [entry["body"]["name"] for entry in found["records"]] == ["v4", "v3"]
    everything = call(api, "GET", "/simulator/requests/latest?limit=2").json
    assert (everything["matched"], everything["scanned"], everything["total"]) == (4, 4, 4)


@pytest.mark.parametrize(
    ("query", "status", "target"),
    [("limit=0", 400, "limit"), ("limit=1001", 400, "limit"), ("match=" + "x" * 201, 400, "match")],
)
def test_bad_journal_queries_answer_ontap_errors(
    api: FlaskClient, query: str, status: int, target: str
) -> None:
    answer = call(api, "GET", f"/simulator/requests/latest?{query}")
    assert (answer.status_code, answer.json["error"]["target"]) == (status, target)
    assert call(api, "GET", "/simulator/requests/latest?since=1").status_code == 404


# -- ontap-sim prints the page's URL -------------------------------------------------------------
def test_ontap_sim_prints_the_page_url_after_its_first_line() -> None:
    with ontap_sim("--port", "0", "--clock", "virtual") as process:
        url = process.url()  # still the first line, "ontap-sim listening on <url>"
        lines = [process.line() for _ in range(2)]
        assert lines[-1] == f"ontap-sim job board: {url}/simulator/ui\n", lines
        page = requests.get(f"{url}/simulator/ui", auth=AUTH, timeout=TIMEOUT)
        assert page.status_code == 200 and "<title>ontap-sim job board</title>" in page.text


# -- the page in a browser ------------------------------------------------------------------------
def browser_binaries(environ: Mapping[str, str]) -> tuple[str, str]:
    """Chromium and chromedriver from PATH, or skip (fail in CI) saying how to get them."""
    path = environ.get("PATH", "")
    chromium = shutil.which("chromium", path=path) or shutil.which("chromium-browser", path=path)
    driver = shutil.which("chromedriver", path=path)
    if chromium and driver:
        return chromium, driver
    how = (
        "headless Chromium not found: install Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver), as .ci/run does"
    )
    if environ.get("CI"):
        pytest.fail(how + " (CI runs the browser tests, never skips them)")
    pytest.skip(how)


def test_without_chromium_the_browser_tests_skip_locally_and_fail_in_ci(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match="chromium-driver"):
        browser_binaries({"PATH": str(tmp_path)})
    with pytest.raises(pytest.fail.Exception, match="never skips"):
        browser_binaries({"PATH": str(tmp_path), "CI": "true"})
    for name in ("chromium", "chromedriver"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    found = browser_binaries({"PATH": str(tmp_path), "CI": "true"})
    assert found == (str(tmp_path / "chromium"), str(tmp_path / "chromedriver"))


CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--lang=en-US",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium, driver_path = browser_binaries(os.environ)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("selenium is not installed (it is in the `test` extra)")
        pytest.skip("selenium is not installed: pip install -e '.[test]'")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        driver.set_window_size(1280, 900)
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def board_server() -> Iterator[tuple[Simulator, str]]:
    fake = Simulator(clock="virtual", password=AUTH[1])
    with serve(fake) as handle:
        yield fake, handle.url


class Board:
    """The page open in the browser, and the simulator behind it over HTTP."""

    def __init__(self, driver: WebDriver, sim: Simulator, url: str) -> None:
        self.driver = driver
        self.sim = sim
        self.url = url
        self.http = requests.Session()
        self.http.auth = AUTH

    def open(self, width: int = 1280, height: int = 900) -> None:
        self.driver.set_window_size(width, height)
        user, password = AUTH
        # Credentials in the URL: the browser then holds them, as after its login prompt.
        self.driver.get(self.url.replace("://", f"://{user}:{password}@") + "/simulator/ui")
        self.wait(lambda: self.driver.find_element("css selector", "body[data-ready]"))

    def wait(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.02).until(lambda _: condition())

    def alert(self) -> Alert:
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        alert: Alert = WebDriverWait(self.driver, 5).until(expected_conditions.alert_is_present())
        return alert

    def request(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, self.url + path, json=body, timeout=TIMEOUT)
        assert answer.status_code < 400, answer.text
        return answer.json() if answer.content else None

    def write(self, name: str) -> str:
        job_uuid: str = self.request("POST", "/api/storage/volumes", {"name": name, **VOLUME})[
            "job"
        ]["uuid"]
        return job_uuid

    def row(self, job_uuid: str) -> WebElement | None:
        found = self.driver.find_elements("css selector", f'tr[data-uuid="{job_uuid}"]')
        return found[0] if found else None

    def state_shown(self, job_uuid: str) -> str | None:
        row = self.row(job_uuid)
        return None if row is None else row.get_attribute("data-state")

    def notice(self) -> str:
        return str(self.driver.find_element("id", "notice-text").text)

    def console(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.driver.get_log("browser")
        return entries


@pytest.fixture
def board(browser: WebDriver, board_server: tuple[Simulator, str]) -> Iterator[Board]:
    fake, url = board_server
    fake.reset()
    page = Board(browser, fake, url)
    page.console()  # drop what earlier tests logged
    try:
        yield page
    finally:
        page.http.close()
        browser.get("about:blank")
        fake.reset()
    assert fake.errors == []


def test_a_write_shows_within_a_second_and_moves_with_the_clock(board: Board) -> None:
    board.open()
    job_uuid = board.write("v1")
    written = time.monotonic()
    board.wait(lambda: board.row(job_uuid), timeout=1.0)
    assert time.monotonic() - written < 1.0
    assert board.state_shown(job_uuid) == "queued"
    row = board.row(job_uuid)
    assert row is not None and "POST /api/storage/volumes" in row.text
    assert "queued" in row.find_element("css selector", ".badge").text
    board.request("POST", "/simulator/clock", {"advance": 0.5})
    advanced = time.monotonic()
    board.wait(lambda: board.state_shown(job_uuid) == "running", timeout=1.0)
    assert time.monotonic() - advanced < 1.0
    board.request("POST", "/simulator/clock", {"advance": 1})
    board.wait(lambda: board.state_shown(job_uuid) == "success", timeout=1.0)
    row = board.row(job_uuid)
    assert row is not None
    assert "success" in row.find_element("css selector", ".badge").text
    label = row.find_element("css selector", ".tl").get_attribute("aria-label")
    assert label == "Timeline: queued 0.2 s, running 1 s, then success"


def test_the_pause_button_pauses_a_running_job(board: Board) -> None:
    board.sim.script("POST", "/api/storage/volumes", RUNNING_A_MINUTE)
    board.open()
    job_uuid = board.write("v1")
    board.wait(lambda: board.state_shown(job_uuid) == "running")
    row = board.row(job_uuid)
    assert row is not None
    row.find_element("css selector", "button[data-action=pause]").click()
    board.wait(lambda: board.request("GET", f"/api/cluster/jobs/{job_uuid}")["state"] == "paused")
    board.wait(lambda: board.state_shown(job_uuid) == "paused")
    assert board.notice() == f"Paused job {job_uuid[:8]}."
    assert board.console() == []


def test_a_refused_action_shows_ontaps_message(board: Board) -> None:
    board.sim.script("POST", "/api/storage/volumes", RUNNING_A_MINUTE, pausable=False)
    board.open()
    job_uuid = board.write("v1")
    board.wait(lambda: board.state_shown(job_uuid) == "running")
    refusal = board.http.patch(
        f"{board.url}/api/cluster/jobs/{job_uuid}", params={"action": "pause"}, timeout=TIMEOUT
    ).json()["error"]
    assert refusal == {
        "message": "This job does not support pause.",
        "code": "458783",
        "target": "action",
    }
    row = board.row(job_uuid)
    assert row is not None
    row.find_element("css selector", "button[data-action=pause]").click()
    board.wait(lambda: refusal["message"] in board.notice())
    assert board.notice() == (
        f"Cannot pause job {job_uuid[:8]}: This job does not support pause. (code 458783)"
    )
    notice = board.driver.find_element("id", "notice")
    assert notice.get_attribute("data-kind") == "error" and notice.get_attribute("role") == "status"
    assert board.sim.jobs.job(job_uuid).state == "running"


def test_nothing_loads_from_another_origin_and_nothing_is_logged(board: Board) -> None:
    board.write("v1")
    board.request("POST", "/simulator/faults", {"method": "GET", "path": "/x", "status": 503})
    board.open()
    board.wait(lambda: board.driver.find_elements("css selector", "#fault-list li"))
    driver = board.driver
    driver.find_element("css selector", "[data-advance='10']").click()
    board.wait(lambda: "success" in str(board.state_shown(board.sim.jobs.records()[0]["uuid"])))
    driver.find_element("id", "journal-filter").send_keys("POST")
    board.wait(lambda: "match" in driver.find_element("id", "journal-info").text)
    driver.find_element("id", "page-size").send_keys("100")
    origin = driver.execute_script("return window.location.origin")
    assert origin == board.url
    urls = driver.execute_script(
        "return [performance.getEntriesByType('navigation')[0].name]"
        ".concat(performance.getEntriesByType('resource').map(e => e.name))"
    )
    assert len(urls) > 5
    parts = [urlsplit(url) for url in urls]
    server = urlsplit(board.url)
    assert {(p.scheme, p.hostname, p.port) for p in parts} == {("http", "127.0.0.1", server.port)}
    assert {p.path for p in parts} >= {"/simulator/ui", "/simulator/ui/board.js", "/simulator/jobs"}
    assert board.console() == []


def test_forms_show_errors_in_place_and_add_scripts_and_faults(board: Board) -> None:
    board.open()
    driver = board.driver
    area = driver.find_element("id", "script-json")
    area.send_keys('{"method": "POST"')
    driver.find_element("css selector", "#script-form button[type=submit]").click()
    error = driver.find_element("id", "script-error")
    board.wait(lambda: error.is_displayed())
    assert error.text.startswith("Not valid JSON:")
    assert area.get_attribute("aria-invalid") == "true"
    area.clear()
    area.send_keys('{"method": "POST", "path": "/api/*", "steps": [{"state": "running"}]}')
    driver.find_element("css selector", "#script-form button[type=submit]").click()
    board.wait(lambda: "steps[0]" in error.text)
    assert error.text == (
        "steps[0]: the last step must be terminal (success or failure), got 'running' "
        "(at steps[0].state, code 2)"
    )
    assert board.sim.scripts() == []
    driver.find_element("css selector", "[data-example=script-json]").click()
    assert not error.is_displayed()
    driver.find_element("css selector", "#script-form button[type=submit]").click()
    board.wait(lambda: board.sim.scripts())
    item = board.wait(lambda: driver.find_elements("css selector", "#script-list li"))[0]
    assert "POST /api/storage/volumes" in item.text and "armed · 1 use left" in item.text
    assert "not fired yet" in item.text
    fault = driver.find_element("id", "fault-json")
    fault.send_keys('{"status": 200}')
    driver.find_element("css selector", "#fault-form button[type=submit]").click()
    fault_error = driver.find_element("id", "fault-error")
    board.wait(lambda: "status" in fault_error.text)
    assert "400..599" in fault_error.text
    board.write("v1")
    board.wait(lambda: "fired 1 time" in driver.find_element("id", "script-list").text)
    assert "spent" in driver.find_element("id", "script-list").text


def test_the_clock_form_validates_and_advances(board: Board) -> None:
    board.open()
    driver = board.driver
    seconds = driver.find_element("id", "advance-seconds")
    seconds.clear()
    seconds.send_keys("-3")
    driver.find_element("css selector", "#advance-form button[type=submit]").click()
    error = driver.find_element("id", "advance-error")
    assert error.text == "Enter a number of seconds, 0 or more."
    now = board.sim.clock.now()
    seconds.clear()
    seconds.send_keys("90")
    seconds.submit()
    board.wait(lambda: board.sim.clock.now() == now + 90)
    board.wait(lambda: driver.find_element("id", "clock-now").text.endswith("00:01:30 UTC"))
    assert not error.is_displayed()


def test_the_journal_filters_as_you_type(board: Board) -> None:
    job_uuid = board.write("v1")
    board.request("GET", f"/api/cluster/jobs/{job_uuid}")
    board.sim.fault("GET", "/api/cluster", status=503)
    board.http.get(board.url + "/api/cluster", timeout=TIMEOUT)
    board.open()
    rows = lambda: board.driver.find_elements("css selector", "#journal-rows tr")  # noqa: E731
    assert len(rows()) == 3
    board.driver.find_element("id", "journal-filter").send_keys("503")
    board.wait(lambda: len(rows()) == 1)
    assert "GET /api/cluster" in rows()[0].text and "fault: status" in rows()[0].text
    assert board.driver.find_element("id", "journal-info").text == (
        "1 of 3 requests match; the latest 1 shown."
    )


def test_pages_of_jobs_and_the_state_filter(board: Board) -> None:
    client = board.sim.app.test_client()
    uuids = [write(client, f"v{i}") for i in range(120)]
    board.sim.advance(0.5)
    for job_uuid in uuids[:3]:
        board.sim.jobs.act(job_uuid, "pause")
    board.open()
    driver = board.driver
    info = driver.find_element("id", "page-info")
    assert info.text == "1\u201350 of 120 jobs"

    def shown() -> list[str | None]:
        rows = driver.find_elements("css selector", "#job-rows tr")
        return [row.get_attribute("data-uuid") for row in rows]

    assert shown() == uuids[::-1][:50]
    driver.find_element("id", "page-next").click()
    board.wait(lambda: info.text == "51\u2013100 of 120 jobs")
    assert shown() == uuids[::-1][50:100]
    driver.find_element("id", "page-last").click()
    board.wait(lambda: info.text == "101\u2013120 of 120 jobs")
    assert "page=3" in driver.current_url
    driver.find_element("css selector", "#state-filter input[value=paused]").click()
    board.wait(lambda: info.text == "1\u20133 of 3 paused jobs")
    assert shown() == uuids[:3][::-1]
    assert driver.find_element("css selector", "[data-count=paused]").text == "3"
    assert driver.find_element("css selector", "[data-count=all]").text == "120"


def test_keyboard_reaches_everything_and_focus_survives_updates(board: Board) -> None:
    from selenium.webdriver.common.keys import Keys

    board.sim.script("POST", "/api/storage/volumes", RUNNING_A_MINUTE)
    job_uuid = board.write("v1")
    board.open()
    driver = board.driver
    labels: list[str] = []
    body = driver.find_element("css selector", "body")
    body.send_keys(Keys.TAB)
    for _ in range(40):
        active = driver.switch_to.active_element
        label = active.get_attribute("aria-label") or active.text or active.get_attribute("id")
        labels.append(label or "")
        active.send_keys(Keys.TAB)
    for wanted in (
        "Skip to the jobs",
        "Reset simulator…",
        f"Pause job {job_uuid[:8]}",
        "Advance",
        "Add script",
        "Add fault",
        "journal-filter",
    ):
        assert wanted in labels, (wanted, labels)
    pause = driver.find_element("css selector", f'tr[data-uuid="{job_uuid}"] [data-action=pause]')
    driver.execute_script("arguments[0].focus()", pause)
    board.request("POST", "/simulator/clock", {"advance": 5})  # the row is redrawn...
    board.wait(lambda: "0:00:05" in driver.find_element("id", "clock-now").text)
    board.wait(lambda: "5 s" in (board.row(job_uuid) or pause).text)
    assert driver.switch_to.active_element == pause  # ...and keeps its focused button
    pause.send_keys(Keys.ENTER)
    board.wait(lambda: board.sim.jobs.job(job_uuid).state == "paused")


def test_reset_asks_first_then_clears_everything(board: Board) -> None:
    board.write("v1")
    board.sim.fault("GET", "/api/cluster", status=503)
    board.open()
    driver = board.driver
    board.wait(lambda: driver.find_elements("css selector", "#job-rows tr"))
    driver.find_element("id", "reset").click()
    board.alert().dismiss()
    assert len(board.sim.jobs) == 1
    driver.find_element("id", "reset").click()
    board.alert().accept()
    board.wait(lambda: board.notice() == "Simulator reset.")
    assert len(board.sim.jobs) == 0 and board.sim.faults.list() == []
    board.wait(lambda: not driver.find_elements("css selector", "#job-rows tr"))
    assert driver.find_element("id", "jobs-empty").is_displayed()
    assert driver.find_element("id", "faults-empty").is_displayed()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_fits_the_screen(board: Board, width: int) -> None:
    board.sim.script("POST", "/api/storage/volumes", RUNNING_A_MINUTE)
    for i in range(3):
        board.write(f"v{i}")
    board.open(width=width)
    driver = board.driver
    board.wait(lambda: len(driver.find_elements("css selector", "#job-rows tr")) == 3)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    assert driver.execute_script("return window.innerWidth") == width
    header_shown = driver.find_element("css selector", ".jobs thead").size["height"] > 1
    card = driver.find_element("css selector", "#job-rows tr")
    assert header_shown == (width > 720)
    assert (card.value_of_css_property("display") == "grid") == (width <= 720)
    for button in driver.find_elements("css selector", "#job-rows button"):
        if button.is_displayed():
            assert button.size["height"] >= (40 if width <= 720 else 26)


def seconds(steps: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"state": state, "seconds": length} for state, length in steps]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_screenshot_of_the_board_for_the_readme(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saves docs/ui.png: fixed uuids and a virtual clock make it the same on every run."""
    ids = iter(uuid.UUID(int=n * 0x1111_1111_1111_1111_1111_1111_1111 + n) for n in range(1, 99))
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    monkeypatch.setattr(simulator.sim, "_ids", itertools.count(1))  # script ids
    monkeypatch.setattr(simulator.faults, "_ids", itertools.count(1))
    sim, http = board.sim, board.request
    no_disks = {"message": "There are not enough disks in Pool1.", "code": 2432836}
    steps = [("queued", 3), ("running", 40)]
    sim.script("POST", "/api/storage/volumes", [*seconds(steps), {"state": "failure", **no_disks}])
    steps = [("queued", 2), ("running", 25), ("paused", 15), ("running", 30)]
    sim.script("PATCH", "/api/storage/volumes/*", [*seconds(steps), {"state": "success"}])
    first = board.write("v1")
    board.write("v2")
    http("POST", "/simulator/clock", {"advance": 45})
    volume = http("GET", "/api/storage/volumes?name=v2")["records"][0]["uuid"]
    http("PATCH", f"/api/storage/volumes/{volume}", {"comment": "resized"})
    http("POST", "/simulator/clock", {"advance": 33})
    http("POST", "/api/svm/svms", {"name": "vs1"})
    sim.script("POST", "/api/storage/volumes", [*seconds([("running", 600)]), {"state": "success"}])
    third = board.write("v3")
    http("POST", "/simulator/clock", {"advance": 8})
    http("PATCH", f"/api/cluster/jobs/{third}?action=pause")
    http("POST", "/simulator/clock", {"advance": 4})
    polls = [{"state": "running", "polls": 3}, {"state": "success"}]
    sim.script("DELETE", "/api/storage/volumes/*", polls, times=None)
    jobs = [job["uuid"] for job in sim.jobs.records()]
    for job_uuid in jobs[:2]:
        http("GET", f"/api/cluster/jobs/{job_uuid}")
    fault = {"method": "GET", "path": "/api/cluster/jobs/*", "status": 503, "retry_after": 5}
    http("POST", "/simulator/faults", {**fault, "times": 4})
    for job_uuid in jobs[2:]:
        board.http.get(f"{board.url}/api/cluster/jobs/{job_uuid}", timeout=TIMEOUT)
    board.open()
    board.wait(lambda: board.state_shown(first) == "failure")
    driver = board.driver
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        board.wait(lambda: driver.execute_script("return window.innerHeight") == height)
        png = driver.get_screenshot_as_png()
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert _png_size(png) == (1280, height)
    if not SCREENSHOT.exists() or SCREENSHOT.read_bytes() != png:
        SCREENSHOT.write_bytes(png)
    assert "docs/ui.png" in (REPO / "README.md").read_text()
