"""The flat public API: every name the contract promises is exported, and nothing private."""

from __future__ import annotations

import importlib

import pytest

CONTRACT = {
    "pytest_ontapjob": {
        "OntapClient",
        "PollPolicy",
        "JobResult",
        "OntapError",
        "JobFailed",
        "JobTimeout",
    },
    "simulator": {"Simulator", "serve"},
    "pytest_ontapjob.strategies": {"job_scripts"},
}


@pytest.mark.parametrize("module_name", sorted(CONTRACT))
def test_all_holds_the_contract_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    assert CONTRACT[module_name] <= exported
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ names missing {name}"


@pytest.mark.parametrize("module_name", ["pytest_ontapjob", "simulator"])
def test_packages_export_every_public_name(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, type(importlib))
        and getattr(value, "__module__", module_name).startswith(module_name.split(".")[0])
    }
    assert public - exported <= {"annotations", "PackageNotFoundError", "version"}, (
        public - exported
    )


def test_every_package_error_derives_from_one_base() -> None:
    import pytest_ontapjob as api

    errors = [
        getattr(api, n)
        for n in api.__all__
        if n.endswith(("Error", "Failed", "Timeout", "Lost", "Exhausted", "TooLong"))
    ]
    assert errors and all(issubclass(e, api.OntapJobError) for e in errors)


def test_both_packages_are_typed() -> None:
    from importlib.resources import files

    for package in ("pytest_ontapjob", "simulator"):
        assert files(package).joinpath("py.typed").is_file()
