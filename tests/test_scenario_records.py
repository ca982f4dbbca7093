"""A scenario's ``records``: any resource of the API, created as a POST would create it."""

from __future__ import annotations

from typing import Any

import pytest

from simulator import Simulator

SVM = {"name": "vs0"}
BASE: dict[str, Any] = {
    "inventory": {
        "svms": [SVM],
        "aggregates": [{"name": "aggr1"}],
        "volumes": [{"name": "vol1", "svm": SVM}],
    }
}


def test_records_are_created_checked_and_stable_across_resets() -> None:
    scenario = {
        **BASE,
        "records": {
            "Igroup": [{"svm": SVM, "name": "ig1", "os_type": "linux", "protocol": "iscsi"}],
            "ExportPolicy": [{"svm": SVM, "name": "p1", "id": 42}],
            "ExportRule": [
                {
                    "policy.id": 42,
                    "clients": [{"match": "0.0.0.0/0"}],
                    "ro_rule": ["any"],
                    "rw_rule": ["never"],
                }
            ],
        },
    }
    sim = Simulator(scenario=scenario)
    igroups = sim.read("/api/protocols/san/igroups", {"fields": "svm,os_type"})["records"]
    assert [(r["name"], r["svm"]["uuid"] is not None) for r in igroups] == [("ig1", True)]
    rules = sim.read("/api/protocols/nfs/export-policies/42/rules", {"fields": "clients"})
    assert rules["records"][0]["clients"] == [{"match": "0.0.0.0/0"}]
    uuid = igroups[0]["uuid"]
    assert (
        Simulator(scenario=scenario).read("/api/protocols/san/igroups", {})["records"][0]["uuid"]
        == uuid
    )  # the same in every run
    sim.reset()
    assert sim.read("/api/protocols/san/igroups", {})["records"][0]["uuid"] == uuid


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"Nope": []}, 'no resource "Nope"'),
        ({"Igroup": {}}, "Igroup must be a list"),
        ({"Igroup": [1]}, r"Igroup\[0\] must be an object"),
        ({"Igroup": [{"svm": SVM, "name": "ig1", "os_type": "beos"}]}, 'field "os_type"'),
        (
            {"Igroup": [{"svm": {"name": "vs9"}, "name": "i", "os_type": "linux"}]},
            'Svm "vs9" does not exist',
        ),
        ({"ExportRule": [{"clients": []}]}, "give policy.id"),
        ([], "records must be an object"),
    ],
)
def test_bad_records_name_the_entry(records: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Simulator(scenario={**BASE, "records": records})
