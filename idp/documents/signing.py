"""The life of a document request: submitted, prepared for the card, signed or declined.

What the card signs is derived from what the client submitted and nothing else: the document
digest (bound at submission) goes into the CMS message-digest attribute (for a PDF, through
the byte range of the prepared file, whose prefix is the submitted PDF); the card signs SHA-256
of those attributes. A result is accepted only for the digest the IdP prepared, from this
request's own stored attributes, and the request is finished by one conditional UPDATE: signed
at most once, never after it expired.

The answer must be the bridge's double proof (docs/bridge-protocol.md §9): the same card's
authentication key signs beside the signing key, and its certificate must be the logged-in
account's own, so no one can sign with another person's signing certificate. The prepared
digest is used up by the first answer posted for it, accepted or not.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time

from asn1crypto.cms import CMSAttributes

from .. import audit
from ..consent.decisions import DOCUMENT_PREFIX
from ..jpki.status import issuer_hash_of
from ..login.accounts import account_of
from ..oidc.clients import find_client
from ..storage.consents import record_access
from ..storage.db import db
from ..storage.documents import DECLINED, SIGNED, DocumentRequest, finish, take_prepared
from ..storage.models import Client
from ..storage.signing_certificates import note_signing_certificate
from . import cms, longterm
from .coroutines import run
from .submission import Submission
from .verification import DocumentVerifier

ACCESS_KIND = "document_signature"


class AlreadyFinished(Exception):
    """The request was signed, declined or expired meanwhile: nothing more can happen to it."""


class AnotherCard(Exception):
    """The authentication certificate of the double proof is not the logged-in account's: the
    signing key belongs to someone else's card (or the account's card is not the one used)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def submit(client: Client, submission: Submission, now: int | None = None) -> DocumentRequest:
    """Store the request; its digest never changes afterwards."""
    now = now or int(time.time())
    document = DocumentRequest(
        id=secrets.token_urlsafe(32),
        client_id=client.client_id,
        client_name=client.name,
        sub=submission.sub,
        title=submission.title,
        titles=json.dumps(submission.titles, ensure_ascii=False) if submission.titles else None,
        summary=submission.summary,
        digest=b64url(submission.digest),
        pdf=submission.pdf,
        redirect_uri=submission.redirect_uri,
        state=submission.state,
        created_at=now,
        expires_at=now + submission.expires_in,
    )
    db.session.add(document)
    db.session.commit()
    return document


def prepare(document: DocumentRequest, now: dt.datetime) -> bytes:
    """Fix this attempt's signed attributes (signing time ``now``); the digest the card signs."""
    if document.current_status(int(now.timestamp())) != "pending":
        raise AlreadyFinished(document.current_status())
    message_digest = unb64url(document.digest)
    if document.pdf is not None:
        from . import pades

        prepared = pades.prepare(document.pdf, now)
        document.prepared_pdf, document.prepared_range = prepared.data, prepared.encode_range()
        message_digest = prepared.byte_range_digest
    attributes = cms.signed_attributes(message_digest, now)
    to_sign = cms.digest_to_sign(attributes)
    document.prepared_attrs, document.prepared_digest = attributes, b64url(to_sign)
    db.session.commit()
    return to_sign


def complete(
    document: DocumentRequest,
    account_id: str,
    result: str,
    verifier: DocumentVerifier,
    now: dt.datetime,
    long_term: longterm.LongTerm | None = None,
) -> None:
    """Verify the card's answer for the prepared digest, build the outputs at the client's
    PAdES level (``longterm``), finish once.

    Raises a ``JpkiValidationError`` (its reason for the page), ``AnotherCard``,
    ``LevelUnavailable`` (the TSA or revocation data could not be had: nothing is delivered) or
    ``AlreadyFinished``. The prepared digest is used up first, whatever follows.
    """
    if document.current_status(int(now.timestamp())) != "pending" or not document.prepared_digest:
        raise AlreadyFinished(document.current_status())
    attributes, prepared_digest = document.prepared_attrs, document.prepared_digest
    if not take_prepared(document.id, prepared_digest):
        db.session.rollback()
        raise AlreadyFinished("answered meanwhile")
    db.session.commit()
    pair = verifier.verify(result, unb64url(prepared_digest), now)
    if account_of(pair.authentication) != account_id:
        raise AnotherCard()
    signature = _signature_of(result)
    level = longterm.level_for(_metadata_of(document.client_id), long_term)
    if document.pdf is None:  # a detached CMS: no document security store to fill
        level = min(level, longterm.Level.B_T, key=list(longterm.Level).index)
    container = run(
        longterm.signature_container(
            CMSAttributes.load(attributes), pair.signing.certificate, signature, level, long_term
        )
    )
    values = {
        "account_id": account_id,
        "signed_at": int(now.timestamp()),
        "cms": container.dump(),
        "prepared_pdf": None,
        "pdf": None,  # signed.pdf begins with its bytes; nothing else needs the original
    }
    if document.pdf is not None:
        from . import pades

        prepared = pades.PreparedPdf.from_stored(document.prepared_pdf, document.prepared_range)
        if prepared.byte_range_digest != cms.message_digest_of(attributes):
            raise AlreadyFinished("prepared file and attributes disagree")  # our own bug
        signed = pades.embed(prepared, container)
        values["signed_pdf"] = run(longterm.extend(signed, level, long_term))
    if not finish(document.id, SIGNED, values, int(now.timestamp())):
        db.session.rollback()
        raise AlreadyFinished("signed or finished meanwhile")
    record_access(
        account_id, document.client_id, document.client_name, ACCESS_KIND,
        DOCUMENT_PREFIX + document.title, None, int(now.timestamp()), document.titles,
    )  # fmt: skip
    note_signing_certificate(
        account_id,
        pair.signing.issuer,
        pair.signing.serial,
        int(now.timestamp()),
        issuer_hash_of(pair.signing.certificate.issuer),
    )
    db.session.commit()
    who = {"client_id": document.client_id, "account_id": account_id}
    card = audit.ref_of(pair.signing.certificate)
    audit.emit(audit.DOCUMENT_SIGNED, **who, document_id=document.id, certificate=card)
    audit.emit(audit.DATA_PROVIDED, **who, via="document", items=["signed_document"])


def decline(document: DocumentRequest, account_id: str, now: int | None = None) -> None:
    """The citizen said no: the request is finished and can never be signed."""
    values = {"account_id": account_id, "prepared_pdf": None, "pdf": None}
    if not finish(document.id, DECLINED, values, now):
        db.session.rollback()
        raise AlreadyFinished(document.current_status())
    db.session.commit()


def _signature_of(result: str) -> bytes:
    """The signing key's signature in a result ``verify`` has just accepted (parsed there)."""
    from ..jpki.document import DocumentPairResult

    return DocumentPairResult.parse(result).signing.signature


def _metadata_of(client_id: str) -> dict:
    client = find_client(client_id)
    return dict(client.client_metadata) if client is not None else {}


def signer_certificate_pem(document: DocumentRequest) -> str | None:
    return cms.signer_certificate_pem(document.cms) if document.cms else None
