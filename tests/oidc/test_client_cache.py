"""The serving processes' client snapshots (``serving_client``): changes made here are seen at
once, changes made by another process within ``CLIENT_CACHE_SECONDS``, and never later."""

from __future__ import annotations

import time

from sqlalchemy import delete, update

from idp.oidc import clients
from idp.storage.db import db
from idp.storage.models import Client


def _remove_elsewhere(app, client_id: str) -> None:
    """What ``idp client remove`` in the operator's shell does, as far as this process can
    tell: the row goes, and no ORM object of this process is involved."""
    with app.app_context():
        db.session.execute(delete(Client).where(Client.client_id == client_id))
        db.session.commit()


def test_a_client_removed_by_another_process_is_refused_within_the_cache_time(
    provider, jwt_rp, monkeypatch
):
    monkeypatch.setattr(clients, "CLIENT_CACHE_SECONDS", 0.5)
    assert jwt_rp.push().status_code == 201  # the snapshot is taken
    _remove_elsewhere(provider, jwt_rp.client_id)
    time.sleep(0.6)
    refused = jwt_rp.push()
    assert refused.status_code in (400, 401)  # 401 only with HTTP Basic (RFC 6749 §5.2)
    assert refused.json["error"] == "invalid_client"


def test_within_the_cache_time_the_snapshot_answers_without_the_database(provider, jwt_rp):
    """The price of the cache, stated: a removal elsewhere is not seen at once."""
    assert jwt_rp.push().status_code == 201
    _remove_elsewhere(provider, jwt_rp.client_id)
    assert jwt_rp.push().status_code == 201
    with provider.app_context():
        assert clients.find_client(jwt_rp.client_id) is None  # management reads the database


def test_a_client_changed_in_this_process_is_read_again_at_once(provider, jwt_rp):
    assert jwt_rp.push().status_code == 201
    with provider.app_context():
        assert clients.remove_client(jwt_rp.client_id)
    refused = jwt_rp.push()
    assert refused.status_code in (400, 401)  # 401 only with HTTP Basic (RFC 6749 §5.2)
    assert refused.json["error"] == "invalid_client"


def test_new_keys_registered_in_this_process_replace_the_old_ones_at_once(provider, make_rp):
    from joserfc.jwk import ECKey

    rp = make_rp("private_key_jwt")
    assert rp.push().status_code == 201
    new_key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    with provider.app_context():
        client = clients.find_client(rp.client_id)
        client.set_client_metadata(
            {**client.client_metadata, "jwks": {"keys": [new_key.as_dict(private=False)]}}
        )
        db.session.commit()
    assert rp.push().json["error"] == "invalid_client"  # the old key no longer authenticates
    rp.key = new_key
    assert rp.push().status_code == 201


def test_the_snapshot_is_detached_and_complete(provider, jwt_rp):
    """Used across requests and threads: nothing in it may need the session that loaded it."""
    with provider.app_context():
        snapshot = clients.serving_client(jwt_rp.client_id)
        db.session.remove()
        db.session.execute(update(Client).values(name="renamed elsewhere"))
        db.session.commit()
    assert snapshot.client_id == jwt_rp.client_id
    assert snapshot.name == "RP"
    assert snapshot.redirect_uris == [jwt_rp.redirect_uri]
    assert snapshot.jwks["keys"]
    with provider.app_context():
        assert clients.serving_client(jwt_rp.client_id) is snapshot
        assert clients.serving_client("") is None
        assert clients.serving_client("x" * 65) is None
        assert clients.serving_client("no-such-client") is None
