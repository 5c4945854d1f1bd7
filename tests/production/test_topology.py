"""The production deployment proven end to end: nginx terminating TLS in front of two gunicorn
nodes on ``config/production.toml``, PostgreSQL, Redis, stand-in J-LIS roots with OCSP and CRLs
(tests/production/topology.py). Every request below goes over https through nginx unless it
names a node. Every response either side saw is checked for its security headers at the end.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from tests.production.client import Bank, Citizen, expect
from tests.production.topology import LOGOUT_REDIRECT_URI, Topology

pytestmark = pytest.mark.production

SEEN: list[requests.Response] = []
"""Every response of this module's flows, for ``test_every_response_carries_its_headers``."""
PUBLIC_CACHING = ("/.well-known/", "/jwks")
STATIC = "/static/"


def _login(topology: Topology, bank: Bank, citizen: Citizen) -> dict:
    request_uri, pending = bank.push()
    page = citizen.open_login(bank.authorization_url(request_uri))
    code = citizen.finish_login(*page, pending)
    return bank.token(code, pending)


def test_complete_card_login_token_userinfo_refresh_logout(topology):
    bank, citizen = Bank(topology), Citizen(topology)
    try:
        tokens = _login(topology, bank, citizen)
        claims = bank.userinfo(tokens["access_token"])
        assert claims["sub"]
        refreshed = expect(bank.refresh(tokens["refresh_token"]), 200, "refresh").json()
        # A DPoP-bound refresh token is kept, not rotated (FAPI 2.0 Security Profile), so a
        # client whose answer was lost retries with the token it holds and gets tokens again.
        assert refreshed["refresh_token"] == tokens["refresh_token"]
        assert bank.userinfo(refreshed["access_token"])["sub"] == claims["sub"]
        retried = expect(bank.refresh(tokens["refresh_token"]), 200, "refresh again").json()
        assert retried["refresh_token"] == tokens["refresh_token"]
        assert retried["access_token"] != refreshed["access_token"]
        assert bank.userinfo(retried["access_token"])["sub"] == claims["sub"]

        logout = citizen.logout(tokens["id_token"])
        assert logout.status_code == 302, logout.text
        assert logout.headers["Location"].startswith(LOGOUT_REDIRECT_URI)
        # Logging out ended the session's token families.
        after = bank.refresh(refreshed["refresh_token"])
        assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")
        # And the browser's next login needs the card again (no session).
        request_uri, _ = bank.push()
        front = citizen.get(bank.authorization_url(request_uri))
        assert front.status_code == 303
        assert "/login/card/" in front.headers["Location"]
    finally:
        SEEN.extend(bank.seen + citizen.seen)


def test_each_request_is_named_by_nginx_and_the_nodes_log_json(topology):
    """nginx's ``$request_id`` replaces any id the client sent; the IdP echoes it and logs its
    lines under it: every line of every node is one JSON object, the audit stream among them."""
    bank, citizen = Bank(topology), Citizen(topology)
    try:
        _login(topology, bank, citizen)
    finally:
        SEEN.extend(bank.seen + citizen.seen)
    sent = "chosen-by-the-client"
    answer = topology.session().get(
        topology.issuer + "/jwks", headers={"X-Request-ID": sent}, timeout=10
    )
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"]), answer.headers
    lines = [
        json.loads(line)
        for node in topology.nodes
        for line in (node.folder / f"{node.name}.log").read_text().splitlines()
    ]
    accepted = [line for line in lines if line.get("event") == "login.accepted"]
    assert accepted, "no audit line for the card login"
    assert all(re.fullmatch(r"[0-9a-f]{32}", line["request_id"]) for line in accepted)


def test_a_par_with_the_public_host_answers_201(topology):
    """nginx forwards ``Host: idp.example.jp`` and plain http: the IdP answers from its issuer."""
    bank = Bank(topology)
    request_uri, _ = bank.push(Host="idp.example.jp", **{"X-Forwarded-Proto": "http"})
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    SEEN.extend(bank.seen)


def test_plain_http_is_redirected_to_the_issuer(topology):
    port = topology.http_port
    response = requests.get(f"http://127.0.0.1:{port}/par?x=1", allow_redirects=False, timeout=5)
    assert response.status_code == 301
    assert response.headers["Location"] == topology.issuer + "/par?x=1"


