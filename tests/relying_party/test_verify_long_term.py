"""``verify-contract`` on long-term signatures as PAdES makes them (ETSI EN 319 142-1): the bank's
contract signed with a sandbox card's signing key by pyHanko, with the sandbox's RFC 3161
time-stamping authority and the sandbox's OCSP answers. B-T is valid today and says it lacks
revocation data; B-LTA names the authority, counts the embedded answers, and still validates
after the signing certificate has been revoked (affiliationChanged, as after a move), because
the file proves it was good at the time-stamped time."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal

import pytest
from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext

from examples.relying_party import contract, contract_pdf
from idp.documents import coroutines
from sandbox import tsa
from sandbox.citizens import SAMPLE_CITIZENS
from sandbox.profiles import CertKind

TERMS = contract.Terms(
    "山田\u3000花子", 30_000_000, 35, Decimal("1.80"), 96_327, "SB-LONGTERM",
    "東京都清瀬市中里五丁目八四二番地", "2026-12-08",
)  # fmt: skip


def _asn1(certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _roots(world):
    return world.state.root / "ca" / "sign" / "ca.pem", tsa.trust_file(world.state)


def _sign(world, card_id: str, *, long_term: bool) -> bytes:
    """The contract signed as PAdES B-T, or B-LTA (chain, OCSP answers, document time-stamp)."""
    state = world.state
    key = state.private_key(card_id, CertKind.SIGN)
    der_key = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(state.certificate(card_id, CertKind.SIGN)),
        signing_key=keys.PrivateKeyInfo.load(der_key),
        cert_registry=None,
    )
    roots = [asn1_x509.Certificate.load(_der(path.read_bytes())) for path in _roots(world)]
    meta = signers.PdfSignatureMetadata(
        field_name=contract_pdf.SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        use_pades_lta=long_term,
        # the sandbox's answers are made when asked, after the signing time pyHanko fixed
        validation_context=ValidationContext(
            trust_roots=roots, allow_fetching=True, retroactive_revinfo=True
        ),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(contract_pdf.render(TERMS)))
    stamper = HTTPTimeStamper(tsa.tsa_url(state.endpoints.base_url))
    # pyHanko's sync sign_pdf calls asyncio.run, which refuses on a thread where an earlier
    # browser test's Playwright loop runs (the full suite): the IdP's own runner handles both
    signed = coroutines.run(
        signers.async_sign_pdf(writer, meta, signer=signer, timestamper=stamper)
    )
    return signed.getvalue()


def _der(data: bytes) -> bytes:
    from asn1crypto import pem

    return pem.unarmor(data)[2] if pem.detect(data) else data


def _verify(world, pdf: bytes, tmp_path, roots=None) -> tuple[int, dict]:
    path = tmp_path / "contract.pdf"
    path.write_bytes(pdf)
    command = [sys.executable, "-m", "examples.relying_party", "verify-contract", str(path),
               "--json"]  # fmt: skip
    for root in roots or _roots(world):
        command += ["--root", str(root)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def card_id(world) -> str:
    """A card of its own: this module revokes its signing certificate."""
    return world.state.issue_card(SAMPLE_CITIZENS[1], "1234", "XYZ789").id


def test_a_b_t_signature_is_valid_today_and_lacks_revocation_data(world, card_id, tmp_path):
    status, report = _verify(world, _sign(world, card_id, long_term=False), tmp_path)
    assert status == 0, report
    assert report["level"] == "PAdES B-T"
    assert report["valid"] is True
    assert report["signing_certificate_attribute"] is True
    assert tsa.TSA_NAME_TEXT in report["timestamp_authority"]
    assert report["timestamp_time"]
    assert report["revocation_checked"] is False
    assert any("revocation data" in item for item in report["missing"])


def test_a_time_stamp_by_an_authority_not_trusted_makes_it_invalid(world, card_id, tmp_path):
    signing_root_only = _roots(world)[:1]
    signed = _sign(world, card_id, long_term=False)
    status, report = _verify(world, signed, tmp_path, roots=signing_root_only)
    assert status == 1, report
    assert report["reason"].startswith("the signature time-stamp does not verify")


def test_a_b_lta_signature_stays_valid_after_the_certificate_is_revoked(world, card_id, tmp_path):
    signed = _sign(world, card_id, long_term=True)
    status, report = _verify(world, signed, tmp_path)
    assert status == 0, report
    assert report["level"] == "PAdES B-LTA"
    assert report["dss_ocsp_responses"] + report["dss_crls"] >= 1
    assert len(report["document_timestamps"]) == 1
    assert report["document_timestamps"][0]["valid"]
    assert report["revocation_checked"] is True
    assert report["whole_document"] is True
    assert report["missing"] == []

    world.state.revoke(card_id, CertKind.SIGN, "affiliationChanged")  # the borrower moved
    status, report = _verify(world, signed, tmp_path)
    assert status == 0, report  # good when it was signed, which the file itself proves
    assert report["valid"] is True
    assert report["level"] == "PAdES B-LTA"
