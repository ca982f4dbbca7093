"""A hostile client against the simulator's application: each test names the attack it tries.

The bounds each test pins are listed in docs/reliability.md ("A hostile client (the
application)"). In-process (Flask's test client) unless the network matters.
"""

from __future__ import annotations

import base64
import fnmatch
import gc
import io
import json
import re
import socket
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simulator import Simulator, query, serve
from simulator.errors import ApiError
from simulator.faults import FaultRule
from simulator.jobs import MAX_STEPS
from simulator.query import (
    MAX_ALTERNATIVES,
    MAX_FIELDS,
    MAX_ORDER_BY,
    MAX_PATTERNS,
    MAX_QUERY_ARGUMENTS,
    MAX_TERM_LENGTH,
)
from simulator.rules import MAX_RULES, SPENT_LISTED, Glob, compile_glob
from simulator.sim import JOURNAL_BODY_BYTES, JOURNAL_BYTES, ScriptRule, retained_bytes

PASSWORD = "netapp1!"
TOKEN = base64.b64encode(b"admin:" + PASSWORD.encode()).decode()
AUTH = {"Authorization": "Basic " + TOKEN}
VOLUME: dict[str, Any] = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
TIMEOUT = 10.0


class Api:
    """Flask's test client, authenticated unless told otherwise."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.client = sim.app.test_client()

    def __call__(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, **kw: Any
    ) -> Any:
        headers = {**(AUTH if auth else {}), **kw.pop("headers", {})}
        if body is not None:
            kw["data"] = body if isinstance(body, bytes) else json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.client.open(path, method=method, headers=headers, **kw)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.delenv("ONTAP_SIM_PASSWORD", raising=False)
    return Simulator(clock="virtual")


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    yield Api(sim)
    assert sim.errors == []


def assert_error(response: Any, status: int, code: str, target: str | None = None) -> None:
    assert response.status_code == status, response.data
    assert response.content_type == "application/hal+json"
    error = response.json["error"]
    assert error["code"] == code, error
    assert error["message"]
    if target is not None:
        assert error.get("target") == target, error


# -- Authorization headers that are not Basic credentials ------------------------------------------
MALFORMED_AUTHORIZATION = {
    "non-ascii-after-token": "Basic " + TOKEN + "\xe9",
    "non-ascii-token": "Basic \xe9\xe9\xe9\xe9",
    "non-ascii-scheme": "B\xe4sic " + TOKEN,
    "bad-padding": "Basic " + TOKEN.rstrip("="),
    "extra-padding": "Basic " + TOKEN + "==",
    "no-colon": "Basic " + base64.b64encode(b"admin" + PASSWORD.encode()).decode(),
    "not-utf8": "Basic " + base64.b64encode(b"admin:\xff\xfe").decode(),
    "not-utf8-user": "Basic " + base64.b64encode(b"\xc3(:" + PASSWORD.encode()).decode(),
    "tab-separated": "Basic\t" + TOKEN,
    "token-with-nul": "Basic " + TOKEN[:4] + "\x00" + TOKEN[4:],
    "huge-header": "Basic " + "QUFB" * 300_000,
    "huge-valid-prefix": "Basic " + TOKEN + " " + "A" * 20_000,
}


@pytest.mark.parametrize("header", MALFORMED_AUTHORIZATION.values(), ids=MALFORMED_AUTHORIZATION)
def test_a_malformed_basic_authorization_header_is_401_not_500(api: Api, header: str) -> None:
    answer = api("GET", "/api/cluster", auth=False, headers={"Authorization": header})
    assert_error(answer, 401, "6")
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="ontap-sim"'
    assert api("GET", "/api/cluster").status_code == 200


def test_a_non_ascii_authorization_byte_over_a_socket_is_401_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulator(password=PASSWORD)
    with serve(sim) as handle:
        for header in (b"Basic " + TOKEN.encode() + b"\xe9", b"Basic \xff\xfe\xfd"):
            request = (
                b"GET /api/cluster HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Authorization: " + header + b"\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT) as conn:
                conn.sendall(request)
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert sim.errors == []
    assert "Traceback" not in caplog.text and "internal error" not in caplog.text


# -- the journal: what a stranger's request costs, and a bound in bytes ----------------------------
#: 1 MiB of ``[{}, {}, ...]``: the JSON body that costs the most memory once parsed (~26 MB).
COSTLY_BODY = b"[" + b",".join([b"{}"] * (1024 * 1024 // 3 - 1)) + b"]"


def test_an_unauthenticated_request_is_journaled_without_its_body_query_or_credentials(
    api: Api, sim: Simulator
) -> None:
    answer = api(
        "POST",
        "/api/storage/volumes?password=hunter2&colour=red",
        COSTLY_BODY,
        auth=False,
        headers={"Authorization": "Basic " + base64.b64encode(b"admin:hunter2").decode()},
    )
    assert answer.status_code == 401
    (entry,) = sim.journal
    assert entry == {
        "method": "POST",
        "path": "/api/storage/volumes",
        "status": 401,
        "time": sim.clock.now(),
    }


def test_unauthenticated_megabyte_posts_retain_no_memory(api: Api, sim: Simulator) -> None:
    tracemalloc.start()
    try:
        api("GET", "/api/cluster", auth=False)  # warm up
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            assert api("POST", "/api/storage/volumes", COSTLY_BODY, auth=False).status_code == 401
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"{grown:,} bytes kept for 5 refused strangers"
    assert len(sim.journal) == 6


def test_refused_megabyte_bodies_are_journaled_as_a_summary(api: Api, sim: Simulator) -> None:
    body = json.dumps({**VOLUME, "colour": "x" * (1024 * 1024 - 100)}).encode()
    api("GET", "/api/storage/volumes")  # warm up: the routing table's rules compile on first use
    sim.clear_journal()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            assert_error(api("POST", "/api/storage/volumes", body), 400, "2", "colour")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"{grown:,} bytes kept for 5 refused bodies"
    bodies = {entry["body"] for entry in sim.journal}
    assert bodies == {f"<{len(body)} bytes: over the journal's 65536-byte limit, not kept>"}


def test_a_chunked_body_over_the_journal_limit_is_summarised_too(api: Api, sim: Simulator) -> None:
    body = json.dumps({**VOLUME, "comment": "x" * (JOURNAL_BODY_BYTES + 1)}).encode()
    answer = api.client.post(
        "/api/storage/volumes",
        input_stream=io.BytesIO(body),
        headers={**AUTH, "Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400  # comment too long
    assert sim.journal[-1]["body"].startswith(f"<{len(body)} bytes: ")


def test_a_body_within_the_journal_limit_is_kept_whole(api: Api, sim: Simulator) -> None:
    body = {**VOLUME, "comment": "c" * 1000}
    api("POST", "/api/storage/volumes", body)
    assert sim.journal[-1]["body"] == body


def test_the_journal_is_bounded_in_bytes_oldest_first() -> None:
    sim = Simulator(journal_bytes=200_000)
    api = Api(sim)
    for i in range(300):
        api("GET", f"/api/cluster?fields=name&max_records={i}")
    journal = sim.journal
    assert 50 < len(journal) < 300
    assert sum(retained_bytes(entry) for entry in journal) <= 200_000
    assert journal[-1]["query"] == {"fields": "name", "max_records": "299"}
    numbers = [int(entry["query"]["max_records"]) for entry in journal]
    assert numbers == list(range(300 - len(journal), 300))  # the oldest went first


def test_the_journal_byte_bound_has_a_documented_default() -> None:
    assert JOURNAL_BYTES == 64 * 1024 * 1024
    assert Simulator().journal_bytes == JOURNAL_BYTES
    sim = Simulator(journal_bytes=1000, journal_limit=5)
    api = Api(sim)
    for _ in range(10):
        api("GET", "/api/cluster")
    assert 0 < len(sim.journal) <= 5
    sim.clear_journal()
    assert sim.journal == []


# -- costly queries: bounded work, never under the global lock -------------------------------------
def _volumes(count: int) -> dict[str, Any]:
    return {
        "svms": [{"name": "vs0"}],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [
            {"name": f"vol{i}", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
            for i in range(count)
        ],
    }


@pytest.mark.parametrize("path", ["/api/storage/volumes", "/api/cluster/jobs"])
def test_a_filter_of_8000_alternatives_is_refused_at_once(api: Api, path: str) -> None:
    field = "name" if "volumes" in path else "description"
    query = "|".join(f"q{i:x}" for i in range(8000))
    started = time.perf_counter()
    answer = api("GET", path, query_string={field: query})
    assert time.perf_counter() - started < 1.0
    assert_error(answer, 400, "262197", field)
    assert f"at most {MAX_ALTERNATIVES} alternatives" in answer.json["error"]["message"]


def test_plain_alternatives_up_to_the_bound_cost_a_set_lookup(sim: Simulator) -> None:
    sim.inventory.load(_volumes(300))
    api = Api(sim)
    wanted = [f"q{i}" for i in range(MAX_ALTERNATIVES - 2)] + ["vol7", "vol250"]
    answer = api("GET", "/api/storage/volumes", query_string={"name": "|".join(wanted)})
    assert answer.status_code == 200
    assert sorted(r["name"] for r in answer.json["records"]) == ["vol250", "vol7"]


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ({"name": "|".join(f"*{i}*" for i in range(MAX_PATTERNS + 1))}, "patterns"),
        (
            {
                "name": "|".join(f"*{i}" for i in range(20)),
                "uuid": "|".join(f"{i}*" for i in range(20)),
            },
            "patterns in all filters",
        ),
        ({"name": "v" * (MAX_TERM_LENGTH + 1)}, f"at most {MAX_TERM_LENGTH} characters"),
        ({"name": "a|" * MAX_ALTERNATIVES}, "alternatives"),
        (
            {"name": "|".join("a" * 600), "uuid": "|".join("b" * 600)},
            "alternatives in all filters",
        ),
    ],
    ids=["33-patterns", "patterns-over-two-filters", "257-characters", "1025-plain", "split-1200"],
)
def test_a_filter_past_its_bounds_is_400_naming_the_field(
    api: Api, query: dict[str, str], why: str
) -> None:
    answer = api("GET", "/api/storage/volumes", query_string=query)
    assert_error(answer, 400, "262197")
    assert answer.json["error"]["target"] in query
    assert why in answer.json["error"]["message"]


@pytest.mark.parametrize("path", ["/api/storage/volumes", "/api/cluster/jobs"])
def test_a_request_is_answered_while_another_query_is_matching(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The filter of one query blocks until released: every other request must still be
    answered meanwhile, which it cannot if matching holds the simulator's lock."""
    sim = Simulator(clock="real", password=PASSWORD)
    sim.inventory.load(_volumes(300))
    for _ in range(5):
        sim.submit("POST", "/api/storage/volumes", {**VOLUME, "name": f"n{_}"})
    job_uuid = next(iter(sim.jobs)).uuid
    matching, release = threading.Event(), threading.Event()
    filter_record = query._Filter.__call__

    def stalling(self: Any, record: Any) -> bool:
        if self.texts == {"stall"}:
            matching.set()
            release.wait(TIMEOUT)
        return filter_record(self, record)

    monkeypatch.setattr(query._Filter, "__call__", stalling)
    field = "name" if "volumes" in path else "description"
    with serve(sim) as handle, requests.Session() as session:
        session.auth = ("admin", PASSWORD)
        heavy = threading.Thread(
            target=lambda: session.get(handle.url + path, params={field: "stall"}, timeout=TIMEOUT)
        )
        heavy.start()
        try:
            assert matching.wait(TIMEOUT)
            started = time.perf_counter()
            other = requests.Session()
            other.auth = ("admin", PASSWORD)
            answers = [
                other.get(handle.url + f"/api/cluster/jobs/{job_uuid}", timeout=3),
                other.get(handle.url + "/api/storage/volumes?name=vol1", timeout=3),
                other.get(handle.url + "/api/cluster/jobs?max_records=1", timeout=3),
                other.post(handle.url + "/api/storage/volumes", json=VOLUME, timeout=3),
            ]
            elapsed = time.perf_counter() - started
        finally:
            release.set()
            heavy.join(TIMEOUT)
    assert [a.status_code for a in answers] == [200, 200, 200, 202]
    assert elapsed < 2.0
    assert sim.errors == []


