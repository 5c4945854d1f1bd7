"""The durable record of a verification: how, when, with which certificate — never who."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from idp.oidc import verified_claims
from idp.storage import verifications
from idp.storage.accounts import Account
from idp.storage.db import db
from idp.storage.verifications import IdentityVerification, record_verification
from tests.verified.helpers import IDENTITY

FACT_WORDS = ("name", "address", "birth", "gender", "sex")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Both databases here (the package conftest's OIDC fixtures pin SQLite)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/idp.sqlite3"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def account(app):
    with app.app_context():
        db.session.add(Account(id="acct-1"))
        db.session.commit()
    return "acct-1"


def test_record_keeps_method_time_certificate_and_framework(app, account):
    with app.app_context():
        record_verification(account, "client-1", "consent-1", IDENTITY, "jp_aml", 1_795_000_100)
        db.session.commit()
        db.session.expire_all()
        row = db.session.execute(db.select(IdentityVerification)).scalar_one()
        assert (row.account_id, row.client_id, row.consent_id) == (account, "client-1", "consent-1")
        assert (row.trust_framework, row.method, row.signature_type) == (
            "jp_aml",
            "electronic_signature",
            "jp_jpki",
        )
        assert (row.certificate_issuer, row.certificate_serial) == (IDENTITY.issuer, "0A1B2C")
        assert (row.signed_at, row.verified_at) == (IDENTITY.signed_at, 1_795_000_100)


def test_no_column_can_hold_a_basic_fact(app):
    with app.app_context(), db.engine.connect() as connection:
        columns = [c["name"] for c in inspect(connection).get_columns("identity_verification")]
    assert columns
    assert not [c for c in columns if any(word in c for word in FACT_WORDS)]


def test_no_stored_value_is_a_basic_fact(app, account):
    with app.app_context():
        record_verification(account, "client-1", None, IDENTITY, "jp_mpiupa", 1_795_000_100)
        db.session.commit()
        row = db.session.execute(db.select(IdentityVerification)).scalar_one()
        stored = " ".join(str(getattr(row, c.key)) for c in IdentityVerification.__table__.c)
    for fact in (IDENTITY.name, IDENTITY.address, IDENTITY.birthdate, "山田", "千代田"):
        assert fact not in stored


def test_record_is_added_but_not_committed(app, account):
    with app.app_context():
        record_verification(account, "client-1", None, IDENTITY, "jp_aml", 1)
        db.session.rollback()
        assert db.session.execute(db.select(IdentityVerification)).first() is None


def test_the_recorded_signature_type_is_the_released_one():
    assert verifications.SIGNATURE_TYPE == verified_claims.SIGNATURE_TYPE
    assert verifications.METHOD in verified_claims.EVIDENCE_TYPES
