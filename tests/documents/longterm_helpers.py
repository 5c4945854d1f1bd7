"""Validating PAdES signatures as a verifier would, years later: pyHanko's AdES validation
(ETSI EN 319 102-1) with the sandbox's roots, and poppler's ``pdfsig`` with an NSS database
holding them."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation, simulate_future_ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager


def roots_of(*files: Path) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(pem.unarmor(f.read_bytes())[2]) for f in files]


def spec(roots: list[asn1_x509.Certificate], *, fetch: bool) -> PdfSignatureValidationSpec:
    """Revocation is checked wherever a certificate declares where (AIA, CRL DP): the card's
    and the TSA's certificates do. ``fetch``: ask the services now, else only the PDF's DSS."""
    rule = RevocationCheckingRule.CHECK_IF_DECLARED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
    )
    fetching = (
        RevinfoOnlineFetchingRule.ALWAYS_FETCH if fetch else RevinfoOnlineFetchingRule.LOCAL_ONLY
    )
    gathering = RevocationInfoGatheringSpec(online_fetching_rule=fetching)
    return PdfSignatureValidationSpec(SignatureValidationSpec(policy, gathering))


def lta_validation(pdf: bytes, roots, when: dt.datetime, *, fetch: bool = False):
    """EN 319 102-1 §5.6.3 validation of the document's one signature as of ``when``."""
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0]
    timing = ValidationTimingInfo(when, when, point_in_time_validation=True)
    return asyncio.run(ades_lta_validation(signature, spec(roots, fetch=fetch), timing))


def future_validation(pdf: bytes, roots, when: dt.datetime):
    """pyHanko's simulation of a validation at ``when`` with only what the PDF holds, the
    archive timestamps being renewed in time (its check that a file is LTA-maintainable)."""
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0]
    return asyncio.run(
        simulate_future_ades_lta_validation(signature, spec(roots, fetch=False), when)
    )


def dss_validation(pdf: bytes, roots):
    """pyHanko's validation now with no fetching: only the certificates, OCSP answers and CRLs
    the PDF's DSS holds, revocation required (what B-LT promises)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    return validate_pdf_signature(reader.embedded_regular_signatures[0], context)


def pdfsig(pdf: bytes, roots: list[Path], tmp: Path) -> str:
    """``pdfsig`` of ``pdf`` with an NSS database trusting ``roots``; its report."""
    nss = tmp / "nss"
    nss.mkdir(exist_ok=True)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    for i, root in enumerate(roots):
        add = ["certutil", "-A", "-n", f"root{i}", "-t", "CT,C,C", "-i", str(root)]
        subprocess.run([*add, "-d", f"sql:{nss}"], check=True, capture_output=True, timeout=60)
    (tmp / "signed.pdf").write_bytes(pdf)
    report = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(tmp / "signed.pdf")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    return report.stdout + report.stderr
