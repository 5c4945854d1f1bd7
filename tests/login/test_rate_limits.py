"""Rate limits of the card login: challenges per login transaction, refused card logins per
certificate (issuer and serial) and per client address. Over a limit the person gets a readable
429 page (the script: JSON) with ``Retry-After``, nothing is used up or logged in, and the
genuine citizen gets through once the window has passed (the store's clock is moved).

The login transaction lives in the store whose clock the test moves; the challenges live in
the verifier's own store (real time), so a moved clock never expires a challenge here. Windows
are shorter than a login transaction (600 s) so the same login can go on after one."""

from __future__ import annotations

import pytest

from idp.config import LimitsConfig
from idp.services import services
from idp.storage.ephemeral import EPHEMERAL, MemoryStore
from tests.login.cards import bridge_result
from tests.login.conftest import jpki_settings, logged_in
from tests.storage.test_ephemeral import FakeClock

WINDOW = 300
JA_HEADING = "試行回数が多すぎます"
EN_HEADING = "Too many attempts"


@pytest.fixture
def limits() -> LimitsConfig:
    return LimitsConfig(
        challenges_per_login="20 per 5 minutes",
        failed_logins_per_certificate="2 per 5 minutes",
        failed_logins_per_ip="4 per 5 minutes",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def card_app(world, database_url, tmp_path, limits, clock):
    """The card-login IdP with small limits, counting in a store whose clock the test moves.
    A failed OCSP exchange is not remembered and opens no breaker here (ocsp_failure_ttl,
    ocsp_breaker_failures: tests/jpki/test_ocsp_resilience.py): these tests count refusals, and
    the one after an outage must reach the responder again."""
    from tests.conftest import drop_schema, idp_test_config, make_app

    jpki = jpki_settings(world.state, tmp_path, ocsp_failure_ttl=0.0, ocsp_breaker_failures=100)
    config = idp_test_config(database_url, jpki=jpki, limits=limits)
    application = make_app(config, tmp_path / "instance")
    services(application)[EPHEMERAL] = MemoryStore(clock)
    yield application
    drop_schema(application)


def _genuine(page, card):
    return page.post(bridge_result(card.certificate, card.key, page.challenge()))


def _forged(page, card, signer):
    """``card``'s certificate with a signature by another key: a refused login of that card."""
    return page.post(bridge_result(card.certificate, signer.key, page.challenge()))


def _assert_too_many_page(response, retry_after: int = WINDOW) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == str(retry_after)
    html = response.get_data(as_text=True)
    assert 'data-status="429"' in html
    assert JA_HEADING in html
    assert response.headers["Cache-Control"].startswith("no-store")


def _bindings(app) -> int:
    from idp.storage.accounts import CertificateBinding
    from idp.storage.db import db

    with app.app_context():
        return db.session.query(CertificateBinding).count()


@pytest.mark.parametrize("limits", [LimitsConfig(challenges_per_login="3 per 5 minutes")])
def test_challenges_over_the_limit_are_refused_until_the_window_ends(
    card_app, login_page, world, clock
):
    page = login_page()  # the page came with the first challenge
    page.challenge()
    page.challenge()
    refused = page.http.post(page.path + "/challenge", headers={"X-CSRF-Token": page.csrf})
    assert refused.status_code == 429
    assert refused.json == {"error": "rate_limited", "retry_after": WINDOW}
    assert refused.headers["Retry-After"] == str(WINDOW)
    _assert_too_many_page(page.http.get(page.path))  # a reload would issue one too
    english = page.http.get(page.path + "?lang=en")
    assert EN_HEADING in english.get_data(as_text=True)

    assert login_page().challenge()  # another login transaction has its own allowance
    clock.now += WINDOW
    assert logged_in(_genuine(page, world.good))


def test_refused_logins_of_a_certificate_hold_it_back_until_the_window_ends(
    card_app, rp, login_page, world, clock
):
    page = login_page()
    for _ in range(2):
        response = _forged(page, world.good, world.other)
        assert response.status_code == 403
        assert 'data-reason="generic"' in response.get_data(as_text=True)
    _assert_too_many_page(_genuine(page, world.good))  # even a good signature waits
    assert _bindings(card_app) == 0

    rp.http = card_app.test_client()  # another card, same address: not held back
    assert logged_in(_genuine(login_page(), world.other))

    clock.now += WINDOW - 1
    _assert_too_many_page(_genuine(page, world.good), retry_after=1)
    clock.now += 1
    assert logged_in(_genuine(page, world.good))


def test_refused_logins_from_an_address_hold_it_back_until_the_window_ends(
    card_app, rp, login_page, world, clock
):
    rp.http.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    page = login_page()
    for result in ("not json", "{}", "[]"):
        assert page.post(result).status_code == 403
    assert _forged(page, world.other, world.good).status_code == 403
    _assert_too_many_page(_genuine(page, world.good))
    assert _bindings(card_app) == 0

    elsewhere = card_app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    rp.http = elsewhere
    assert logged_in(_genuine(login_page(), world.good))  # the card itself is not held back

    clock.now += WINDOW
    rp.http = page.http
    assert logged_in(_genuine(login_page(), world.good))


def test_a_revocation_service_outage_is_not_counted_against_the_card(card_app, login_page, world):
    page = login_page()
    with world.server.misbehaving(ocsp="down"):
        for _ in range(5):
            assert _genuine(page, world.good).status_code == 503
    assert logged_in(_genuine(page, world.good))


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ja", "このログインの試行が多すぎます。数分待ってから、もう一度お試しください。"),
        ("en", "Too many attempts for this login. Wait a few minutes and try again."),
    ],
)
def test_the_login_page_gives_its_script_the_message_for_a_refused_challenge(
    login_page, lang, text
):
    page = login_page()
    html = page.http.get(f"{page.path}?lang={lang}").get_data(as_text=True)
    assert f'data-rate-limited="{text}"' in html