def test_the_costliest_query_within_the_bounds_takes_bounded_time(sim: Simulator) -> None:
    sim.inventory.load(_volumes(300))
    api = Api(sim)
    patterns = "|".join(f"*[!x]?{i}?*q" for i in range(MAX_PATTERNS))
    started = time.perf_counter()
    answer = api("GET", "/api/storage/volumes", query_string={"name": patterns, "fields": "name"})
    assert answer.status_code == 200 and answer.json["num_records"] == 0
    assert time.perf_counter() - started < 2.0


# -- patterns: compiled by the simulator, nothing kept per distinct pattern ------------------------
def _reversed_range(pattern: str) -> bool:
    """Whether a ``[...]`` class of ``pattern`` holds a range whose ends are reversed
    (``[?--!]``): CPython's fnmatch drops such a range and then reads what is left of the class
    anew (a left-over ``!`` becomes a negation: ``[?--!]`` matches any character), a quirk of
    its translation to a regular expression that the simulator does not copy: it drops the
    empty range and keeps the rest of the class as written."""
    for match in re.finditer(r"\[!?\]?[^\]]*\]", pattern):
        inside = match.group(0)[1:-1].removeprefix("!")
        for k in range(len(inside) - 2):
            if inside[k + 1] == "-" and inside[k] > inside[k + 2]:
                return True
    return False


