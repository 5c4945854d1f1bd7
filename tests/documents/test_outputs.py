"""The signatures a service receives verify with independent tools: ``openssl cms -verify``
against the sandbox signing CA for the detached CMS, and pyHanko's validator for the PDF."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sandbox.profiles import CertKind
from tests.documents.conftest import CONTRACT, open_review, sample_pdf


def openssl_verify(
    container: bytes, content: bytes, ca: Path, tmp: Path
) -> subprocess.CompletedProcess:
    """``openssl cms -verify -binary`` of a detached DER signature over ``content``.

    No ``-purpose any``: the JPKI signing certificate passes OpenSSL's default S/MIME signing
    purpose check (digitalSignature/nonRepudiation key usage, no conflicting extended usage)."""
    (tmp / "sig.der").write_bytes(container)
    (tmp / "doc.bin").write_bytes(content)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
               "-in", str(tmp / "sig.der"), "-content", str(tmp / "doc.bin"),
               "-CAfile", str(ca), "-out", "/dev/null"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def _signed(bank, world, **changes) -> tuple[dict, dict]:
    answer = bank.document(**changes)
    response = open_review(bank.rp.http, answer["document_id"]).sign(world.good)
    assert response.status_code == 303, response.get_data(as_text=True)
    status = bank.status(answer["document_id"])
    assert status.json["status"] == "signed"
    return answer, status.json


def _root(world, kind: CertKind) -> Path:
    return world.state.root / "ca" / kind.value / "ca.pem"


def test_the_detached_cms_verifies_with_openssl_against_the_signing_ca(bank, world, tmp_path):
    _, status = _signed(bank, world)
    container = base64.b64decode(status["cms"])
    verified = openssl_verify(container, CONTRACT, world.signing_root, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr


def test_a_changed_document_does_not_verify(bank, world, tmp_path):
    _, status = _signed(bank, world)
    container = base64.b64decode(status["cms"])
    changed = CONTRACT.replace(b"35", b"45")
    assert openssl_verify(container, changed, world.signing_root, tmp_path).returncode != 0


def test_the_cms_does_not_verify_against_another_ca(bank, world, tmp_path):
    _, status = _signed(bank, world)
    container = base64.b64decode(status["cms"])
    other = _root(world, CertKind.AUTH)
    assert openssl_verify(container, CONTRACT, other, tmp_path).returncode != 0


def test_the_cms_carries_signing_time_the_digest_and_the_signers_certificate(bank, world):
    _answer, status = _signed(bank, world)
    signed_data = cms.ContentInfo.load(base64.b64decode(status["cms"]))["content"]
    assert signed_data["encap_content_info"]["content"].native is None  # detached
    attributes = {a["type"].native: a["values"][0].native
                  for a in signed_data["signer_infos"][0]["signed_attrs"]}  # fmt: skip
    assert attributes["message_digest"] == hashlib.sha256(CONTRACT).digest()
    assert attributes["content_type"] == "data"
    assert abs(attributes["signing_time"].timestamp() - status["signed_at"]) < 600
    certificate = x509.load_pem_x509_certificate(status["signer_certificate"].encode())
    assert certificate == world.good.certificate
    embedded = signed_data["certificates"][0].chosen
    assert embedded.dump() == world.good.certificate.public_bytes(serialization.Encoding.DER)


def _validation_context(root: Path) -> ValidationContext:
    anchor = x509.load_pem_x509_certificate(root.read_bytes())
    der = anchor.public_bytes(serialization.Encoding.DER)
    return ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)], allow_fetching=True)


def test_the_signed_pdf_validates_with_pyhanko(bank, world):
    pdf = sample_pdf()
    answer, status = _signed(bank, world, digest=None, pdf=base64.b64encode(pdf).decode())
    response = bank.status(answer["document_id"], "/signed.pdf")
    assert (response.status_code, response.mimetype) == (200, "application/pdf")
    signed = response.data
    assert signed.startswith(pdf)  # an incremental update: the submitted bytes are untouched
    reader = PdfFileReader(io.BytesIO(signed))
    (signature,) = reader.embedded_signatures
    result = validate_pdf_signature(signature, _validation_context(world.signing_root))
    assert result.intact
    assert result.valid
    assert result.trusted
    assert result.bottom_line
    assert result.coverage.name == "ENTIRE_FILE"
    assert result.signing_cert.dump() == world.good.certificate.public_bytes(
        serialization.Encoding.DER
    )
    embedded = cms.ContentInfo.load(base64.b64decode(status["cms"]))["content"]
    assert embedded.dump() == signature.signed_data.dump()  # ``cms`` is the PDF's own


def test_the_signed_pdf_is_untrusted_under_another_root(bank, world):
    pdf = sample_pdf()
    answer, _ = _signed(bank, world, digest=None, pdf=base64.b64encode(pdf).decode())
    signed = bank.status(answer["document_id"], "/signed.pdf").data
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    result = validate_pdf_signature(signature, _validation_context(_root(world, CertKind.AUTH)))
    assert result.intact
    assert not result.trusted
    assert not result.bottom_line


def test_a_pdf_changed_after_signing_is_not_intact(bank, world):
    pdf = sample_pdf()
    answer, _ = _signed(bank, world, digest=None, pdf=base64.b64encode(pdf).decode())
    signed = bytearray(bank.status(answer["document_id"], "/signed.pdf").data)
    at = signed.index(b"Loan contract")
    signed[at : at + 4] = b"LOAN"
    (signature,) = PdfFileReader(io.BytesIO(bytes(signed))).embedded_signatures
    result = validate_pdf_signature(signature, _validation_context(world.signing_root))
    assert not result.intact
    assert not result.bottom_line


def test_the_pdf_cms_verifies_with_openssl_over_the_byte_range(bank, world, tmp_path):
    pdf = sample_pdf()
    answer, status = _signed(bank, world, digest=None, pdf=base64.b64encode(pdf).decode())
    signed = bank.status(answer["document_id"], "/signed.pdf").data
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    start1, length1, start2, length2 = (int(n) for n in signature.sig_object["/ByteRange"])
    covered = signed[start1 : start1 + length1] + signed[start2 : start2 + length2]
    container = base64.b64decode(status["cms"])
    verified = openssl_verify(container, covered, world.signing_root, tmp_path)
    assert verified.returncode == 0, verified.stderr
