"""The curl examples of the README (and docs/compatibility.md), run against a simulator.

Every line of a ```console block that starts with ``$ curl``, and every line of a ```sh block
that starts with ``curl``, is a command. Its base URL ``http://127.0.0.1:8080`` is replaced by
the test server's, and ``<job-uuid>`` by the job uuid of the latest answer that carried one.
The command line is parsed (method, URL, ``-u``, ``-d``/``--data``, ``-H``; any other option
fails the test, so the README cannot use an option this test would ignore) and replayed with
requests; where ``curl`` is installed, the same lines also run through the real ``curl``.

The lines written after a console command are its expected output, checked loosely: every key
shown must be in the answer, and every ``"key": value`` pair with a literal value (no ``<...>``
or ``...``) must be in it too. A GET whose expectation is not met yet is repeated (the README
polls a job) until it is, for up to 10 s.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import ServerHandle, Simulator, serve
from simulator.sim import load_scenario_file

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
#: Documents whose curl examples must run (each must have at least one).
DOCUMENTS = [README, ROOT / "docs" / "compatibility.md"]
DEMO = ROOT / "scenarios" / "demo.json"
DOCUMENTED_BASE = "http://127.0.0.1:8080"
RETRY_FOR = 10.0
#: The documented flow, as the issue gave it: the parser and runner are tested on it too.
FIXTURE = (
    "```console\n"
    "$ curl -su admin:netapp1! -X POST http://127.0.0.1:8080/api/storage/volumes"
    """ -d '{"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}'\n"""
    """{"job": {"uuid": "<job-uuid>", "_links": {"self": {"href": "/api/cluster/jobs/<job-uuid>"}}}}\n"""  # noqa: E501
    "$ curl -su admin:netapp1! http://127.0.0.1:8080/api/cluster/jobs/<job-uuid>\n"
    """{"uuid": "<job-uuid>", "state": "success", "code": 0, ...}\n"""
    "$ curl -su admin:netapp1! 'http://127.0.0.1:8080/api/storage/volumes?name=v1'\n"
    """{"records": [{"name": "v1", ...}], "num_records": 1}\n"""
    "```\n"
)


@dataclass
class Command:
    """One documented command line and the output written after it."""

    line: str
    expected: str = ""


@dataclass
class CurlRequest:
    """What a curl command line asks for."""

    url: str
    method: str = "GET"
    auth: tuple[str, str] | None = None
    data: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def commands(markdown: str) -> list[Command]:
    """The curl commands of ```console (``$ curl``) and ```sh (``curl``) blocks, in order."""
    found: list[Command] = []
    for lang, body in re.findall(r"^```(console|sh)\n(.*?)^```", markdown, re.M | re.S):
        current: Command | None = None
        for line in body.splitlines():
            command = line[2:] if lang == "console" and line.startswith("$ ") else None
            if lang == "sh":
                command = line
            if command is not None:
                current = Command(command.strip()) if command.startswith("curl ") else None
                if current is not None:
                    found.append(current)
            elif current is not None:
                current.expected += line + "\n"
    return found


_FLAGS = {"-s", "-S", "--silent", "--show-error"}
_VALUED = {
    "-u": "auth",
    "--user": "auth",
    "-X": "method",
    "--request": "method",
    "-d": "data",
    "--data": "data",
    "--data-raw": "data",
    "-H": "header",
    "--header": "header",
}


def _options(args: list[str]) -> Iterator[tuple[str, str | None]]:
    """(option, value) pairs of curl arguments, short flags unbundled (``-su x`` = -s, -u x)."""
    queue = list(args)
    while queue:
        arg = queue.pop(0)
        if arg.startswith("--") or not arg.startswith("-") or len(arg) == 1:
            if arg in _VALUED:
                if not queue:
                    raise ValueError(f"curl option {arg} needs a value")
                yield arg, queue.pop(0)
            else:
                yield arg, None
            continue
        for index, letter in enumerate(arg[1:], start=2):
            option = "-" + letter
            if option not in _VALUED:
                yield option, None
                continue
            value = arg[index:] or (queue.pop(0) if queue else None)
            if value is None:
                raise ValueError(f"curl option {option} needs a value")
            yield option, value
            break


def parse_curl(line: str) -> CurlRequest:
    """Parse a curl command line; ValueError for anything this test would not replay."""
    args = shlex.split(line)
    if not args or args[0] != "curl":
        raise ValueError(f"not a curl command: {line!r}")
    urls: list[str] = []
    method: str | None = None
    auth: tuple[str, str] | None = None
    data: str | None = None
    headers: dict[str, str] = {}
    for option, value in _options(args[1:]):
        kind = _VALUED.get(option)
        if value is None and not option.startswith("-"):
            urls.append(option)
        elif option in _FLAGS:
            continue
        elif kind == "auth" and value is not None:
            user, sep, password = value.partition(":")
            if not sep:
                raise ValueError(f"-u needs user:password, got {value!r}")
            auth = (user, password)
        elif kind == "method" and value is not None:
            method = value.upper()
        elif kind == "data" and value is not None:
            data = value if data is None else f"{data}&{value}"
        elif kind == "header" and value is not None:
            name, sep, header_value = value.partition(":")
            if not sep:
                raise ValueError(f"-H needs 'Name: value', got {value!r}")
            headers[name.strip()] = header_value.strip()
        else:
            raise ValueError(f"unsupported curl option {option!r} in {line!r}")
    if len(urls) != 1:
        raise ValueError(f"expected exactly one URL in {line!r}, got {urls}")
    if data is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # as curl does
    return CurlRequest(
        urls[0], method or ("POST" if data is not None else "GET"), auth, data, headers
    )


# -- loose expectations ------------------------------------------------------------------
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_.]*)"\s*:')
_PAIR = re.compile(
    r'"([A-Za-z_][A-Za-z0-9_.]*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)'
)


def _facts(value: Any) -> tuple[set[str], list[tuple[str, Any]]]:
    """Every key, and every (key, scalar value) pair, anywhere in a JSON value."""
    keys: set[str] = set()
    pairs: list[tuple[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                keys.add(key)
                if isinstance(child, dict | list):
                    stack.append(child)
                else:
                    pairs.append((key, child))
        elif isinstance(item, list):
            stack.extend(item)
    return keys, pairs


def unmet(expected: str, answer: Any) -> list[str]:
    """What the documented output shows that ``answer`` lacks ([] when it matches)."""
    keys, pairs = _facts(answer)
    missing = [f"key {key!r}" for key in dict.fromkeys(_KEY.findall(expected)) if key not in keys]
    for key, raw in _PAIR.findall(expected):
        value = json.loads(raw)
        if isinstance(value, str) and ("<" in value or "..." in value):
            continue
        if (key, value) not in pairs:
            missing.append(f"{key}: {raw}")
    return missing


# -- running the commands ----------------------------------------------------------------
def _via_requests(request: CurlRequest) -> tuple[int, str]:
    answer = requests.request(
        request.method,
        request.url,
        auth=request.auth,
        data=request.data.encode() if request.data is not None else None,
        headers=request.headers,
        timeout=10,
    )
    return answer.status_code, answer.text


def _via_curl(line: str) -> tuple[int, str]:
    args = [*shlex.split(line), "--max-time", "10", "--write-out", "\n%{http_code}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def run_commands(found: list[Command], base_url: str, runner: str) -> list[Any]:
    """Run ``found`` against ``base_url``; assert each answers 2xx as documented. Answers."""
    answers: list[Any] = []
    job_uuid: str | None = None
    for command in found:
        line = command.line
        if "<job-uuid>" in line:
            assert job_uuid is not None, f"no earlier answer carried a job uuid for {line!r}"
            line = line.replace("<job-uuid>", job_uuid)
        assert not re.search(r"<[^>]+>", line), f"unknown placeholder in {line!r}"
        request = parse_curl(line)
        assert request.url.startswith(DOCUMENTED_BASE + "/"), request.url
        line = line.replace(DOCUMENTED_BASE, base_url)
        request.url = request.url.replace(DOCUMENTED_BASE, base_url)
        deadline = time.monotonic() + RETRY_FOR
        while True:
            status, text = _via_curl(line) if runner == "curl" else _via_requests(request)
            assert 200 <= status < 300, f"{command.line}\n-> {status} {text}"
            answer = json.loads(text) if text.strip() else None
            missing = unmet(command.expected, answer)
            if not missing or request.method != "GET" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not missing, f"{command.line}\n-> {text}\nlacks {missing}"
        if isinstance(answer, dict) and isinstance(answer.get("job"), dict):
            job_uuid = answer["job"]["uuid"]
        answers.append(answer)
    return answers


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, ServerHandle]]:
    """A real-clock simulator with the demo scenario the README starts, ten times faster."""
    scenario = load_scenario_file(DEMO)
    for step in scenario["default_script"]:
        if "seconds" in step:
            step["seconds"] /= 10
    sim = Simulator(clock="real", password="netapp1!", scenario=scenario)
    with serve(sim) as handle:
        yield sim, handle


@pytest.fixture(params=["requests", "curl"])
def runner(request: pytest.FixtureRequest, server: tuple[Simulator, ServerHandle]) -> str:
    if request.param == "curl" and shutil.which("curl") is None:
        pytest.skip("curl is not installed: the requests replay covers the commands")
    server[0].reset()
    return str(request.param)


# -- tests -------------------------------------------------------------------------------
def test_parse_curl_command_lines() -> None:
    post = parse_curl(
        "curl -su admin:netapp1! -X POST http://h/api/v -d '{\"a\": 1}' -H 'Accept: */*'"
    )
    assert post == CurlRequest(
        "http://h/api/v",
        "POST",
        ("admin", "netapp1!"),
        '{"a": 1}',
        {"Accept": "*/*", "Content-Type": "application/x-www-form-urlencoded"},
    )
    get = parse_curl(
        "curl -s -uadmin:pw --header 'Content-Type: application/json' 'http://h/a?x=1'"
    )
    assert get == CurlRequest(
        "http://h/a?x=1", "GET", ("admin", "pw"), None, {"Content-Type": "application/json"}
    )
    assert parse_curl("curl --data x http://h/").method == "POST"
    for bad in (
        "curl -k http://h/",
        "curl -o out http://h/",
        "curl http://a/ http://b/",
        "curl -u x http://h/",
    ):
        with pytest.raises(ValueError):
            parse_curl(bad)


def test_commands_are_found_in_console_and_sh_blocks() -> None:
    found = commands(FIXTURE + "```sh\ncurl -s http://127.0.0.1:8080/api/cluster\necho done\n```\n")
    assert [(parse_curl(c.line).method, parse_curl(c.line).url) for c in found] == [
        ("POST", "http://127.0.0.1:8080/api/storage/volumes"),
        ("GET", "http://127.0.0.1:8080/api/cluster/jobs/<job-uuid>"),
        ("GET", "http://127.0.0.1:8080/api/storage/volumes?name=v1"),
        ("GET", "http://127.0.0.1:8080/api/cluster"),
    ]
    assert '"state": "success"' in found[1].expected
    assert found[3].expected == ""


def test_expectations_are_checked_loosely() -> None:
    expected = '{"uuid": "<job-uuid>", "state": "success", "code": 0, ...}'
    assert unmet(expected, {"uuid": "u", "state": "success", "code": 0, "message": "m"}) == []
    assert unmet(expected, {"uuid": "u", "state": "running", "code": 0}) == ['state: "success"']
    assert unmet(expected, {"state": "success", "code": 0}) == ["key 'uuid'"]


def test_the_documented_flow(runner: str, server: tuple[Simulator, ServerHandle]) -> None:
    sim, handle = server
    created, job, volumes = run_commands(commands(FIXTURE), handle.url, runner)
    assert job["uuid"] == created["job"]["uuid"]
    assert volumes["records"][0]["uuid"] == sim.inventory.volumes()[0]["uuid"]


def test_the_readme_shows_the_volume_flow() -> None:
    lines = [c.line for c in commands(README.read_text(encoding="utf-8"))]
    assert any(" -X POST " in line and "/api/storage/volumes " in line for line in lines), lines
    assert any("/api/cluster/jobs/<job-uuid>" in line for line in lines), lines
    assert any("/api/storage/volumes?name=v1" in line for line in lines), lines


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_the_documented_curl_examples(
    document: Path, runner: str, server: tuple[Simulator, ServerHandle]
) -> None:
    found = commands(document.read_text(encoding="utf-8"))
    assert found, f"{document} has no curl examples in console or sh blocks"
    run_commands(found, server[1].url, runner)
