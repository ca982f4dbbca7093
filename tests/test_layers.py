"""The simulator's layers: typed verbs below, HTTP above, imports one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import Simulator
from simulator.errors import ApiError
from simulator.sim import WriteOutcome
from simulator.web.render import write_answer

VOLUMES = "/api/storage/volumes"
VOLUME = {"name": "v1", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]}
PACKAGE = Path(__file__).resolve().parent.parent / "simulator"
#: Core and model: they take and give Python values, never HTTP.
BELOW_HTTP = [
    *(PACKAGE / n for n in ("clock.py", "errors.py", "faults.py", "files.py", "inventory.py")),
    *(PACKAGE / n for n in ("jobs.py", "journal.py", "query.py", "rules.py", "sim.py")),
    *sorted((PACKAGE / "model").rglob("*.py")),
]


def test_submit_says_what_a_write_came_to_without_http() -> None:
    sim = Simulator(clock="virtual")
    outcome = sim.submit("POST", VOLUMES, VOLUME, return_timeout=30, return_records=True)
    assert outcome.kind == "created"
    assert outcome.job_uuid is not None and outcome.error is None
    (record,) = outcome.records
    assert (outcome.location, record["name"]) == (f"{VOLUMES}/?name=v1", "v1")
    assert not hasattr(outcome, "status") and not hasattr(outcome, "headers")
    accepted = sim.submit("PATCH", f"{VOLUMES}/{record['uuid']}", {"comment": "c"})
    assert (accepted.kind, accepted.records, accepted.error) == ("accepted", (), None)
    done = sim.submit("PATCH", f"{VOLUMES}/{record['uuid']}", {"comment": "d"}, return_timeout=9)
    assert done.kind == "done"


def test_a_job_failing_within_return_timeout_is_a_failed_outcome_with_its_error() -> None:
    sim = Simulator(clock="virtual")
    sim.script("POST", VOLUMES, [{"state": "failure", "message": "no room", "code": 917927}])
    outcome = sim.submit("POST", VOLUMES, VOLUME, return_timeout=5)
    assert (outcome.kind, outcome.location) == ("failed", None)
    assert isinstance(outcome.error, ApiError)
    assert (outcome.error.status, outcome.error.code, outcome.error.message) == (
        400,
        "917927",
        "no room",
    )


def test_return_timeout_and_return_records_are_arguments_not_query() -> None:
    sim = Simulator(clock="virtual")
    with pytest.raises(ApiError) as info:
        sim.submit("POST", VOLUMES, VOLUME, {"return_timeout": "5"})
    assert (info.value.status, info.value.code, info.value.target) == (
        404,
        "262179",
        "return_timeout",
    )
    with pytest.raises(ValueError, match="121"):
        sim.submit("POST", VOLUMES, VOLUME, return_timeout=121)
    assert not sim.jobs.records()


def test_the_web_layer_renders_an_outcome_with_a_quoted_location() -> None:
    outcome = WriteOutcome("created", "/api/x/a b\né", "u1", ({"name": "n"},))
    status, body, headers = write_answer(outcome)
    assert status == 201
    assert headers == {"Location": "/api/x/a%20b%0A%C3%A9"}
    assert body == {
        "job": {"uuid": "u1", "_links": {"self": {"href": "/api/cluster/jobs/u1"}}},
        "num_records": 1,
        "records": [{"name": "n"}],
    }
    assert write_answer(WriteOutcome("done"))[:2] == (200, {})
    error = ApiError(409, "1", "duplicate entry")
    assert write_answer(WriteOutcome("failed", None, "u2", error=error)) == (
        409,
        error.body(),
        {},
    )


def test_core_and_model_load_without_flask_or_the_web_layer() -> None:
    code = (
        "import sys, simulator.sim, simulator.model.store, simulator.jobs, simulator.query;"
        "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('flask.')"
        " or m.startswith('simulator.web') or m.startswith('pytest_ontapjob')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def _eager_imports(path: Path) -> list[str]:
    """Modules ``path`` imports when it loads (not under TYPE_CHECKING, not in a function)."""
    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


@pytest.mark.parametrize("path", BELOW_HTTP, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_and_model_import_downwards_only(path: Path) -> None:
    upward = ("flask", "requests", "pytest_ontapjob")
    for name in _eager_imports(path):
        top = name.lstrip(".").split(".")[0]
        assert top not in upward, name
        assert ".web" not in name and name.lstrip(".") not in ("app", "server", "control"), name
        if top == "werkzeug":  # the routing table only (werkzeug's Map, its errors)
            assert path.name == "routes.py", name
            assert name in ("werkzeug.routing", "werkzeug.exceptions"), name
