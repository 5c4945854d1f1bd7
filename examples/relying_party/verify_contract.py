"""Re-checking a kept, signed contract: the report a verifier needs, years after signing.

``examine`` reads the signed PDF with pyHanko and says what the file itself can prove:

- the PAdES baseline level (ETSI EN 319 142-1 §6): **B-B** needs the ``ETSI.CAdES.detached``
  sub-filter with a ``signingCertificateV2`` attribute; **B-T** adds a signature time-stamp
  (RFC 3161) by a time-stamping authority; **B-LT** adds the chain and revocation answers
  (OCSP or CRL) in the document security store (DSS); **B-LTA** adds a document time-stamp
  over all of that. A ``adbe.pkcs7.detached`` signature is none of these (PAdES part 2
  "basic": proves who signed and that nothing changed, while the certificate can still be
  checked);
- who signed (the holder's name from the signing certificate, its issuer and serial), when the
  signer's computer said it was signed, and when a time-stamping authority proves it existed;
- whether the signature covers the whole file and verifies with the trusted roots.

The validity check uses pyHanko's validator with the bank's roots and no network: for B-LT and
B-LTA the revocation answers in the file must show the certificate good at the time the
time-stamp proves (``hard-fail``); below B-LT the file holds no revocation data, so revocation
is not checked (``soft-fail``) and the report says that the bank's own check at signing (the
IdP's fresh OCSP answer) is all there is, and what a long-term signature would add.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .contract import holder_name

NONE, BASIC = "none", "PDF basic (adbe.pkcs7.detached)"
LEVELS = (NONE, BASIC, "PAdES B-B", "PAdES B-T", "PAdES B-LT", "PAdES B-LTA")


@dataclass
class Report:
    """What one signed contract proves, in facts a verifier can act on."""

    valid: bool = False
    reason: str = ""
    level: str = NONE
    sub_filter: str = ""
    signer_name: str | None = None
    signer_subject: str = ""
    issuer: str = ""
    serial: str = ""
    certificate_valid_until: str = ""
    signing_time: str | None = None
    """What the signer's side claimed (the signingTime attribute): not proof of time."""
    timestamp_time: str | None = None
    """When a time-stamping authority proves the signature existed (a signature time-stamp)."""
    timestamp_authority: str | None = None
    document_timestamps: list[dict] = field(default_factory=list)
    signing_certificate_attribute: bool = False
    dss_certificates: int = 0
    dss_ocsp_responses: int = 0
    dss_crls: int = 0
    whole_document: bool = False
    trusted_chain: bool = False
    revocation_checked: bool = False
    missing: list[str] = field(default_factory=list)
    """What the file lacks for a long-term (B-LTA) signature."""

    def record(self) -> dict:
        return asdict(self)


def load_roots(paths: Iterable[Path]) -> list[asn1_x509.Certificate]:
    """PEM or DER certificates (a PEM file may hold several)."""
    roots = []
    for path in paths:
        data = path.read_bytes()
        if pem.detect(data):
            roots += [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, True)]
        else:
            roots.append(asn1_x509.Certificate.load(data))
    return roots


def examine(pdf: bytes, roots: list[asn1_x509.Certificate]) -> Report:
    """The report of the contract's one signature, checked against ``roots``."""
    return _run(_examine(pdf, roots))


async def _examine(pdf: bytes, roots: list[asn1_x509.Certificate]) -> Report:
    report = Report()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_regular_signatures
        timestamps = reader.embedded_timestamp_signatures
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        report.reason = f"the file is not a readable PDF ({type(error).__name__})"
        return report
    if len(signatures) != 1:
        report.reason = f"a contract has exactly one signature; this file has {len(signatures)}"
        return report
    signature = signatures[0]
    _describe_signer(report, signature)
    _describe_dss(report, reader)
    report.level = _level(report, timestamps)
    report.missing = _missing(report)
    await _validate(report, signature, timestamps, reader, roots)
    return report


