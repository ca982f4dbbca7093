"""The README's Python examples run as written (with the live cluster swapped for a simulator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator import Simulator, serve

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def block_with(marker: str) -> str:
    found = [b for b in python_blocks() if marker in b]
    assert found, f"no README python block contains {marker!r}"
    return found[0]


def test_simulator_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile(block_with("from simulator import"), "README", "exec"), namespace)
    sim = namespace["sim"]
    assert isinstance(sim, Simulator)
    assert len(sim.scripts()) == 1 and len(sim.faults.list()) == 1


def test_production_client_example_runs_against_a_tls_simulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = block_with("OntapClient(")
    sim = Simulator(clock="real")
    sim.script(
        "POST", "/api/storage/volumes", [{"state": "running", "seconds": 0.2}, {"state": "success"}]
    )
    monkeypatch.setenv("ONTAP_PASSWORD", sim.password)
    with serve(sim, tls=True) as handle:
        assert handle.ca_file is not None
        code = code.replace("https://cluster1.example.com", handle.url)
        code = code.replace("/etc/pki/ontap-ca.pem", handle.ca_file)
        code = code.replace('("automation"', '("admin"')
        exec(compile(code, "README", "exec"), {})
    assert capsys.readouterr().out.startswith("201 success 0 ")


def test_readme_quotes_the_example_test_file_verbatim() -> None:
    example = (README.parent / "tests" / "examples" / "test_example_volume.py").read_text()
    assert example in python_blocks()


def test_readme_quotes_the_netapp_ontap_example_verbatim() -> None:
    import ast

    source = (README.parent / "tests" / "test_netapp_ontap.py").read_text()
    node = next(
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef) and n.name == "example_create_volume"
    )
    assert ast.get_source_segment(source, node) + "\n" in python_blocks()


def test_readme_quotes_the_ansible_playbook_verbatim() -> None:
    playbook = (README.parent / "tests" / "ansible" / "lifecycle.yml").read_text()
    assert f"```yaml\n{playbook}```" in README.read_text(encoding="utf-8")


def test_readme_property_example_is_a_real_test() -> None:
    source = (README.parent / "tests" / "test_properties.py").read_text()
    block = next(b for b in python_blocks() if b.startswith("def create_volume("))
    assert block in source
