"""Accounts and certificate bindings on both databases, and what the login writes to logs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from idp.jpki.validator import ValidatedCertificate
from idp.login.accounts import account_for, account_of
from idp.storage.accounts import Account, CertificateBinding
from idp.storage.db import db
from tests.login.cards import b64url, bridge_result
from tests.login.conftest import jpki_settings


@pytest.fixture
def pg_card_app(world, postgres_url: str, tmp_path: Path):
    """The card-login IdP on PostgreSQL (the production database)."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(postgres_url, jpki=jpki_settings(world.state, tmp_path))
    application = make_app(config, tmp_path / "instance")
    yield application
    drop_schema(application)


def _validated(certificate) -> ValidatedCertificate:
    """What the validator returns, as far as ``account_for`` reads it (the certificate)."""
    return ValidatedCertificate(None, certificate, None, None, None)  # type: ignore[arg-type]


def test_one_account_per_certificate_on_postgresql(pg_card_app, world):
    now = dt.datetime.now(dt.UTC)
    with pg_card_app.app_context():
        first = account_for(_validated(world.good.certificate), now)
        assert account_for(_validated(world.good.certificate), now) == first
        other = account_for(_validated(world.other.certificate), now)
        assert other != first
        assert {a.id for a in db.session.execute(select(Account)).scalars()} == {first, other}
        serials = {b.serial for b in db.session.execute(select(CertificateBinding)).scalars()}
    assert serials == {f"{c.certificate.serial_number:X}" for c in (world.good, world.other)}


def test_account_of_looks_up_and_never_creates_or_touches(card_app, world):
    with card_app.app_context():
        assert account_of(_validated(world.good.certificate)) is None
        assert db.session.execute(select(Account)).first() is None  # nothing was created
        then = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        account = account_for(_validated(world.good.certificate), then)
        assert account_of(_validated(world.good.certificate)) == account
        assert account_of(_validated(world.other.certificate)) is None
        binding = db.session.execute(select(CertificateBinding)).scalar_one()
        assert binding.last_used_at == int(then.timestamp())  # a lookup is not a login


def test_the_migration_goes_down_and_up_again_on_postgresql(pg_card_app):
    from flask_migrate import downgrade

    from idp.storage.db import MIGRATIONS, schema_is_current, upgrade

    with pg_card_app.app_context():
        downgrade(directory=str(MIGRATIONS), revision="-1")
        assert not schema_is_current()
        upgrade()
        assert schema_is_current()


def test_logs_carry_reasons_only(card_app, login_page, world, caplog):
    caplog.set_level(logging.DEBUG)
    page = login_page()
    challenge = page.challenge()
    page.post(bridge_result(world.revoked.certificate, world.revoked.key, challenge))
    good = login_page(prompt="login")
    good.post(bridge_result(world.good.certificate, world.good.key, good.challenge()))
    text = caplog.text + "".join(str(vars(r)) for r in caplog.records)
    audited = [r for r in caplog.records if r.name == "idp.audit"]
    events = [(r.event, getattr(r, "reason", None)) for r in audited]
    assert events == [("login.refused", "revoked"), ("login.accepted", None)]
    der = world.good.certificate.public_bytes(Encoding.DER)
    for secret in (challenge, b64url(der)[:40], f"{world.good.certificate.serial_number:X}"):
        assert secret not in text


def test_the_migration_matches_the_models_on_postgresql(pg_card_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with pg_card_app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    ours = [d for d in diff if "account" in str(d) or "certificate_binding" in str(d)]
    assert ours == []


def test_a_login_touches_the_account_at_most_once_an_hour(card_app, world):
    """Hour-precision last-login stamps: no write, so no commit, on most logins."""
    from idp.login.accounts import TOUCH_SECONDS

    validated = _validated(world.good.certificate)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with card_app.app_context():
        account = account_for(validated, start)
        for later, expected in (
            (start + dt.timedelta(seconds=TOUCH_SECONDS - 1), start),
            (
                start + dt.timedelta(seconds=TOUCH_SECONDS),
                start + dt.timedelta(seconds=TOUCH_SECONDS),
            ),
        ):
            assert account_for(validated, later) == account
            db.session.expire_all()
            binding = db.session.execute(select(CertificateBinding)).scalar_one()
            assert binding.last_used_at == int(expected.timestamp())
            assert db.session.get(Account, account).last_login_at == int(expected.timestamp())


def test_a_binding_imported_without_the_certificate_learns_its_expiry_at_once(card_app, world):
    """The selfinfo importer's binding has a placeholder expiry: the first login corrects it,
    whatever the touch interval."""
    validated = _validated(world.good.certificate)
    now = dt.datetime.now(dt.UTC)
    with card_app.app_context():
        account_for(validated, now)
        binding = db.session.execute(select(CertificateBinding)).scalar_one()
        binding.not_after = 0
        db.session.commit()
        account_for(validated, now + dt.timedelta(seconds=1))
        db.session.expire_all()
        binding = db.session.execute(select(CertificateBinding)).scalar_one()
    assert binding.not_after == int(world.good.certificate.not_valid_after_utc.timestamp())
