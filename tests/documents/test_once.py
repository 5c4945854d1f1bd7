"""A request is finished by one conditional UPDATE: once, never after expiry, on both databases;
and the CMS attributes bind exactly the digest they were made for."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import pytest
from asn1crypto import cms as asn1_cms

from idp.documents import cms
from idp.storage.documents import DECLINED, PENDING, SIGNED, DocumentRequest, finish


def _pending(app, expires_in: int = 900) -> str:
    from idp.storage.db import db

    now = int(time.time())
    with app.app_context():
        document = DocumentRequest(
            id="d" * 43, client_id="c", client_name="Sample Bank", sub="s", title="t",
            summary="s", digest="A" * 43, redirect_uri="https://bank.example/cb",
            created_at=now, expires_at=now + expires_in,
        )  # fmt: skip
        db.session.add(document)
        db.session.commit()
        return document.id


def _finish(app, document_id: str, status: str, now: int | None = None) -> bool:
    from idp.storage.db import db

    with app.app_context():
        done = finish(document_id, status, {"account_id": "a"}, now)
        db.session.commit()
        return done


def test_a_request_is_finished_once(app):
    document_id = _pending(app)
    assert _finish(app, document_id, SIGNED)
    assert not _finish(app, document_id, SIGNED)
    assert not _finish(app, document_id, DECLINED)
    from idp.storage.db import db

    with app.app_context():
        assert db.session.get(DocumentRequest, document_id).status == SIGNED


def test_an_expired_request_cannot_be_finished(app):
    document_id = _pending(app, expires_in=60)
    assert not _finish(app, document_id, SIGNED, now=int(time.time()) + 61)
    from idp.storage.db import db

    with app.app_context():
        document = db.session.get(DocumentRequest, document_id)
        assert document.status == PENDING
        assert document.current_status(int(time.time()) + 61) == "expired"


def test_the_attributes_bind_the_digest_and_the_signing_time():
    digest = hashlib.sha256(b"contract").digest()
    when = dt.datetime(2026, 11, 22, 21, 0, 5, 123456, tzinfo=dt.UTC)
    der = cms.signed_attributes(digest, when)
    assert cms.message_digest_of(der) == digest
    values = {a["type"].native: a["values"][0].native for a in asn1_cms.CMSAttributes.load(der)}
    assert values["signing_time"] == when.replace(microsecond=0)
    assert cms.digest_to_sign(der) == hashlib.sha256(der).digest()
    other = cms.signed_attributes(hashlib.sha256(b"other").digest(), when)
    assert cms.digest_to_sign(other) != cms.digest_to_sign(der)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_only_a_sha256_digest_is_accepted(size):
    with pytest.raises(ValueError, match="SHA-256"):
        cms.signed_attributes(bytes(size), dt.datetime.now(dt.UTC))
