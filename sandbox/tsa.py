"""The sandbox's RFC 3161 time-stamping authority: its own root and TSA certificate, the answers.

A PAdES signature of level B-T or above carries a timestamp token from a TSA the verifier trusts
(ETSI EN 319 142-1 §5.4), and B-LTA adds document timestamps. The sandbox's TSA is separate from
the J-LIS-like CAs, as a real one is::

    STATE/tsa/root.pem, root.key.pem        the sandbox TSA root (20 years)
    STATE/tsa/tsa.pem, tsa.key.pem          the TSA certificate (12 years, EKU timeStamping)
    STATE/trust/tsa/jpki-test-tsa-root.pem  what the IdP's ``[documents] tsa_trust`` points at

Made on first use (:func:`authority`), so a state created before the TSA existed gains one. The
TSA certificate's CRL distribution point is ``BASE/crl/tsa.crl`` (an empty CRL from the TSA
root), so a verifier can establish its status and the IdP can embed it (B-LT). Served by
:mod:`sandbox.revocation_app` at ``POST BASE/tsa``; the token itself is made by pyHanko's
``DummyTimeStamper``, the same code a pyHanko test TSA runs.

Misbehaviours (:data:`MODES`, set with ``POST /_sandbox/tsa {"mode": …}``): ``down``,
``http_500``, ``garbage``, ``rejection`` (status ``rejection``), ``wrong_digest`` (a token for
another message imprint), ``untrusted`` (signed by an impostor TSA under another root).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from sandbox import pki
from sandbox.state import SandboxState, key_pem, load_issuer, pem, write_atomic

ROOT_YEARS = 20
TSA_YEARS = 12
"""Longer than a signing certificate's five years, so tests can move the clock past its
expiry and still have a TSA certificate valid for the document timestamps."""
MODES = ("normal", "down", "http_500", "garbage", "rejection", "wrong_digest", "untrusted")
TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"


@dataclass(frozen=True)
class TimeStampingAuthority:
    root: pki.Issuer
    tsa: pki.Issuer

    def stamper(self) -> DummyTimeStamper:
        return DummyTimeStamper(
            tsa_cert=_asn1_cert(self.tsa.certificate),
            tsa_key=_asn1_key(self.tsa.key),  # type: ignore[arg-type]
            certs_to_embed=[_asn1_cert(self.root.certificate)],
        )

    def respond(self, query: bytes, mode: str = "normal") -> bytes:
        """The DER TimeStampResp for a DER TimeStampReq (RFC 3161 §2.4)."""
        request = tsp.TimeStampReq.load(query)
        request.native  # noqa: B018 - parses everything now: garbage is a ValueError here
        if mode == "rejection":
            status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": {"bad_request"}})
            inner = status.dump()  # asn1crypto insists on a token: the SEQUENCE by hand
            return b"\x30" + bytes([len(inner)]) + inner
        if mode == "wrong_digest":
            imprint = request["message_imprint"]
            other = hashlib.sha256(imprint["hashed_message"].native + b"other").digest()
            request = tsp.TimeStampReq(
                {
                    "version": "v1",
                    "message_imprint": {
                        "hash_algorithm": imprint["hash_algorithm"],
                        "hashed_message": other,
                    },
                    "nonce": request["nonce"],
                    "cert_req": True,
                }
            )
        stamper = impostor().stamper() if mode == "untrusted" else self.stamper()
        return stamper.request_tsa_response(request).dump()

    def crl(self, now: dt.datetime | None = None) -> bytes:
        """An empty CRL from the TSA root: the TSA certificate is good."""
        now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root.certificate.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=1))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        )
        crl = builder.sign(self.root.key, hashes.SHA256())  # type: ignore[arg-type]
        return crl.public_bytes(serialization.Encoding.DER)


TSA_NAME_TEXT = "JPKI-TEST Sandbox Time-Stamping Authority"
_made = threading.Lock()
_impostor: TimeStampingAuthority | None = None


def authority(state: SandboxState) -> TimeStampingAuthority:
    """The state's TSA, made on first use."""
    folder = state.root / "tsa"
    folder.mkdir(parents=True, exist_ok=True)
    with _made, (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "tsa.pem").is_file():
            made = make(crl_url(state.endpoints.base_url))
            write_atomic(folder / "root.pem", pem(made.root.certificate))
            write_atomic(folder / "root.key.pem", key_pem(made.root.key), 0o600)  # type: ignore[arg-type]
            write_atomic(folder / "tsa.key.pem", key_pem(made.tsa.key), 0o600)  # type: ignore[arg-type]
            write_atomic(folder / "tsa.pem", pem(made.tsa.certificate))
            trust = state.root / "trust" / "tsa" / "jpki-test-tsa-root.pem"
            write_atomic(trust, pem(made.root.certificate))
    return TimeStampingAuthority(
        load_issuer(folder / "root.pem", folder / "root.key.pem"),
        load_issuer(folder / "tsa.pem", folder / "tsa.key.pem"),
    )


def trust_file(state: SandboxState) -> Path:
    """The TSA root, as the IdP's ``[documents] tsa_trust`` names it."""
    authority(state)
    return state.root / "trust" / "tsa" / "jpki-test-tsa-root.pem"


def crl_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/crl/tsa.crl"


def tsa_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/tsa"


def impostor() -> TimeStampingAuthority:
    """A TSA with the same names under another root (``untrusted``): made once per process."""
    global _impostor
    with _made:
        if _impostor is None:
            _impostor = make(None)
        return _impostor


def make(crl: str | None, now: dt.datetime | None = None) -> TimeStampingAuthority:
    now = now or dt.datetime.now(dt.UTC)
    root_key, tsa_key = pki.new_key(), pki.new_key()
    root_name, tsa_name = _name("JPKI-TEST Sandbox TSA Root"), _name(TSA_NAME_TEXT)
    ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root_cert = (
        _builder(root_name, root_name, root_key, now, ROOT_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )
    builder = (
        _builder(tsa_name, root_name, tsa_key, now, TSA_YEARS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    if crl is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    tsa_cert = builder.sign(root_key, hashes.SHA256())
    return TimeStampingAuthority(pki.Issuer(root_key, root_cert), pki.Issuer(tsa_key, tsa_cert))


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, now: dt.datetime, years: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: rsa.RSAPrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