@settings(max_examples=2000, deadline=None)
@given(st.text("ab[]!-*?c", max_size=10), st.text("ab-!]c[", max_size=10))
def test_the_glob_matcher_agrees_with_fnmatchcase(pattern: str, text: str) -> None:
    assume(not _reversed_range(pattern))
    assert Glob(pattern).match(text) == fnmatch.fnmatchcase(text, pattern)


def test_a_reversed_range_is_an_empty_range_not_fnmatchs_quirk() -> None:
    assert fnmatch.fnmatchcase("x", "[?--!]")  # CPython: the left-over "!" negates nothing
    assert not Glob("[?--!]").match("x")
    assert Glob("[?--!]").match("!")


def test_distinct_filter_patterns_retain_nothing(api: Api) -> None:
    fnmatch_cache = fnmatch._compile_pattern.cache_info().currsize  # type: ignore[attr-defined]
    tracemalloc.start()
    try:
        api("GET", "/api/storage/volumes", query_string={"name": "*warm*"})
        api.sim.clear_journal()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2000):
            answer = api("GET", "/api/storage/volumes", query_string={"name": f"*{i}?x*"})
            assert answer.status_code == 200
        api.sim.clear_journal()  # the journal keeps requests by design (bounded on its own)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert fnmatch._compile_pattern.cache_info().currsize == fnmatch_cache  # type: ignore[attr-defined]
    assert grown < 512 * 1024, f"{grown:,} bytes kept for 2,000 distinct patterns"
    assert compile_glob.cache_info().maxsize == 128


