"""Helpers of the OCSP, CRL and server suites: openssl as a second opinion, signature checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp


def openssl(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run openssl; stdout and stderr together in ``.stdout`` (it scatters verdicts over both)."""
    return subprocess.run(
        ["openssl", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def crl_verifies(crl_der: bytes, ca_pem: Path, tmp: Path) -> bool:
    """``openssl crl -verify``: it exits 0 on a bad signature too, so read its verdict."""
    path = tmp / "check.crl"
    path.write_bytes(crl_der)
    result = openssl("crl", "-inform", "DER", "-in", path, "-CAfile", ca_pem, "-verify", "-noout")
    return result.returncode == 0 and "verify OK" in result.stdout


def ocsp_signed_by(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    """Whether ``certificate``'s key made the response's signature."""
    try:
        certificate.public_key().verify(  # type: ignore[call-arg]
            response.signature,
            response.tbs_response_bytes,
            padding.PKCS1v15(),  # type: ignore[arg-type]
            response.signature_hash_algorithm,  # type: ignore[arg-type]
        )
    except Exception:  # any failure means "not signed by it"
        return False
    return True


def nonce_of(response: ocsp.OCSPResponse) -> bytes | None:
    try:
        return response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
