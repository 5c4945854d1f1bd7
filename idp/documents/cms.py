"""The detached CMS signature (RFC 5652) around the card's one signature.

The card signs DigestInfo(SHA-256, SHA-256(DER of the signedAttrs)) (bridge-protocol.md §8), so
the IdP fixes the signed attributes first — content type, signing time and the message digest
(the document's SHA-256, or for a PDF the digest of its /ByteRange) — and wraps the returned
signature into a SignerInfo afterwards (pyHanko's ``ExternalSigner``, in ``longterm``):
cryptography cannot sign with a key it does not hold.

There is no signingCertificateV2 attribute (RFC 5035): the JPKI signing certificate can only be
read from the card after the signing PIN, in the same operation that signs, so the certificate
is not known when the attributes are fixed. The SignerInfo names the certificate by issuer and
serial, and the certificate travels in the SignedData.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from asn1crypto import cms
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


def signer_certificate_pem(container_der: bytes) -> str:
    """The signer's certificate (PEM) carried in a SignedData this module built."""
    signed_data = cms.ContentInfo.load(container_der)["content"]
    sid = signed_data["signer_infos"][0]["sid"].chosen
    (der,) = (
        choice.chosen.dump()
        for choice in signed_data["certificates"]
        if choice.name == "certificate"
        and choice.chosen.issuer == sid["issuer"]
        and choice.chosen.serial_number == sid["serial_number"].native
    )
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