def test_a_login_started_on_node_1_finishes_on_node_2_after_node_1_dies(topology):
    first, second = topology.nodes
    bank_on_node_1 = Bank(topology, base=first.url)
    request_uri, pending = bank_on_node_1.push()  # stored in Redis by node 1
    bank = Bank(topology)
    bank.dpop_key, bank.dpop_nonce = bank_on_node_1.dpop_key, bank_on_node_1.dpop_nonce
    citizen = Citizen(topology)
    try:
        page = citizen.open_login(bank.authorization_url(request_uri))
        first.kill()
        with pytest.raises(requests.ConnectionError):
            requests.get(first.url + "/jwks", timeout=2)
        code = citizen.finish_login(*page, pending)  # only node 2 is left behind nginx
        tokens = bank.token(code, pending)
        assert bank.userinfo(tokens["access_token"])["sub"]
        # Further logins carry on while node 1 is down.
        for _ in range(2):
            assert _login(topology, Bank(topology), Citizen(topology))["access_token"]
        # Node 2 answers directly too, with the issuer's URLs whatever it was asked.
        discovery = requests.get(second.url + "/.well-known/openid-configuration", timeout=5)
        assert discovery.json()["token_endpoint"] == topology.issuer + "/token"
    finally:
        SEEN.extend(bank.seen + citizen.seen + bank_on_node_1.seen)
        if first.process is None:
            first.start()
    # Back in the pool: both nodes serve again.
    assert requests.get(first.url + "/jwks", timeout=5).status_code == 200


def test_pages_and_endpoints_a_person_or_a_program_may_reach(topology):
    """Beyond the flows: the pages and endpoints they did not touch, each fetched once."""
    citizen, bank = Citizen(topology), Bank(topology)
    for path in (
        "/.well-known/openid-configuration",
        "/jwks",
        "/logout",
        "/account",
        "/authorize?client_id=nobody&response_type=code",
        "/no-such-page",
        "/web/static/pages.css",
    ):
        assert citizen.get(path).status_code < 500, path
    for path in ("/token", "/par", "/introspect", "/revoke", "/register"):
        assert bank.http.post(topology.issuer + path, timeout=10).status_code < 500, path
    assert bank.http.get(topology.issuer + "/userinfo", timeout=10).status_code == 401
    SEEN.extend(citizen.seen + bank.seen)


def test_metrics_are_served_by_each_node_never_through_the_public_name(topology):
    """The site file answers 404 for /metrics, token or not (operators.md §9: a scrape through
    the public name would reach a different node each time); the node itself serves it."""
    bearer = {"Authorization": "Bearer " + topology.env["IDP_METRICS_TOKEN"]}
    node = requests.get(topology.nodes[1].url + "/metrics", headers=bearer, timeout=10)
    assert node.status_code == 200
    assert "jpki_idp_" in node.text
    public = topology.session().get(topology.issuer + "/metrics", headers=bearer, timeout=10)
    assert public.status_code == 404
    assert "jpki_idp_" not in public.text


def _cookies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def test_every_response_carries_its_headers(topology):
    """HSTS, CSP with frame-ancestors, X-Frame-Options, nosniff on every response through
    nginx; no-store on everything but discovery, JWKS and static files; every cookie Secure,
    HttpOnly, SameSite, host-only and ``__Host-`` prefixed."""
    through_nginx = [r for r in SEEN if r.url.startswith(topology.issuer)]
    assert len(through_nginx) > 30, "the flows above did not run"
    paths = set()
    for response in through_nginx:
        path = urlsplit(response.url).path
        paths.add(path.split("/")[1] if path.count("/") > 1 else path)
        where = f"{response.request.method} {path} ({response.status_code})"
        headers = response.headers
        assert headers.get("Strict-Transport-Security") == "max-age=63072000", where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("X-Frame-Options") == "DENY", where
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
        if path.startswith(PUBLIC_CACHING):
            assert "public" in headers["Cache-Control"], where
        elif STATIC not in path:
            assert "no-store" in headers.get("Cache-Control", ""), where
        for cookie in _cookies(response):
            attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
            assert {"secure", "httponly", "samesite", "path"} <= attributes, (where, cookie)
            assert "domain" not in attributes, (where, cookie)
            assert cookie.startswith("__Host-"), (where, cookie)
    for expected in ("/par", "/token", "/userinfo", "/logout", "login", "consent"):
        assert expected in paths, (expected, paths)