def test_a_pattern_that_would_backtrack_matches_in_linear_time() -> None:
    text = "a" * 100_000
    started = time.perf_counter()
    assert not Glob("*a*a*a*a*a*a*a*a*a*a*b").match(text)
    assert not Glob("*a?a?a?a?a?a?a?a?b*").match(text)
    assert Glob("*a?a*a").match(text)
    assert time.perf_counter() - started < 1.0


def test_a_fault_or_script_path_glob_still_matches_as_before(api: Api, sim: Simulator) -> None:
    sim.fault("GET", "/api/cluster/jobs/[0-9a-f]*", status=503)
    sim.script("POST", "/api/storage/volume?", [{"state": "failure"}])
    answer = api("POST", "/api/storage/volumes?return_timeout=10", VOLUME)
    assert answer.status_code == 400
    job = answer.json
    assert job["error"]["code"] == "460770"
    uuid = sim.journal[-1]["job"]
    assert api("GET", f"/api/cluster/jobs/{uuid}").status_code == 503
    assert api("GET", f"/api/cluster/jobs/{uuid}").status_code == 200


# -- fields, order_by, the number of query arguments -----------------------------------------------
def test_a_fields_list_past_its_bound_is_400(api: Api) -> None:
    names = ",".join(["name"] * (MAX_FIELDS + 1))
    for path in ("/api/storage/volumes", "/api/cluster/jobs", "/api/cluster"):
        assert_error(api("GET", path, query_string={"fields": names}), 400, "262197", "fields")
    uuid = sim_job(api)
    answer = api("GET", f"/api/cluster/jobs/{uuid}", query_string={"fields": names})
    assert_error(answer, 400, "262197", "fields")
    ok = api(
        "GET", "/api/storage/volumes", query_string={"fields": ",".join(["name"] * MAX_FIELDS)}
    )
    assert ok.status_code == 200


def test_an_order_by_past_its_bound_is_400(api: Api) -> None:
    terms = ",".join(["name"] * (MAX_ORDER_BY + 1))
    for path in ("/api/storage/volumes", "/api/cluster/jobs"):
        assert_error(api("GET", path, query_string={"order_by": terms}), 400, "262197", "order_by")
    ok = ",".join(["name desc"] * MAX_ORDER_BY)
    assert api("GET", "/api/storage/volumes", query_string={"order_by": ok}).status_code == 200


