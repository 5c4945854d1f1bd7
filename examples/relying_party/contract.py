"""The loan contract's terms, and the check of the signature the IdP returns.

The PDF itself is made by ``contract_pdf`` (Japanese, with the borrower's verified name and
address). The IdP returns a detached CMS SignedData (RFC 5652) made by the citizen's signing
certificate. The bank checks it itself rather than trusting the IdP's word: ``contentType``
must be ``data``, the signature over the DER of the signed attributes must verify with the
certificate in the CMS, which must be the ``signer_certificate`` the IdP reported, and
``messageDigest`` must be the SHA-256 of what was signed. For a submitted digest that is the
document itself; for a submitted PDF the IdP signs it as a PDF signature (PAdES), so what was
signed is the signed PDF's /ByteRange, and ``verify_signed_pdf`` also checks that the signed PDF
is our PDF unchanged plus the signature, and that it embeds this very CMS.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import asdict, dataclass
from decimal import Decimal

from asn1crypto import cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.validation.status import SignatureCoverageLevel

JPKI_NAME = x509.ObjectIdentifier("1.2.392.200149.8.5.5.1")
"""The holder's name in a JPKI signing certificate's subjectAltName (an otherName holding a
UTF8String: family name, U+3000, given name; docs/jpki.md §2)."""
JLIS_UNIT = "Japan Agency for Local Authority Information Systems"
"""The OU that names J-LIS in its CAs' DNs; ``O=JPKI`` is the real service, anything else a
test CA (the sandbox says ``O=JPKI-TEST``)."""


class SignatureRefused(Exception):
    """The returned signature does not prove that the citizen signed this contract."""


@dataclass(frozen=True)
class Terms:
    applicant: str
    """The verified name, as the IdP released it (``verified_claims``)."""
    amount: int
    years: int
    rate_percent: Decimal
    """Per year, in percent: ``Decimal("1.80")``."""
    monthly_payment: int
    reference: str
    address: str = ""
    """The verified address (its ``formatted`` form)."""
    dated: str = ""
    """The contract's date in Japan, ISO 8601 (empty: the day it is made)."""

    def record(self) -> dict:
        """As the bank stores it: JSON, the rate as its exact decimal string."""
        return {**asdict(self), "rate_percent": str(self.rate_percent)}


def digest_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VerifiedSignature:
    signer: str
    """The signer certificate's subject, RFC 4514 (kept for the record)."""
    serial: str
    issuer: str
    signing_time: str | None
    signer_name: str | None = None
    """The holder's name from the certificate's subjectAltName: who signed, in words."""
    issuer_jlis: bool = False
    """The certificate was issued by a J-LIS CA (its OU names J-LIS)."""
    issuer_test: bool = False
    """... by a test CA of that shape, not the real service (``O`` is not ``JPKI``)."""


