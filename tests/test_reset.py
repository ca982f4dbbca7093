"""``Simulator.reset``: every reset gives the seeded state back, whether it seeds again or
copies back the tables of an earlier seed (what it does once seeding proved deterministic)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import simulator.model.deep  # noqa: F401  (registers the deep behaviours)
from simulator import Simulator
from simulator.model.behaviour import BEHAVIOURS, Behaviour
from simulator.model.store import Store

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _headers(sim: Simulator) -> dict[str, str]:
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _tables(store: Store) -> str:
    return json.dumps(
        {n: {"|".join(k): r for k, r in t.items()} for n, t in store.tables.items()},
        sort_keys=True,
    )


def _count_seeds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seeds: list[str] = []
    for name, behaviour in list(BEHAVIOURS.items()):
        original = behaviour.seed

        def seed(store: Store, original: Any = original, name: str = name) -> None:
            seeds.append(name)
            original(store)

        monkeypatch.setattr(behaviour, "seed", seed)
    return seeds


def test_every_reset_brings_back_what_a_fresh_seed_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = _count_seeds(monkeypatch)
    sim = Simulator()
    fresh = _tables(sim.store)
    client = sim.app.test_client()
    for round_ in range(5):
        answer = client.patch("/api/cluster", json={"name": f"c{round_}"}, headers=_headers(sim))
        assert answer.status_code in (200, 202), answer.get_data(as_text=True)
        created = client.post(
            "/api/storage/volumes",
            json={"name": f"v{round_}", "svm": {"name": "vs0"}, "aggregates": [{"name": "aggr1"}]},
            headers=_headers(sim),
        )
        assert created.status_code in (201, 202), created.get_data(as_text=True)
        sim.advance(60)
        assert _tables(sim.store) != fresh
        # A change made in place inside a seeded record must not reach the next reset either.
        next(iter(sim.store.tables["Cluster"].values()))["extra"] = {"list": [round_]}
        sim.reset()
        assert _tables(sim.store) == fresh
        assert sim.inventory.volumes() == []
    # Seeded at start and on the first reset; the three resets after copied that seed back.
    assert len(seeds) == 2 * len(BEHAVIOURS)


def test_a_seed_that_reads_the_clock_seeds_again_on_every_reset() -> None:
    sim = Simulator(scenario=str(SCENARIOS / "lab.json"))
    store = sim.store
    store.reset()
    store.reset()  # two seeds at one time, equal
    before = sim.inventory.volumes()[0]["create_time"]
    sim.advance(3600)
    store.reset()
    assert sim.inventory.volumes()[0]["create_time"] != before  # the clock's time then


def test_a_seed_that_differs_each_time_is_never_copied_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = iter(range(1000))

    class Changing(Behaviour):
        resource = "Changing"

        def seed(self, store: Store) -> None:
            store.tables.setdefault("Changing", {})[("k",)] = {"n": next(counter)}

    monkeypatch.setitem(BEHAVIOURS, "Changing", Changing())
    sim = Simulator()
    assert sim.store.tables["Changing"][("k",)]["n"] == 0
    seen = []
    for _ in range(4):
        sim.reset()
        seen.append(sim.store.tables["Changing"][("k",)]["n"])
    assert seen == [1, 2, 3, 4]


def test_replacing_the_inventory_forgets_the_copied_seed() -> None:
    sim = Simulator()
    for _ in range(3):
        sim.reset()
    sim.inventory.load(json.loads((SCENARIOS / "demo.json").read_text())["inventory"])
    demo = _tables(sim.store)
    for _ in range(3):
        sim.reset()
        assert _tables(sim.store) == demo
