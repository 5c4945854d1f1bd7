"""Signing keys: sealed at rest, published before signing, kept until their tokens expire."""

from __future__ import annotations

import dataclasses

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.oidc.keys import KEY_RING, RotationRefused, ensure_keys, rotate
from idp.oidc.sealing import Sealer, SealError
from idp.services import services
from idp.storage.db import db
from idp.storage.models import SigningKey
from tests.conftest import drop_schema, idp_test_config, make_app

NOW = 1_800_000_000


@pytest.fixture
def app(any_database_url, tmp_path):
    application = make_app(idp_test_config(any_database_url), tmp_path / "instance")
    yield application
    drop_schema(application)


def _states(alg="RS256"):
    rows = SigningKey.query.filter_by(alg=alg).order_by(SigningKey.created_at).all()
    return {r.kid: r.state for r in rows}


def test_first_start_creates_current_and_next_key_per_algorithm(app):
    with app.app_context():
        ensure_keys(services(app).config, Sealer("test-secret-" + "x" * 32), NOW)
        for alg in ("RS256", "PS256", "ES256"):
            assert sorted(_states(alg).values()) == ["current", "next"]


def test_private_keys_are_sealed_and_do_not_open_with_another_secret(app):
    config = services(app).config
    with app.app_context():
        ensure_keys(config, Sealer(config.secret_key), NOW)
        row = SigningKey.query.first()
        assert b"PRIVATE KEY" not in row.sealed_private_key
        assert b"PRIVATE KEY" in Sealer(config.secret_key).open(row.sealed_private_key, row.kid)
        with pytest.raises(SealError):
            Sealer("another secret").open(row.sealed_private_key, row.kid)
        with pytest.raises(SealError):
            Sealer(config.secret_key).open(row.sealed_private_key, "other-kid")


def test_public_jwks_has_no_private_parameters(app):
    with app.app_context():
        jwks = services()[KEY_RING].jwks()
        assert len(jwks["keys"]) == 6
        for key in jwks["keys"]:
            assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
            assert key["use"] == "sig"


def test_rotation_promotes_the_published_key_and_keeps_the_old_one_published(app):
    config = services(app).config
    sealer = Sealer(config.secret_key)
    with app.app_context():
        ensure_keys(config, sealer, NOW)
        before = _states()
        nxt = next(k for k, s in before.items() if s == "next")
        cur = next(k for k, s in before.items() if s == "current")
        rotate(config, sealer, NOW + 10)
        after = _states()
        assert (after[nxt], after[cur]) == ("current", "retired")
        assert sorted(after.values()) == ["current", "next", "retired"]
        published = {k["kid"] for k in services()[KEY_RING].jwks()["keys"]}
        assert set(after) <= published
        assert services()[KEY_RING].signing_key("RS256").kid == nxt


def test_token_signed_before_rotation_still_verifies_with_published_jwks(app):
    config = services(app).config
    with app.app_context():
        old = services()[KEY_RING].signing_key()
        token = jwt.encode({"alg": "RS256", "kid": old.kid}, {"sub": "x"}, old)
        rotate(config, Sealer(config.secret_key), NOW)
        keyset = KeySet.import_key_set(services()[KEY_RING].jwks())
        assert jwt.decode(token, keyset).claims == {"sub": "x"}


def test_retired_key_leaves_jwks_after_its_tokens_expired(app):
    config = services(app).config
    sealer = Sealer(config.secret_key)
    with app.app_context():
        ensure_keys(config, sealer, NOW)
        first = next(k for k, s in _states().items() if s == "current")
        rotate(config, sealer, NOW)
        retire_at = db.session.get(SigningKey, first).retire_at
        assert retire_at >= NOW + config.tokens.access_token
        rotate(config, sealer, retire_at)
        assert first not in _states()


def test_rotation_is_refused_while_the_next_key_is_too_new(app, tmp_path):
    config = services(app).config
    strict = config.__class__(
        **{
            **config.__dict__,
            "keys": config.keys.__class__(min_publish_seconds=3600, reload_seconds=0),
        }
    )
    sealer = Sealer(config.secret_key)
    with app.app_context():
        ensure_keys(strict, sealer, NOW)
        before = _states()
        with pytest.raises(RotationRefused, match="published less than 3600s ago"):
            rotate(strict, sealer, NOW + 60)
        assert _states() == before
        rotate(strict, sealer, NOW + 3600)
        assert _states() != before


def test_es256_key_signs_and_is_published_as_ec(app):
    with app.app_context():
        key = services()[KEY_RING].signing_key("ES256")
        assert key.key_type == "EC"
        jwk = next(k for k in services()[KEY_RING].jwks()["keys"] if k["kid"] == key.kid)
        assert jwk["crv"] == "P-256"
        assert jwk["alg"] == "ES256"


def test_unknown_algorithm_has_no_signing_key(app):
    with app.app_context(), pytest.raises(LookupError):
        services()[KEY_RING].signing_key("HS256")


def test_threads_that_find_the_keys_stale_together_load_them_once(app, monkeypatch):
    """Unsealing and importing the keys costs tens of ms of CPU: the threads that find the
    snapshot missing or stale at the same moment wait for one load, not one load each."""
    import threading
    import time

    from idp.oidc.keys import KeyRing

    config = services(app).config
    config = dataclasses.replace(config, keys=dataclasses.replace(config.keys, reload_seconds=30))
    ring = KeyRing(config, Sealer(config.secret_key))
    loads: list[float] = []
    original = KeyRing._load

    def slow_load(self, now):
        loads.append(now)
        time.sleep(0.05)  # long enough for every waiting thread to have seen the old snapshot
        return original(self, now)

    monkeypatch.setattr(KeyRing, "_load", slow_load)
    threads = 8

    def burst() -> set[str]:
        barrier = threading.Barrier(threads)
        seen: list[str] = []

        def ask() -> None:
            with app.app_context():
                barrier.wait()
                seen.append(ring.signing_key("ES256").kid)

        workers = [threading.Thread(target=ask) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(seen) == threads
        return set(seen)

    assert len(burst()) == 1
    assert len(loads) == 1  # missing: one load for all eight threads
    ring._snapshot = dataclasses.replace(ring._snapshot, loaded_at=time.time() - 3600)
    assert len(burst()) == 1
    assert len(loads) == 2  # stale: one reload for all eight threads
    burst()
    assert len(loads) == 2  # fresh: no load at all
