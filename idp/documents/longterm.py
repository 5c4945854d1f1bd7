"""PAdES baseline levels (ETSI EN 319 142-1 §6): what the IdP adds after the card has signed.

- **B-B**: the CMS around the card's signature (pyHanko's ``ExternalSigner`` packages it with
  the signed attributes the IdP fixed before the card signed).
- **B-T**: plus a signature timestamp (RFC 3161 token over the signature value, an unsigned
  attribute), from the configured TSA: proof that the signature existed at that time.
- **B-LT**: plus, in the PDF's document security store (DSS), the certificates and revocation
  answers (OCSP or CRL) a verifier needs for the signer's and the TSA's chains, fetched now
  from the certificates' AIA and CRL distribution points (pyHanko's ``add_validation_info``).
- **B-LTA**: plus a document timestamp over all of that, renewable before its TSA certificate
  or algorithm weakens (``idp documents timestamp``).

Every step that needs the TSA or revocation data fails closed: a document is never delivered
at a lower level than its client asked for (``LevelUnavailable``).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from enum import StrEnum

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import ExternalSigner
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.validation import async_add_validation_info
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from ..oidc.clients import PADES_LEVELS
from ..services import Service
from .timestamps import TIMEOUT, CheckedTimeStamper, TimestampUnavailable


class Level(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    def at_least(self, other: Level) -> bool:
        order = list(Level)
        return order.index(self) >= order.index(other)


LEVELS = PADES_LEVELS
DEFAULT = Level.B_LT
"""A client that registered no ``pades_level`` gets this where the IdP has a TSA, else B-B."""
METADATA = "pades_level"
"""The client metadata member that chooses the level of its documents."""


class LevelUnavailable(Exception):
    """The level the client asked for cannot be made now; nothing is delivered. ``reason`` as
    ``TimestampUnavailable``'s, or ``revocation_unavailable``, or ``no_tsa``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class LongTerm:
    """The app's means for B-T and above: its TSA, and the roots a verifier starts from."""

    tsa_url: str
    tsa_roots: list[asn1_x509.Certificate]
    signing_roots: list[asn1_x509.Certificate] = field(default_factory=list)
    timeout: float = TIMEOUT

    def timestamper(self) -> CheckedTimeStamper:
        return CheckedTimeStamper(self.tsa_url, self.tsa_roots, self.timeout)

    def context(self) -> ValidationContext:
        """Validation now, fetching revocation data (for the DSS) and requiring it."""
        return ValidationContext(
            trust_roots=[*self.signing_roots, *self.tsa_roots],
            allow_fetching=True,
            revocation_mode="require",
            fetcher_backend=RequestsFetcherBackend(per_request_timeout=self.timeout),
            time_tolerance=TOLERANCE,
        )


TOLERANCE = dt.timedelta(minutes=2)
"""How far an OCSP answer or CRL fetched for the DSS may be dated after the moment the
validation started (pyHanko's default, one second, refuses answers fetched a little later)."""

LONG_TERM: Service[LongTerm | None] = Service("long-term signatures", default=lambda: None)
"""None without ``[documents] tsa_url``: then only B-B can be made."""


def level_for(metadata: dict, long_term: LongTerm | None) -> Level:
    """The level a client's documents get: its ``pades_level``, else the default."""
    chosen = metadata.get(METADATA)
    if chosen in LEVELS:
        return Level(chosen)
    return DEFAULT if long_term is not None else Level.B_B


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


async def signature_container(
    attributes: cms.CMSAttributes,
    certificate: x509.Certificate,
    signature: bytes,
    level: Level,
    long_term: LongTerm | None,
) -> cms.ContentInfo:
    """The SignedData around the card's ``signature`` over ``attributes``; with a signature
    timestamp from the TSA for B-T and above."""
    mechanism = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    signer = ExternalSigner(
        asn1_certificate(certificate), None, signature_value=signature,
        signature_mechanism=mechanism,
    )  # fmt: skip
    timestamper = _needs_tsa(level, long_term).timestamper() if level != Level.B_B else None
    try:
        return await signer.async_sign_prescribed_attributes(
            "sha256", attributes, timestamper=timestamper
        )
    except TimestampUnavailable as error:
        raise LevelUnavailable(error.reason, error.detail) from None


async def extend(pdf: bytes, level: Level, long_term: LongTerm | None) -> bytes:
    """The signed PDF raised to ``level``: DSS (B-LT), then a document timestamp (B-LTA)."""
    if not level.at_least(Level.B_LT):
        return pdf
    long_term = _needs_tsa(level, long_term)
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures
    output = io.BytesIO()
    try:
        await async_add_validation_info(signature, long_term.context(), output=output)
    except TimestampUnavailable as error:
        raise LevelUnavailable(error.reason, error.detail) from None
    except Exception as error:  # pyHanko's validation errors have no common base
        raise _no_revocation_data(error) from None
    _require_revocation_data(output.getvalue())
    if level == Level.B_LTA:
        return await document_timestamp(output.getvalue(), long_term)
    return output.getvalue()


async def document_timestamp(pdf: bytes, long_term: LongTerm) -> bytes:
    """A new document timestamp (B-LTA), after the DSS gains what the last timestamp needs."""
    stamper = PdfTimeStamper(long_term.timestamper())
    reader = PdfFileReader(io.BytesIO(pdf))
    output = io.BytesIO()
    try:
        if reader.embedded_timestamp_signatures:
            await stamper.async_update_archival_timestamp_chain(
                reader, long_term.context(), in_place=False, output=output
            )
        else:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            await stamper.async_timestamp_pdf(writer, "sha256", long_term.context(), output=output)
    except TimestampUnavailable as error:
        raise LevelUnavailable(error.reason, error.detail) from None
    except Exception as error:  # pyHanko's validation errors have no common base
        raise _no_revocation_data(error) from None
    return output.getvalue()


def timestamps_in(pdf: bytes) -> int:
    """How many document timestamps ``pdf`` carries (B-LTA: one per renewal)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    if not reader.embedded_regular_signatures:
        raise ValueError("no signature")
    return len(reader.embedded_timestamp_signatures)


def _no_revocation_data(error: Exception) -> LevelUnavailable:
    return LevelUnavailable("revocation_unavailable", f"{type(error).__name__}: {error}")


def _needs_tsa(level: Level, long_term: LongTerm | None) -> LongTerm:
    if long_term is None:
        raise LevelUnavailable("no_tsa", f"{level} needs a time-stamping authority (tsa_url)")
    return long_term


def _require_revocation_data(pdf: bytes) -> None:
    """B-LT means revocation answers in the DSS: refuse a store without any."""
    root = PdfFileReader(io.BytesIO(pdf)).root
    dss = root.get("/DSS")
    dss = dss.get_object() if dss is not None else None
    if dss is None or not (dss.get("/OCSPs") or dss.get("/CRLs")):
        raise LevelUnavailable("revocation_unavailable", "no OCSP answer or CRL for the DSS")
