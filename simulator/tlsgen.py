"""TLS for the simulator: throwaway material (a private CA and a server certificate it signs),
and the server context for it or for files the user gives.

Clients verify the server against ``ca.pem`` with hostname checking on, so the certificate names
``localhost``, ``127.0.0.1`` and ``::1`` (plus any host the caller binds) in subjectAltName.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .files import read_input_file

__all__ = ["CA_COMMON_NAME", "DEFAULT_HOSTS", "TlsFiles", "generate_tls_files", "server_context"]

CA_COMMON_NAME = "ontap-sim test CA"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
VALIDITY = datetime.timedelta(days=825)

#: The largest certificate or key file read (a long chain is a few tens of kB).
MAX_PEM_BYTES = 1024 * 1024

KeyType = Literal["ec", "rsa"]
_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class TlsFiles:
    """Paths (as ``str``, which ``requests``' ``verify=`` needs) of generated PEM files."""

    ca_file: str
    cert_file: str
    key_file: str
    directory: str


def _new_key(key_type: KeyType) -> _PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"key_type must be 'ec' or 'rsa', not {key_type!r}")


def _subject_alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """DNS and IP entries for ``DEFAULT_HOSTS`` and ``hosts``, deduplicated, wildcards skipped."""
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for raw in (*DEFAULT_HOSTS, *hosts):
        host = raw.strip().strip("[]")
        if not host:
            continue
        entry: x509.GeneralName
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            name = host.rstrip(".").lower().encode("idna").decode("ascii")
            key, entry = f"dns:{name}", x509.DNSName(name)
        else:
            if address.is_unspecified:
                continue
            key, entry = f"ip:{address}", x509.IPAddress(address)
        if key not in seen:
            seen.add(key)
            names.append(entry)
    return names


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def generate_tls_files(
    directory: str | os.PathLike[str] | None = None,
    hosts: Iterable[str] = (),
    key_type: KeyType = "ec",
) -> TlsFiles:
    """Write ``ca.pem``, ``cert.pem`` (leaf then CA) and ``key.pem`` (mode 0600) into ``directory``.

    ``directory`` defaults to a new ``tempfile.mkdtemp(prefix="ontap-sim-tls-")``; the caller
    removes it. ``hosts`` adds host names or IP addresses to the certificate's subjectAltName.
    """
    out = Path(tempfile.mkdtemp(prefix="ontap-sim-tls-") if directory is None else directory)
    out.mkdir(parents=True, exist_ok=True)
    not_before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    not_after = not_before + VALIDITY

    ca_key = _new_key(key_type)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = _new_key(key_type)
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_type == "rsa",
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_subject_alt_names(hosts)), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    files = TlsFiles(
        ca_file=str(out / "ca.pem"),
        cert_file=str(out / "cert.pem"),
        key_file=str(out / "key.pem"),
        directory=str(out),
    )
    Path(files.ca_file).write_bytes(ca_pem)
    Path(files.cert_file).write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write_private(
        Path(files.key_file),
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return files


def _no_pass_phrase() -> bytes:
    raise ValueError("the key is encrypted")


def _public_der(key: PublicKeyTypes) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def server_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ server context for ``certfile`` (PEM chain) and ``keyfile`` (PEM key; default:
    the key inside ``certfile``).

    Each file is checked first, so a bad one is a one-line ValueError naming it and the problem
    (missing, not a regular file, no PEM certificate or key, an encrypted key, a key that does
    not match the certificate) rather than OpenSSL's bare reason code, or a pass-phrase prompt.
    """
    cert_pem = read_input_file(certfile, "certificate file", MAX_PEM_BYTES)
    try:
        leaf = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise ValueError(f"certificate file {certfile} holds no PEM certificate") from None
    key_path = certfile if keyfile is None else keyfile
    key_pem = cert_pem if keyfile is None else read_input_file(keyfile, "key file", MAX_PEM_BYTES)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise ValueError(
            f"key file {key_path} is encrypted: ontap-sim cannot ask for a pass phrase; "
            "give it an unencrypted key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"key file {key_path} holds no PEM private key") from None
    if _public_der(key.public_key()) != _public_der(leaf.public_key()):
        raise ValueError(
            f"key file {key_path} does not match the certificate in {certfile} "
            "(the key of another certificate?)"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_pass_phrase)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ValueError(
            f"cannot serve certificate file {certfile} with key file {key_path}: {reason}"
        ) from None
    return context