def test_too_many_query_arguments_is_400(api: Api) -> None:
    query = {f"svm.name.x{i}": "a" for i in range(MAX_QUERY_ARGUMENTS + 1)}
    for path in ("/api/storage/volumes", "/api/cluster"):
        answer = api("GET", path, query_string=query)
        assert_error(answer, 400, "2")
        assert f"at most {MAX_QUERY_ARGUMENTS}" in answer.json["error"]["message"]


def sim_job(api: Api) -> str:
    answer = api("POST", "/api/storage/volumes", {**VOLUME, "name": "vjob"})
    assert answer.status_code == 202, answer.json
    return str(answer.json["job"]["uuid"])


# -- numbers: only ASCII digits, within 64 bits ----------------------------------------------------
NOT_AN_INTEGER = {
    "underscore": "1_0",
    "full-width": "\uff11\uff10",
    "arabic-indic": "\u0661\u0660",
    "leading-space": " 10",
    "trailing-space": "10 ",
    "trailing-newline": "10\n",
    "plus-sign": "+10",
    "hex": "0x10",
    "exponent": "1e1",
    "65-bits": "18446744073709551616",
    "int64-plus-one": "9223372036854775808",
    "5000-digits": "9" * 5000,
}


@pytest.mark.parametrize("value", NOT_AN_INTEGER.values(), ids=NOT_AN_INTEGER)
@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/api/cluster/jobs", "max_records"),
        ("GET", "/api/cluster/jobs", "return_timeout"),
        ("GET", "/api/storage/volumes", "max_records"),
        ("GET", "/api/cluster", "max_records"),
        ("POST", "/api/storage/volumes", "return_timeout"),
    ],
)
def test_an_integer_query_argument_in_another_spelling_is_400(
    api: Api, sim: Simulator, method: str, path: str, name: str, value: str
) -> None:
    answer = api(method, path, VOLUME if method == "POST" else None, query_string={name: value})
    assert_error(answer, 400, "262197", name)
    assert len(answer.json["error"]["message"]) < 200
    assert not sim.jobs.records()


def test_max_records_at_the_64_bit_limit_means_all(api: Api) -> None:
    for name in ("v1", "v2", "v3"):
        assert api("POST", "/api/storage/volumes", {**VOLUME, "name": name}).status_code == 202
    api.sim.advance(60)
    for path in ("/api/cluster/jobs", "/api/storage/volumes"):
        answer = api("GET", path, query_string={"max_records": str(2**63 - 1)})
        assert answer.status_code == 200, answer.json
        assert answer.json["num_records"] == 3 and "next" not in answer.json["_links"]


@pytest.mark.parametrize(
    "retention", [float("nan"), float("inf"), -1.0, 10**400], ids=["nan", "inf", "negative", "huge"]
)
def test_a_non_finite_retention_is_refused(retention: float) -> None:
    with pytest.raises(ValueError, match="retention must be a finite number"):
        Simulator(scenario={"retention": retention})
    with pytest.raises(ValueError, match="retention must be a finite number"):
        Simulator(retention=retention)


@pytest.mark.parametrize(
    "version",
    ["\uff19.15.1", "9.\u0661\u0665.1", "9" * 5000 + ".15.1"],
    ids=["full-width", "arabic", "5000-digits"],
)
def test_a_scenario_cluster_version_in_other_digits_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="version must look like"):
        Simulator(scenario={"inventory": {"cluster": {"name": "c1", "version": version}}})


def test_a_max_volumes_in_other_digits_is_400(api: Api, sim: Simulator) -> None:
    body = {"name": "vs9", "max_volumes": "\u0661\u0662"}
    assert_error(api("POST", "/api/svm/svms", body), 400, "2", "max_volumes")
    assert api("POST", "/api/svm/svms", {**body, "max_volumes": "12"}).status_code == 202


def test_a_job_code_beyond_64_bits_is_refused(api: Api, sim: Simulator) -> None:
    steps = [{"state": "failure", "code": 2**63}]
    body = {"method": "POST", "path": "/api/storage/volumes", "steps": steps}
    with pytest.raises(ApiError) as caught:
        sim.script("POST", "/api/storage/volumes", steps)
    assert caught.value.target == "steps[0].code"
    with pytest.raises(ApiError):
        sim.add_script(body)
    assert sim.scripts() == []


