"""ONTAP's collection query language, shared by every collection the simulator serves."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.errors import ApiError
from simulator.query import check_params, matches, query_collection, select_fields

RECORDS: list[dict[str, Any]] = [
    {
        "uuid": f"u{i}",
        "name": name,
        "size": size,
        "svm": {"name": svm},
        "aggregates": [{"name": "aggr1"}, {"name": f"aggr{i + 2}"}],
        "_links": {"self": {"href": f"/x/u{i}"}},
    }
    for i, (name, size, svm) in enumerate(
        [("alpha", 10, "vs0"), ("beta", 20, "vs1"), ("gamma", 30, "vs0"), ("delta", 40, "vs1")]
    )
]


@pytest.mark.parametrize(
    ("field", "query", "expected"),
    [
        ("name", "beta", ["beta"]),
        ("name", "beta|delta", ["beta", "delta"]),
        ("name", "!beta", ["alpha", "gamma", "delta"]),
        ("name", "*ta", ["beta", "delta"]),
        ("name", "A*", ["alpha"]),
        ("size", ">20", ["gamma", "delta"]),
        ("size", "<=20", ["alpha", "beta"]),
        ("size", "15..35", ["beta", "gamma"]),
        ("size", "20.0", ["beta"]),
        ("svm.name", "vs0", ["alpha", "gamma"]),
        ("aggregates.name", "aggr3", ["beta"]),
        ("aggregates.name", "aggr1", ["alpha", "beta", "gamma", "delta"]),
        ("comment", "null", ["alpha", "beta", "gamma", "delta"]),
        ("comment", "!null", []),
    ],
)
def test_filters(field: str, query: str, expected: list[str]) -> None:
    assert [r["name"] for r in RECORDS if matches(r, field, query)] == expected


def test_select_fields_keeps_keys_and_links() -> None:
    out = select_fields(RECORDS[0], ["svm.name", "aggregates.name"], ("uuid", "name"))
    assert out == {
        "uuid": "u0",
        "name": "alpha",
        "svm": {"name": "vs0"},
        "aggregates": [{"name": "aggr1"}, {"name": "aggr2"}],
        "_links": {"self": {"href": "/x/u0"}},
    }
    assert select_fields(RECORDS[0], ["*"], ("uuid",)) == RECORDS[0]


def test_paging_follows_next_links_to_the_end() -> None:
    params: dict[str, str] = {"max_records": "3", "order_by": "name desc", "fields": "size"}
    names: list[str] = []
    while True:
        body = query_collection(RECORDS, params, href="/x")
        names += [r["name"] for r in body["records"]]
        assert body["num_records"] == len(body["records"])
        nxt = body["_links"].get("next")
        if not nxt:
            break
        query = nxt["href"].split("?", 1)[1]
        from urllib.parse import parse_qsl

        params = dict(parse_qsl(query))
    assert names == ["gamma", "delta", "beta", "alpha"]


def test_return_records_false_counts_only() -> None:
    body = query_collection(RECORDS, {"return_records": "false", "svm.name": "vs1"}, href="/x")
    assert body == {
        "num_records": 2,
        "_links": {"self": {"href": "/x?return_records=false&svm.name=vs1"}},
    }


def test_default_fields_are_keys_only() -> None:
    body = query_collection(RECORDS, {}, href="/x")
    assert body["records"][0] == {
        "uuid": "u0",
        "name": "alpha",
        "_links": {"self": {"href": "/x/u0"}},
    }


@pytest.mark.parametrize(
    ("params", "status", "code", "target"),
    [
        ({"max_records": "-1"}, 400, "262197", "max_records"),
        ({"max_records": "ten"}, 400, "262197", "max_records"),
        ({"return_timeout": "121"}, 400, "262197", "return_timeout"),
        ({"return_records": "maybe"}, 400, "262197", "return_records"),
        ({"order_by": "name sideways"}, 400, "262197", "order_by"),
    ],
)
def test_bad_arguments(params: dict[str, str], status: int, code: str, target: str) -> None:
    with pytest.raises(ApiError) as info:
        query_collection(RECORDS, params, href="/x")
    assert (info.value.status, info.value.code, info.value.target) == (status, code, target)


def test_check_params_refuses_unknown_arguments_and_fields() -> None:
    names = ["uuid", "name", "svm.name", "size"]
    check_params(
        {"svm.name": "vs0", "fields": "size,svm,", "max_records": "1"},
        {"fields", "max_records"},
        names,
    )
    with pytest.raises(ApiError) as info:
        check_params({"colour": "red"}, {"fields"}, names)
    assert (info.value.status, info.value.code, info.value.message) == (
        404,
        "262179",
        'Unexpected argument "colour".',
    )
    with pytest.raises(ApiError) as info:
        check_params({"fields": "size,colour"}, {"fields"}, names)
    assert (info.value.status, info.value.code, info.value.target) == (400, "262197", "fields")
