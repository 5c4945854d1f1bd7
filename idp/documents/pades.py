"""The PDF signature (PAdES, ETSI EN 319 142 / ISO 32000 ``adbe.pkcs7.detached``) with pyHanko's
interrupted signing: prepare the file (signature field, reserved /Contents) and its /ByteRange
digest first; embed the CMS built around the card's signature later, in another request.

The prepared file is an incremental update: the submitted PDF's bytes are its unchanged prefix,
and the byte range covers them. ``adbe.pkcs7.detached`` rather than ``ETSI.CAdES.detached``:
the CAdES profile requires a signingCertificateV2 attribute, which cannot be made before the
card has been unlocked (see ``idp.documents.cms``).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from asn1crypto import algos, cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import ExternalSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfTBSDocument

from . import appearance
from .coroutines import run

FIELD_NAME = "JPKI-Signature"
RESERVED_BYTES = 16384
"""Bytes kept for the CMS in /Contents: a 2048-bit signature, the certificate and attributes
need about 3 KB; the rest is room for a longer certificate chain."""


class UnreadablePdf(ValueError):
    """The submitted bytes are not a PDF pyHanko can sign (the client gets invalid_request)."""


@dataclass(frozen=True)
class PreparedPdf:
    """The file waiting for its signature, and where the signature goes."""

    data: bytes
    byte_range_digest: bytes
    start: int
    end: int

    def encode_range(self) -> str:
        return f"{self.byte_range_digest.hex()}:{self.start}:{self.end}"

    @classmethod
    def from_stored(cls, data: bytes, encoded: str) -> PreparedPdf:
        digest, start, end = encoded.split(":")
        return cls(data, bytes.fromhex(digest), int(start), int(end))


def check_pdf(data: bytes) -> None:
    """Refuse what is not a readable, unencrypted PDF before it is stored."""
    if not data.startswith(b"%PDF-"):
        raise UnreadablePdf("pdf is not a PDF file")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            raise UnreadablePdf("pdf is encrypted")
        reader.root  # noqa: B018 - parses the catalogue
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as error:
        raise UnreadablePdf(f"pdf does not parse: {type(error).__name__}") from None


def prepare(pdf: bytes, signed_at: dt.datetime | None = None) -> PreparedPdf:
    """Fill the document's empty field of this name (with the stamp of ``appearance``, drawn
    for ``signed_at``), or add an invisible one; reserve its /Contents."""
    return run(_prepare(pdf, signed_at or dt.datetime.now(dt.UTC)))


async def _prepare(pdf: bytes, signed_at: dt.datetime) -> PreparedPdf:
    mechanism = algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    signer = ExternalSigner(None, None, signature_value=256, signature_mechanism=mechanism)
    meta = PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    pdf_signer = PdfSigner(meta, signer=signer, stamp_style=appearance.stamp_style())
    prepared, _, output = await pdf_signer.async_digest_doc_for_signing(
        writer, bytes_reserved=RESERVED_BYTES,
        appearance_text_params=appearance.text_params(signed_at),
    )  # fmt: skip
    return PreparedPdf(
        output.getvalue(),
        prepared.document_digest,
        prepared.reserved_region_start,
        prepared.reserved_region_end,
    )


def embed(prepared: PreparedPdf, container: cms.ContentInfo) -> bytes:
    """The signed file: ``container`` written into the reserved /Contents."""
    output = io.BytesIO(prepared.data)
    digest = PreparedByteRangeDigest(prepared.byte_range_digest, prepared.start, prepared.end)
    run(PdfTBSDocument.async_finish_signing(output, digest, container))
    return output.getvalue()