# -- HEAD is not a poll ----------------------------------------------------------------------------
def test_a_head_on_a_job_does_not_count_as_a_poll(api: Api, sim: Simulator) -> None:
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "polls": 2}, {"state": "success"}]
    )
    uuid = sim_job(api)
    for _ in range(5):
        head = api("HEAD", f"/api/cluster/jobs/{uuid}")
        assert head.status_code == 200 and head.data == b""
    assert api("GET", f"/api/cluster/jobs/{uuid}").json["state"] == "running"
    assert api("GET", f"/api/cluster/jobs/{uuid}").json["state"] == "running"
    assert api("GET", f"/api/cluster/jobs/{uuid}").json["state"] == "success"


# -- scripts and faults: spent ones pruned, armed ones and their sizes bounded ---------------------
def test_spent_scripts_and_faults_cost_a_request_nothing(
    monkeypatch: pytest.MonkeyPatch, api: Api, sim: Simulator
) -> None:
    sim.inventory.load(_volumes(1))
    volume = sim.inventory.volumes()[0]["uuid"]
    uuid = sim_job(api)
    for _ in range(3):
        for _ in range(500):
            sim.script("PATCH", "/api/storage/volumes/*", [{"state": "success"}], times=1)
            sim.fault("GET", "/api/cluster/jobs/*", times=1, status=503)
        for _ in range(500):
            sim.submit("PATCH", f"/api/storage/volumes/{volume}", {"comment": "c"})
            assert sim.faults.take("GET", f"/api/cluster/jobs/{uuid}") is not None
    scanned: list[str] = []
    for cls in (ScriptRule, FaultRule):
        monkeypatch.setattr(cls, "matches", lambda self, m, p: scanned.append(m) or False)
    assert api("PATCH", f"/api/storage/volumes/{volume}", {"comment": "d"}).status_code == 202
    assert api("GET", f"/api/cluster/jobs/{uuid}").status_code == 200
    assert scanned == []  # 1,500 spent scripts and 1,500 spent faults: none scanned
    assert len(sim.scripts()) == SPENT_LISTED and len(sim.faults.list()) == SPENT_LISTED


def test_a_spent_rule_is_still_listed_with_its_hits(api: Api, sim: Simulator) -> None:
    fault = api(
        "POST",
        "/simulator/faults",
        {"method": "GET", "path": "/api/cluster", "times": 2, "status": 503},
    ).json
    script = api(
        "POST",
        "/simulator/scripts",
        {"method": "POST", "path": "/api/storage/volumes", "steps": [{"state": "success"}]},
    ).json
    assert [api("GET", "/api/cluster").status_code for _ in range(3)] == [503, 503, 200]
    sim_job(api)
    (listed,) = api("GET", "/simulator/faults").json["records"]
    assert listed == {**fault, "times": 0, "hits": 2}
    (listed,) = api("GET", "/simulator/scripts").json["records"]
    assert listed == {**script, "times": 0, "hits": 1}


@pytest.mark.parametrize("kind", ["scripts", "faults"])
def test_armed_rules_are_bounded(api: Api, sim: Simulator, kind: str) -> None:
    rule: dict[str, Any] = {"method": "POST", "path": "/api/x/*", "times": None}
    rule.update({"steps": [{"state": "success"}]} if kind == "scripts" else {"status": 503})
    for _ in range(MAX_RULES):
        if kind == "scripts":
            sim.add_script(rule)
        else:
            sim.faults.add(rule)
    answer = api("POST", f"/simulator/{kind}", rule)
    assert_error(answer, 400, "2", "body")
    assert f"At most {MAX_RULES}" in answer.json["error"]["message"]
    assert api("DELETE", f"/simulator/{kind}").status_code == 200
    assert api("POST", f"/simulator/{kind}", rule).status_code == 201


def test_a_script_of_too_many_steps_is_400(api: Api, sim: Simulator) -> None:
    running = [{"state": "running", "seconds": 1}] * (MAX_STEPS - 1)
    body = {"method": "POST", "path": "/api/storage/volumes", "times": None}
    answer = api(
        "POST",
        "/simulator/scripts",
        {**body, "steps": [*running, running[0], {"state": "success"}]},
    )
    assert_error(answer, 400, "2", "steps")
    assert (
        api(
            "POST", "/simulator/scripts", {**body, "steps": [*running, {"state": "success"}]}
        ).status_code
        == 201
    )


