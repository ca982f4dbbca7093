"""The README's NAS example runs as written, and prints what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_nas_example_runs_and_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    code = next(b for b in blocks if "Qtree(" in b)
    exec(compile(code, "README", "exec"), {})
    printed = capsys.readouterr().out.split()
    promised = re.findall(r"print\(.*\)  # (\S+?):?(?:\s|$)", code)
    assert printed == promised == ["/vol/projects/team", "1703953"]