def holder_name(certificate: x509.Certificate) -> str | None:
    """The name J-LIS wrote in the signing certificate (exactly one UTF8String), else None."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = [o.value for o in san.get_values_for_type(x509.OtherName) if o.type_id == JPKI_NAME]
    if len(names) != 1:
        return None
    try:
        name = core.UTF8String.load(names[0], strict=True).native
    except (ValueError, TypeError):
        return None
    return name if isinstance(name, str) and name.strip() else None


def _issuer_facts(certificate: x509.Certificate) -> tuple[bool, bool]:
    """(issued by J-LIS, by a test CA of J-LIS's shape) from the issuer's O and OUs."""
    issuer = certificate.issuer
    units = [a.value for a in issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)]
    organizations = [a.value for a in issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
    jlis = JLIS_UNIT in units
    return jlis, jlis and organizations != ["JPKI"]


def _attribute(signed_attrs: cms.CMSAttributes, name: str):
    values = [a["values"] for a in signed_attrs if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        raise SignatureRefused(f"the signed attributes must hold exactly one {name}")
    return values[0][0]


def verify_signed_pdf(
    signed_pdf: bytes, original: bytes, cms_der: bytes, signer_certificate_pem: str
) -> VerifiedSignature:
    """The signed PDF is ``original`` plus one signature (an incremental update) covering the
    whole file but validation data and document timestamps, that signature is ``cms_der``, and
    ``cms_der`` verifies over its byte range."""
    if not signed_pdf.startswith(original) or len(signed_pdf) == len(original):
        raise SignatureRefused("the signed PDF is not our contract plus a signature")
    try:
        reader = PdfFileReader(io.BytesIO(signed_pdf))
        signatures = reader.embedded_regular_signatures
        if len(signatures) != 1:
            raise SignatureRefused("the signed PDF must hold exactly one signature")
        embedded = signatures[0]
        if not _covers_all_but_validation_data(embedded):
            raise SignatureRefused("the signature does not cover the whole file")
        embedded_cms = cms.ContentInfo(
            {"content_type": "signed_data", "content": embedded.signed_data}
        )
        byte_range = embedded.compute_digest("sha256")
    except (PdfReadError, ValueError, KeyError) as e:
        raise SignatureRefused(f"the signed PDF could not be read ({type(e).__name__})") from None
    if embedded_cms.dump() != cms.ContentInfo.load(cms_der).dump():
        raise SignatureRefused("the PDF's signature is not the one the IdP reported")
    return verify_cms(cms_der, byte_range, signer_certificate_pem)


def _covers_all_but_validation_data(embedded) -> bool:
    """The signature covers the whole file, or its revision followed only by what PAdES B-LT
    and B-LTA add (the DSS, document timestamps: pyHanko's difference analysis, LTA_UPDATES)."""
    embedded.compute_integrity_info(DEFAULT_DIFF_POLICY)
    if embedded.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    diff = embedded.diff_result
    return isinstance(diff, DiffResult) and diff.modification_level <= ModificationLevel.LTA_UPDATES


def verify_detached(
    cms_der: bytes, document: bytes, signer_certificate_pem: str
) -> VerifiedSignature:
    """The detached CMS over ``document`` itself (a digest-only document request)."""
    return verify_cms(cms_der, hashlib.sha256(document).digest(), signer_certificate_pem)


def verify_cms(cms_der: bytes, expected: bytes, signer_certificate_pem: str) -> VerifiedSignature:
    """Check a detached CMS whose messageDigest must be ``expected`` (SHA-256)."""
    try:
        signed, signer = _single_signer(cms_der)
        signed_attrs = _signed_attributes(signer, expected)
        certificate = _signer_certificate(signed, signer)
        reported = x509.load_pem_x509_certificate(signer_certificate_pem.encode("ascii"))
        if reported != certificate:
            raise SignatureRefused("the reported signer certificate is not the one in the CMS")
        # RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF.
        to_verify = signed_attrs.untag().dump()
        _check_signature(certificate, signer, to_verify, hashes.SHA256())
        time_values = [a["values"][0] for a in signed_attrs if a["type"].native == "signing_time"]
        jlis, test = _issuer_facts(certificate)
        return VerifiedSignature(
            signer=certificate.subject.rfc4514_string(),
            serial=format(certificate.serial_number, "X"),
            issuer=certificate.issuer.rfc4514_string(),
            signing_time=time_values[0].native.isoformat() if time_values else None,
            signer_name=holder_name(certificate),
            issuer_jlis=jlis,
            issuer_test=test,
        )
    except SignatureRefused:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise SignatureRefused(f"the CMS could not be read ({type(e).__name__})") from None


def _single_signer(cms_der: bytes) -> tuple[cms.SignedData, cms.SignerInfo]:
    """The SignedData and its one signer: a detached signature by exactly one person, so the
    bank never has to choose whose signature counts."""
    info = cms.ContentInfo.load(cms_der)
    if info["content_type"].native != "signed_data":
        raise SignatureRefused("not a CMS SignedData")
    signed = info["content"]
    if signed["encap_content_info"]["content"].native is not None:
        raise SignatureRefused("the signature is not detached")
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise SignatureRefused("exactly one signer is expected")
    return signed, signer_infos[0]


def _signed_attributes(signer: cms.SignerInfo, expected: bytes) -> cms.CMSAttributes:
    """The signed attributes, which must bind the signature to what we sent: SHA-256, content
    type data, and ``expected`` as the messageDigest (RFC 5652 §11.1, §11.2)."""
    signed_attrs = signer["signed_attrs"]
    if not signed_attrs:
        raise SignatureRefused("no signed attributes")
    hash_name = signer["digest_algorithm"]["algorithm"].native
    if hash_name != "sha256":
        raise SignatureRefused(f"digest algorithm {hash_name} is not accepted")
    if _attribute(signed_attrs, "content_type").native != "data":
        raise SignatureRefused("contentType is not data")
    if _attribute(signed_attrs, "message_digest").native != expected:
        raise SignatureRefused("messageDigest is not the digest of what we sent")
    return signed_attrs


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            matches = (
                cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native
            )
        else:
            matches = cert.key_identifier == sid.chosen.native
        if matches:
            return x509.load_der_x509_certificate(cert.dump())
    raise SignatureRefused("the signer's certificate is not in the CMS")


def _check_signature(
    certificate: x509.Certificate, signer: cms.SignerInfo, data: bytes, algorithm
) -> None:
    signature = signer["signature"].native
    key = certificate.public_key()
    mechanism = signer["signature_algorithm"].signature_algo
    try:
        if isinstance(key, rsa.RSAPublicKey) and mechanism == "rsassa_pkcs1v15":
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, rsa.RSAPublicKey) and mechanism == "rsassa_pss":
            pss = padding.PSS(padding.MGF1(algorithm), padding.PSS.DIGEST_LENGTH)
            key.verify(signature, data, pss, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and mechanism == "ecdsa":
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            raise SignatureRefused(f"signature algorithm {mechanism} is not accepted")
    except InvalidSignature:
        raise SignatureRefused("the signature does not verify") from None