def test_a_job_keeps_a_bounded_history(api: Api, sim: Simulator) -> None:
    steps = [{"state": ("queued", "running")[i % 2], "seconds": 1} for i in range(MAX_STEPS - 1)]
    sim.script("POST", "/api/storage/volumes", [*steps, {"state": "success"}], times=None)
    uuids = [sim_job(api)] + [
        api("POST", "/api/storage/volumes", {**VOLUME, "name": f"h{i}"}).json["job"]["uuid"]
        for i in range(3)
    ]
    sim.advance(MAX_STEPS + 1)
    for uuid in uuids:
        job = sim.jobs.job(uuid)
        assert job.state == "success"
        assert len(job.history) <= 64 and job.history[-1][1] == "success"


@pytest.mark.parametrize(
    ("path", "body", "target"),
    [
        (
            "/simulator/scripts",
            {
                "method": "POST",
                "path": "/api/*",
                "steps": [{"state": "failure", "message": "m" * 4097}],
            },
            "steps[0].message",
        ),
        (
            "/simulator/scripts",
            {"method": "POST", "path": "/api/" + "*" * 1024, "steps": [{"state": "success"}]},
            "path",
        ),
        ("/simulator/faults", {"path": "/api/*", "status": 503, "message": "m" * 4097}, "message"),
        ("/simulator/faults", {"path": "/api/*", "status": 503, "code": "1" * 21}, "code"),
        ("/simulator/faults", {"path": "/api/" + "?" * 1024, "drop": True}, "path"),
    ],
    ids=["step-message", "script-path", "fault-message", "fault-code", "fault-path"],
)
def test_rule_strings_past_their_bounds_are_400(
    api: Api, path: str, body: dict[str, Any], target: str
) -> None:
    assert_error(api("POST", path, body), 400, "2", target)


def test_a_fault_code_beyond_64_bits_is_refused_in_python(sim: Simulator) -> None:
    with pytest.raises(ApiError) as caught:
        sim.fault(path="/api/*", status=503, code=10**5000)
    assert caught.value.target == "code"


# -- more of the same kind -------------------------------------------------------------------------
def test_a_dotted_body_key_nesting_50000_deep_is_400_not_500(api: Api, sim: Simulator) -> None:
    """A dotted name stands for nested objects: ``comment.comment....x`` expanded to 50,000
    levels and broke JSON encoding (RecursionError, 500) when the refusal showed the value."""
    body = {**VOLUME, "comment." * 50_000 + "x": 1}
    assert_error(api("POST", "/api/storage/volumes", body), 400, "262199", "body")
    assert_error(api("PATCH", "/api/svm/svms/x", {"a." * 70 + "b": 1}), 400, "262199", "body")
    answer = api("POST", "/api/storage/volumes", {**VOLUME, "svm.name.x": 1})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "2"  # reaches validation


def test_distinct_long_job_queries_are_not_remembered(api: Api, sim: Simulator) -> None:
    """Validated job-GET queries are remembered for pollers; 256 distinct 60 kB ones were."""
    uuid = sim_job(api)
    tracemalloc.start()
    try:
        api("GET", f"/api/cluster/jobs/{uuid}", query_string={"fields": "state"})
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100):
            fields = f"uuid.{i}" + "a" * 60_000
            answer = api("GET", f"/api/cluster/jobs/{uuid}", query_string={"fields": fields})
            assert answer.status_code == 200
        sim.clear_journal()
        urllib.parse.urlsplit.cache_clear()  # Flask's test client keeps the last 128 URLs
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1024 * 1024, f"{grown:,} bytes kept for 100 distinct long queries"


def test_a_thousand_armed_rules_with_distinct_globs_are_not_recompiled_per_request(
    monkeypatch: pytest.MonkeyPatch, api: Api, sim: Simulator
) -> None:
    for i in range(MAX_RULES):
        sim.fault("GET", f"/api/nothing/{i}/*", times=None, status=503)
    assert api("GET", "/api/cluster").status_code == 200  # every rule compiled once, here
    compiled: list[str] = []
    glob_init = Glob.__init__

    def counting(self: Glob, pattern: str) -> None:
        compiled.append(pattern)
        glob_init(self, pattern)

    monkeypatch.setattr(Glob, "__init__", counting)
    for _ in range(3):
        assert api("GET", "/api/cluster").status_code == 200
    assert compiled == []