def _describe_signer(report: Report, signature: EmbeddedPdfSignature) -> None:
    report.sub_filter = str(signature.sig_object.get("/SubFilter", "")).lstrip("/")
    certificate = x509.load_der_x509_certificate(signature.signer_cert.dump())
    report.signer_name = holder_name(certificate)
    report.signer_subject = certificate.subject.rfc4514_string()
    report.issuer = certificate.issuer.rfc4514_string()
    report.serial = format(certificate.serial_number, "X")
    report.certificate_valid_until = certificate.not_valid_after_utc.isoformat()
    claimed = signature.self_reported_timestamp
    report.signing_time = claimed.isoformat() if claimed else None
    signed_attrs = signature.signer_info["signed_attrs"]
    report.signing_certificate_attribute = any(
        a["type"].native == "signing_certificate_v2" for a in signed_attrs or ()
    )
    stamped = _signature_timestamp(signature.signer_info)
    if stamped is not None:
        report.timestamp_time, report.timestamp_authority = stamped


def _signature_timestamp(signer_info) -> tuple[str, str] | None:
    """(time, the TSA's subject) of the signature time-stamp token (RFC 3161, in the
    unsigned attribute signature-time-stamp of RFC 3161 Appendix A), if there is one."""
    tokens = [
        value
        for attribute in signer_info["unsigned_attrs"] or ()
        if attribute["type"].native == "signature_time_stamp_token"
        for value in attribute["values"]
    ]
    if not tokens:
        return None
    signed = tokens[0]["content"]
    tst_info = signed["encap_content_info"]["content"].parsed
    sid = signed["signer_infos"][0]["sid"]
    tsa = "(its certificate is not in the token)"
    for choice in signed["certificates"] or ():
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number" and (
            cert.issuer == sid.chosen["issuer"]
            and cert.serial_number == sid.chosen["serial_number"].native
        ):
            tsa = x509.load_der_x509_certificate(cert.dump()).subject.rfc4514_string()
    return tst_info["gen_time"].native.isoformat(), tsa


def _describe_dss(report: Report, reader: PdfFileReader) -> None:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return
    report.dss_certificates = len(dss.certs)
    report.dss_ocsp_responses = len(dss.ocsps)
    report.dss_crls = len(dss.crls)


def _level(report: Report, timestamps: list[EmbeddedPdfSignature]) -> str:
    if report.sub_filter != "ETSI.CAdES.detached":
        return BASIC if report.sub_filter == "adbe.pkcs7.detached" else NONE
    if not report.signing_certificate_attribute:
        return NONE
    if report.timestamp_time is None:
        return LEVELS[2]
    if not (report.dss_ocsp_responses or report.dss_crls):
        return LEVELS[3]
    return LEVELS[5] if timestamps else LEVELS[4]


def _missing(report: Report) -> list[str]:
    missing = []
    if report.sub_filter != "ETSI.CAdES.detached":
        missing.append("the ETSI.CAdES.detached sub-filter (PAdES baseline)")
    if not report.signing_certificate_attribute:
        missing.append("a signingCertificateV2 attribute binding the certificate")
    if report.timestamp_time is None:
        missing.append("a signature time-stamp proving when it was signed")
    if not (report.dss_ocsp_responses or report.dss_crls):
        missing.append("revocation data (OCSP or CRL) in the document security store")
    if report.level != LEVELS[5]:
        missing.append("a document time-stamp over the validation data")
    return missing


async def _validate(report, signature, timestamps, reader, roots) -> None:
    long_term = report.level in LEVELS[4:]
    moment = dt.datetime.fromisoformat(report.timestamp_time) if report.timestamp_time else None
    try:
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(
            _context_kwargs(roots, long_term, moment)
        )
    except NoDSSFoundError:
        context = ValidationContext(**_context_kwargs(roots, long_term, moment))
    timestamp_context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = await async_validate_pdf_signature(signature, context, timestamp_context)
    except (SignatureValidationError, ValueError) as error:
        report.reason = f"the signature could not be validated: {error}"
        return
    report.whole_document = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION and _only_ltv_after(status)
    )
    report.trusted_chain = status.trusted
    report.revocation_checked = long_term and status.trusted
    report.valid, report.reason = _verdict(report, status)
    for timestamp in timestamps:
        ts_status = await async_validate_pdf_timestamp(timestamp, timestamp_context)
        good = ts_status.intact and ts_status.valid and ts_status.trusted
        report.document_timestamps.append({"time": ts_status.timestamp.isoformat(), "valid": good})
        if not good:
            report.valid, report.reason = False, "a document time-stamp does not verify"


