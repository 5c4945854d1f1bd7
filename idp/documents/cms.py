"""The detached CMS signature (RFC 5652) around the card's one signature.

The card signs DigestInfo(SHA-256, SHA-256(DER of the signedAttrs)) (bridge-protocol.md §8), so
the IdP fixes the signed attributes first — content type, signing time and the message digest
(the document's SHA-256, or for a PDF the digest of its /ByteRange) — and wraps the returned
signature into a SignerInfo afterwards. asn1crypto builds the structures: cryptography cannot
sign with a key it does not hold.

There is no signingCertificateV2 attribute (RFC 5035): the JPKI signing certificate can only be
read from the card after the signing PIN, in the same operation that signs, so the certificate
is not known when the attributes are fixed. The SignerInfo names the certificate by issuer and
serial, and the certificate travels in the SignedData.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def signed_attributes(message_digest: bytes, signing_time: dt.datetime) -> bytes:
    """DER of the signedAttrs SET for ``message_digest`` (32 bytes) signed at ``signing_time``."""
    if len(message_digest) != 32:
        raise ValueError("message_digest must be a SHA-256 digest")
    when = signing_time.astimezone(dt.UTC).replace(microsecond=0)
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        ]
    )
    return attributes.dump()


def digest_to_sign(attributes_der: bytes) -> bytes:
    """What the card signs (as DigestInfo): SHA-256 of the DER signedAttrs (RFC 5652 §5.4)."""
    return hashlib.sha256(attributes_der).digest()


def message_digest_of(attributes_der: bytes) -> bytes:
    """The message-digest attribute's value: the document digest these attributes bind."""
    for attribute in cms.CMSAttributes.load(attributes_der):
        if attribute["type"].native == "message_digest":
            return attribute["values"][0].native
    raise ValueError("no message-digest attribute")


def detached_signed_data(
    attributes_der: bytes, certificate: x509.Certificate, signature: bytes
) -> cms.ContentInfo:
    """ContentInfo(SignedData) without the content: one SignerInfo, the signer's certificate."""
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": cms.CMSAttributes.load(attributes_der),
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cert],
            "signer_infos": [signer],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def signer_certificate_pem(container_der: bytes) -> str:
    """The signer's certificate (PEM) carried in a SignedData this module built."""
    signed_data = cms.ContentInfo.load(container_der)["content"]
    der = signed_data["certificates"][0].chosen.dump()
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
