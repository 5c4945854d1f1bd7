"""Rate limits on the OAuth endpoints: PAR and token requests per authenticated client,
registrations per initial access token. Over a limit: 429, ``Retry-After`` and the OAuth error
``slow_down``; nothing is used up; the client gets through again once its window has passed
(the in-process store's clock is moved: no sleeping). Two IdP instances sharing one Redis share
every count."""

from __future__ import annotations

import secrets

import pytest
import redis

from idp.config import AdminConfig, EphemeralConfig, LimitsConfig
from idp.services import services
from idp.storage.ephemeral import EPHEMERAL, MemoryStore
from idp.storage.ratelimits import RATE_LIMITS
from tests.conftest import REGISTRATION_TOKEN, drop_schema, idp_test_config, make_app
from tests.oidc.conftest import _register
from tests.storage.test_ephemeral import FakeClock

LIMITS = LimitsConfig(
    par_per_client="2 per minute",
    token_per_client="2 per 30 seconds",  # noqa: S106 (a rate, not a secret)
    registrations_per_token="2 per hour",  # noqa: S106
)
CLIENT = {
    "redirect_uris": ["https://rp.example/cb"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def _config(database_url: str, **changes):
    return idp_test_config(
        database_url,
        admin=AdminConfig(registration_token=REGISTRATION_TOKEN),
        limits=LIMITS,
        **changes,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider(database_url, tmp_path, clock):
    """The testing IdP with small limits, on the in-process store with the test's clock."""
    application = make_app(_config(database_url), tmp_path / "instance", cardless_login=True)
    services(application)[EPHEMERAL] = MemoryStore(clock)
    yield application
    drop_schema(application)


def _assert_slow_down(response, retry_after: int) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.json["error"] == "slow_down"
    assert f"retry after {retry_after} seconds" in response.json["error_description"]
    assert response.headers["Retry-After"] == str(retry_after)
    assert response.headers["Cache-Control"] == "no-store"


def test_par_over_the_limit_is_slow_down_and_passes_after_the_window(make_rp, clock):
    rp, other = make_rp(), make_rp()
    assert [rp.push().status_code for _ in range(2)] == [201, 201]
    _assert_slow_down(rp.push(), 60)
    clock.now += 30
    _assert_slow_down(rp.push(), 30)  # refused requests do not move the window's end
    assert other.push().status_code == 201  # each client has its own allowance
    clock.now += 30
    assert rp.push().status_code == 201


def test_requests_that_fail_client_authentication_use_up_nothing(make_rp, provider):
    """Counting a client_id anyone can write would let anyone use up a bank's allowance."""
    rp = make_rp("private_key_jwt")
    forged = make_rp("private_key_jwt")  # another key, presenting the first client's id
    for _ in range(5):
        response = rp.push(assertion=forged.assertion(iss=rp.client_id, sub=rp.client_id))
        assert response.json["error"] == "invalid_client"
    assert [rp.push().status_code for _ in range(2)] == [201, 201]
    key = services(provider)[RATE_LIMITS].key("par_per_client", rp.client_id)
    assert services(provider)[EPHEMERAL].counters(key)[0][0] == 2


def test_a_token_request_over_the_limit_uses_up_nothing_and_passes_after_the_window(make_rp, clock):
    rp = make_rp()
    for _ in range(2):
        assert rp.token(rp.login_code()).status_code == 200
    code = rp.login_code()
    _assert_slow_down(rp.token(code), 30)
    clock.now += 30  # the code (60 s) is still alive: the refused request did not redeem it
    response = rp.token(code)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["access_token"]


def test_refresh_requests_count_against_the_token_limit(make_rp, clock):
    rp = make_rp()
    refresh = rp.tokens()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    headers: dict = {}
    rp.auth(form, headers)
    response = rp.http.post("/token", data=form, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    form["refresh_token"] = response.json["refresh_token"]
    _assert_slow_down(rp.http.post("/token", data=form, headers=headers), 30)
    clock.now += 30
    assert rp.http.post("/token", data=form, headers=headers).status_code == 200


def _register_client(app, token: str = REGISTRATION_TOKEN):
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().post("/register", json=CLIENT, headers=headers)


def _clients(app) -> int:
    from idp.oidc.clients import Client
    from idp.storage.db import db

    with app.app_context():
        return db.session.query(Client).count()


def test_registrations_over_the_limit_create_nothing_until_the_window_ends(provider, clock):
    assert [_register_client(provider).status_code for _ in range(2)] == [201, 201]
    _assert_slow_down(_register_client(provider), 3600)
    assert _clients(provider) == 2
    wrong = _register_client(provider, "admin-" + "w" * 40)
    assert wrong.status_code == 401  # a wrong token is refused as before, never counted
    clock.now += 3600
    assert _register_client(provider).status_code == 201
    assert _clients(provider) == 3


@pytest.fixture
def two_nodes(tmp_path, redis_url):
    """Two IdP instances in this process sharing one database and one Redis (DB 15, a key
    prefix of this test's own): what two nodes of a deployment share."""
    prefix = f"test-limits-{secrets.token_hex(6)}:"
    ephemeral = EphemeralConfig(redis_url=redis_url, key_prefix=prefix)
    config = _config(f"sqlite:///{tmp_path}/shared.sqlite3", ephemeral=ephemeral)
    apps = [make_app(config, tmp_path / f"instance-{n}", cardless_login=True) for n in (1, 2)]
    yield apps
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    drop_schema(apps[0])


def test_two_nodes_sharing_redis_share_every_limit(two_nodes):
    first, second = two_nodes
    assert services(first)[EPHEMERAL] is not services(second)[EPHEMERAL]
    on_first = _register(first, first.test_client(), "client_secret_basic")
    on_second = _register(second, second.test_client(), "client_secret_basic")
    on_second.client_id, on_second.secret = on_first.client_id, on_first.secret
    assert on_first.push().status_code == 201
    assert on_second.push().status_code == 201
    refused = on_first.push()
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60

    assert _register_client(second).status_code == 201
    assert _register_client(first).status_code == 201
    assert _register_client(second).status_code == 429
    assert _register_client(first).status_code == 429