def _context_kwargs(roots, long_term: bool, moment: dt.datetime | None) -> dict:
    kwargs = {
        "trust_roots": roots,
        "allow_fetching": False,
        "revocation_mode": "hard-fail" if long_term else "soft-fail",
    }
    if long_term and moment is not None:
        kwargs |= {"moment": moment, "retroactive_revinfo": True}
    return kwargs


def _only_ltv_after(status) -> bool:
    """What follows the signature's revision only adds validation data (DSS, time-stamps)."""
    level = getattr(status, "modification_level", None)
    return level is not None and level.name in ("NONE", "LTA_UPDATES")


def _verdict(report: Report, status) -> tuple[bool, str]:
    if not status.intact:
        return False, "the contract was changed after it was signed (the digest does not match)"
    if not status.valid:
        return False, "the signature value does not verify with the signer's certificate"
    if not report.whole_document:
        return False, "the signature does not cover the whole file"
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid and stamp.trusted):
        return False, "the signature time-stamp does not verify, or its authority is not trusted"
    if status.revoked:
        return False, "the signer's certificate was revoked when it signed"
    if not status.trusted:
        problem = getattr(status.trust_problem_indic, "name", "")
        return False, (
            "the signer's certificate does not chain to a trusted root, or its status could not"
            f" be established from the file ({problem or 'untrusted'})"
        )
    if report.revocation_checked:
        return True, "valid: unchanged, signed by this certificate, good at the time-stamped time"
    return True, (
        "valid today: unchanged and signed by this certificate, which chains to a trusted root; "
        "its revocation status is not in the file"
    )


def _run(work):
    """pyHanko's validator is async; a caller may already run an event loop (a test driving a
    browser), where ``asyncio.run`` refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def as_text(report: Report) -> str:
    """The report as a verifier reads it (English, one fact a line)."""
    lines = [
        f"Result: {'VALID' if report.valid else 'INVALID'} - {report.reason}",
        f"PAdES level: {report.level}",
        f"Sub-filter: {report.sub_filter or '-'}",
        f"Signer: {report.signer_name or '-'}",
        f"Signer certificate: {report.signer_subject or '-'}",
        f"Issuer: {report.issuer or '-'}",
        f"Serial: {report.serial or '-'}",
        f"Certificate valid until: {report.certificate_valid_until or '-'}",
        f"Signing time (claimed by the signer): {report.signing_time or '-'}",
        f"Signature time-stamp: {report.timestamp_time or 'none'}",
        f"Time-stamping authority: {report.timestamp_authority or 'none'}",
        f"Document time-stamps: {len(report.document_timestamps)}"
        + "".join(f"\n  {t['time']} valid={t['valid']}" for t in report.document_timestamps),
        "Revocation data embedded: "
        + (
            f"{report.dss_ocsp_responses} OCSP, {report.dss_crls} CRL, "
            f"{report.dss_certificates} certificates in the DSS"
            if report.dss_ocsp_responses or report.dss_crls or report.dss_certificates
            else "none"
        ),
        f"Whole document covered: {'yes' if report.whole_document else 'no'}",
        f"Chain to a trusted root: {'yes' if report.trusted_chain else 'no'}",
        f"Revocation checked from the file: {'yes' if report.revocation_checked else 'no'}",
    ]
    if report.missing:
        lines.append("Missing for a long-term (B-LTA) signature:")
        lines += [f"  - {item}" for item in report.missing]
    return "\n".join(lines)