@pytest.fixture
def two_nodes(world, tmp_path, redis_url, limits):
    """Two card-login IdPs in this process sharing one database and one Redis (DB 15, a key
    prefix of this test's own), as two nodes of a deployment do."""
    import secrets

    import redis

    from idp.config import EphemeralConfig
    from tests.conftest import drop_schema, idp_test_config, make_app

    prefix = f"test-login-limits-{secrets.token_hex(6)}:"
    config = idp_test_config(
        f"sqlite:///{tmp_path}/shared.sqlite3",
        jpki=jpki_settings(world.state, tmp_path),
        limits=limits,
        ephemeral=EphemeralConfig(redis_url=redis_url, key_prefix=prefix),
    )
    apps = [make_app(config, tmp_path / f"instance-{n}") for n in (1, 2)]
    yield apps
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    drop_schema(apps[0])


def _browser_at(app, client_id: str, address: str):
    """A login page on ``app`` for a browser at ``address``."""
    from tests.login.conftest import CSRF, LoginPage
    from tests.oidc.rp import RelyingParty

    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    response = RelyingParty(http, client_id, "https://rp.example/cb").authorize()
    assert response.status_code == 303, response.get_data(as_text=True)
    html = http.get(response.headers["Location"]).get_data(as_text=True)
    return LoginPage(http, response.headers["Location"], CSRF.search(html).group(1), html)


def test_two_nodes_sharing_redis_share_the_failed_login_limits(two_nodes, world):
    from idp.oidc.clients import register_client

    first, second = two_nodes
    with first.app_context():
        client, _ = register_client("Bank", ["https://rp.example/cb"], "client_secret_basic")
        client_id = client.client_id
    on_first = _browser_at(first, client_id, "203.0.113.9")
    for _ in range(2):
        assert _forged(on_first, world.good, world.other).status_code == 403
    # The certificate is held back on the other node too, and so, after two more failures
    # there, is the address.
    on_second = _browser_at(second, client_id, "203.0.113.9")
    _assert_too_many_page(_genuine(on_second, world.good))
    for result in ("not json", "{}"):
        assert on_second.post(result).status_code == 403
    _assert_too_many_page(_genuine(_browser_at(first, client_id, "203.0.113.9"), world.other))
    assert logged_in(_genuine(_browser_at(first, client_id, "198.51.100.20"), world.other))
