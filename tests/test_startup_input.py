"""What ``ontap-sim`` is started with, from a careless or hostile hand: scenario files,
passwords, retention, certificates and keys.

Each bad input must be refused before serving, as one line on stderr naming the file (or the
variable, or the flag) and what is wrong, with exit status 2: never a traceback, a hang, or a
server that starts and then answers 500.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from simproc import REPO

from simulator import Simulator
from simulator.server import serve
from simulator.sim import MAX_SCENARIO_BYTES, MAX_SCENARIO_DEPTH, load_scenario_file
from simulator.tlsgen import TlsFiles, generate_tls_files

#: A refused start takes well under a second; a server that starts instead runs until this.
RUN_TIMEOUT = 20.0


def run_sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m simulator --port 0 *args`` to its end, with no terminal to prompt on."""
    environment = {k: v for k, v in os.environ.items() if k != "ONTAP_SIM_PASSWORD"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "simulator", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=REPO,
        env=environment,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: a pass-phrase prompt cannot wait
    )


def assert_refused(out: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit 2, nothing on stdout, one ``ontap-sim: ...`` line on stderr holding ``words``."""
    lines = out.stderr.splitlines()
    assert out.returncode == 2, out.stderr
    assert out.stdout == "", out.stdout
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("ontap-sim: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- scenario files (issue 14, item 13) -------------------------------------------------------
def _dev_zero(tmp_path: Path) -> str:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    return "/dev/zero"


def _fifo(tmp_path: Path) -> str:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "scenario.fifo"
    os.mkfifo(path)
    return str(path)


def _directory(tmp_path: Path) -> str:
    return str(tmp_path)


def _oversized(tmp_path: Path) -> str:
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: no disk written
    return str(path)


def _nested_100k(tmp_path: Path) -> str:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return str(path)


def _not_utf8(tmp_path: Path) -> str:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"description": "caf\xe9"}')
    return str(path)


def _version_5000_digits(tmp_path: Path) -> str:
    path = tmp_path / "version.json"
    path.write_text('{"inventory": {"cluster": {"version": "' + "9" * 5000 + '.1.1"}}}')
    return str(path)


def _nan_literal(tmp_path: Path) -> str:
    path = tmp_path / "nan.json"
    path.write_text('{"retention": NaN}')
    return str(path)


def _integer_5000_digits(tmp_path: Path) -> str:
    path = tmp_path / "int.json"
    path.write_text('{"retention": ' + "9" * 5000 + "}")
    return str(path)


def _missing(tmp_path: Path) -> str:
    return str(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(_dev_zero, "is not a regular file (a character device)", id="dev-zero"),
        pytest.param(_fifo, "is not a regular file (a FIFO)", id="fifo"),
        pytest.param(_directory, "is not a regular file (a directory)", id="directory"),
        pytest.param(_oversized, f"is larger than {MAX_SCENARIO_BYTES} bytes", id="over-16-mib"),
        pytest.param(_nested_100k, "is nested deeper than 64 levels", id="nested-100k-deep"),
        pytest.param(_not_utf8, "is not UTF-8: byte 0xe9 at offset 20", id="not-utf8"),
        pytest.param(_version_5000_digits, 'version must look like "9.15.1"', id="version-5000"),
        pytest.param(_nan_literal, "NaN is not a JSON value", id="nan-literal"),
        pytest.param(_integer_5000_digits, "an integer of 5000 digits", id="int-5000-digits"),
        pytest.param(_missing, "No such file or directory", id="missing"),
    ],
)
def test_a_bad_scenario_file_is_one_line_naming_it_and_exit_2(
    tmp_path: Path, make: Callable[[Path], str], problem: str
) -> None:
    path = make(tmp_path)
    started = time.monotonic()
    out = run_sim("--scenario", path)
    assert_refused(out, f"scenario {path}", problem)
    assert time.monotonic() - started < 10


def test_scenario_nesting_limit_is_exact(tmp_path: Path) -> None:
    def nested(depth: int) -> Path:
        path = tmp_path / f"depth{depth}.json"
        path.write_text('{"a":' * depth + "1" + "}" * depth)
        return path

    assert load_scenario_file(nested(MAX_SCENARIO_DEPTH))["a"]
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_SCENARIO_DEPTH} levels"):
        load_scenario_file(nested(MAX_SCENARIO_DEPTH + 1))


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"retention": 10}')
    assert Simulator(scenario=path).jobs.retention == 10


def test_a_bad_value_in_a_scenario_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"retention": "soon"}')
    with pytest.raises(ValueError, match=rf"^scenario {path}: retention must be"):
        Simulator(scenario=path)


# -- passwords (item 11) and retention (item 8) ------------------------------------------------
def test_an_empty_ontap_sim_password_refuses_to_start() -> None:
    """Attack: a missing CI secret expands to an empty password (anyone gets in)."""
    assert_refused(run_sim(env={"ONTAP_SIM_PASSWORD": ""}), "ONTAP_SIM_PASSWORD", "empty")


def test_an_empty_password_flag_refuses_to_start() -> None:
    assert_refused(run_sim("--password", ""), "--password", "empty")


def test_a_password_flag_wins_over_an_empty_environment_variable() -> None:
    """The flag wins over the environment: an explicit password starts the server."""
    with subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--password", "pw"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "ONTAP_SIM_PASSWORD": ""},
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("ontap-sim listening on ")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "NaN", "soon"])
def test_retention_must_be_finite_and_not_negative(value: str) -> None:
    out = run_sim(f"--retention={value}")
    assert out.returncode == 2
    assert "--retention: must be a finite number of seconds >= 0" in out.stderr
    assert "Traceback" not in out.stderr


# -- TLS files (item 14) -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[TlsFiles, TlsFiles]:
    root = tmp_path_factory.mktemp("tls")
    return generate_tls_files(root / "a"), generate_tls_files(root / "b")


def _encrypted_key(files: TlsFiles, path: Path) -> str:
    key = serialization.load_pem_private_key(Path(files.key_file).read_bytes(), password=None)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass phrase"),
        )
    )
    return str(path)


@pytest.mark.parametrize(
    "case",
    [
        "mismatched-key",
        "ca-certificate-with-leaf-key",
        "missing-certificate",
        "missing-key",
        "junk-certificate",
        "junk-key",
        "directory-certificate",
        "encrypted-key",
    ],
)
def test_a_bad_certificate_or_key_is_one_line_naming_the_file(
    tls_pair: tuple[TlsFiles, TlsFiles], tmp_path: Path, case: str
) -> None:
    a, b = tls_pair
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cert, key, words = {
        "mismatched-key": (a.cert_file, b.key_file, (b.key_file, a.cert_file, "does not match")),
        "ca-certificate-with-leaf-key": (a.ca_file, a.key_file, (a.key_file, "does not match")),
        "missing-certificate": (
            str(tmp_path / "none.pem"),
            a.key_file,
            ("cannot read certificate file", "none.pem", "No such file"),
        ),
        "missing-key": (a.cert_file, str(tmp_path / "none.pem"), ("cannot read key file",)),
        "junk-certificate": (str(junk), a.key_file, (str(junk), "holds no PEM certificate")),
        "junk-key": (a.cert_file, str(junk), (str(junk), "holds no PEM private key")),
        "directory-certificate": (
            str(tmp_path),
            a.key_file,
            (str(tmp_path), "not a regular file (a directory)"),
        ),
        "encrypted-key": (
            a.cert_file,
            _encrypted_key(a, tmp_path / "encrypted.pem"),
            ("encrypted.pem", "is encrypted"),
        ),
    }[case]
    started = time.monotonic()
    line = assert_refused(run_sim("--tls", "--certfile", cert, "--keyfile", key), *words)
    assert "cannot listen" not in line and "KEY_VALUES_MISMATCH" not in line
    assert time.monotonic() - started < 10


def test_serve_names_the_file_it_cannot_use(tls_pair: tuple[TlsFiles, TlsFiles]) -> None:
    a, b = tls_pair
    with (
        pytest.raises(ValueError, match=f"key file {b.key_file} does not match"),
        serve(Simulator(), certfile=a.cert_file, keyfile=b.key_file),
    ):
        pass  # pragma: no cover - never reached


def test_a_certificate_file_holding_its_key_needs_no_keyfile(
    tls_pair: tuple[TlsFiles, TlsFiles], tmp_path: Path
) -> None:
    a, _ = tls_pair
    both = tmp_path / "both.pem"
    both.write_bytes(Path(a.cert_file).read_bytes() + Path(a.key_file).read_bytes())
    with serve(Simulator(), certfile=str(both)) as handle:
        assert handle.scheme == "https"
