"""Behind a TLS-terminating proxy (docs/operators.md §5): the proxy speaks http to the IdP and
forwards the browser's ``Host``; every URL the IdP compares or builds still comes from the
issuer, and ``X-Forwarded-For`` names the client only when a trusted proxy sent it.

The requests below arrive as nginx sends them: ``http://idp.example.jp`` from 127.0.0.1. Before
``idp.proxy.IssuerOrigin``, Authlib saw ``http://idp.example.jp/par`` and answered 500
(``InsecureTransportError``) on /par, /authorize and /token.
"""

from __future__ import annotations

import pytest
from flask import request
from joserfc.jwk import ECKey

from idp.config import ConfigError, ProxyConfig
from idp.proxy import client_address, trusted_networks
from tests.oidc.rp import dpop_proof

ISSUER = "https://localhost:8443"
PROXIED = "http://idp.example.jp"
"""What the IdP behind nginx receives: plain http, the public Host."""
NGINX = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def behind_proxy(tmp_path):
    from tests.conftest import drop_schema, idp_test_config, make_app

    config = idp_test_config(
        f"sqlite:///{tmp_path}/idp.sqlite3",
        issuer=ISSUER,
        proxy=ProxyConfig(trusted=("127.0.0.1", "10.0.0.0/24")),
    )
    application = make_app(config, tmp_path / "instance")

    @application.get("/_seen")
    def seen():
        return {"remote_addr": request.remote_addr, "url": request.url}

    yield application
    drop_schema(application)


@pytest.fixture
def http(behind_proxy):
    return behind_proxy.test_client()


@pytest.fixture
def client(behind_proxy):
    """A FAPI-shaped client: private_key_jwt with ES256, PAR and DPoP required."""
    from idp.oidc.clients import register_client

    key = ECKey.generate_key("P-256", {"use": "sig"}, auto_kid=True)
    with behind_proxy.app_context():
        registered, _ = register_client(
            "RP",
            ["https://rp.example/cb"],
            "private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
            require_par=True,
            require_dpop=True,
        )
        client_id = registered.client_id
    return client_id, key


def _assertion(client_id: str, key) -> dict:
    import secrets
    import time

    from joserfc import jwt

    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": secrets.token_urlsafe(16)}
    claims.update(iat=now, exp=now + 60)
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)
    return {
        "client_id": client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": token,
    }


def _push(http, client_id, key, dpop_key, **headers):
    form = {
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    nonce = None
    for _ in range(2):  # the first answer is use_dpop_nonce (RFC 9449 §8)
        proof = dpop_proof(dpop_key, "POST", ISSUER + "/par", nonce=nonce)
        response = http.post(
            "/par",
            base_url=PROXIED,
            data={**form, **_assertion(client_id, key)},
            environ_base=NGINX,
            headers={"DPoP": proof, **headers},
        )
        nonce = response.headers.get("DPoP-Nonce")
        if response.status_code != 400 or not nonce:
            break
    return response


def test_par_through_the_proxy_answers_201_with_the_issuers_htu(http, client):
    response = _push(http, *client, ECKey.generate_key("P-256"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


def test_forwarded_proto_and_host_change_nothing(http, client):
    """A proof for the Host the proxy forwarded is refused: only the issuer's URL counts."""
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.jp"}
    key = ECKey.generate_key("P-256")
    form_response = _push(http, *client, key, **forged)
    assert form_response.status_code == 201
    proof = dpop_proof(key, "POST", "https://idp.example.jp/par")
    response = http.post(
        "/par",
        base_url=PROXIED,
        environ_base=NGINX,
        headers={"DPoP": proof, **forged},
        data={"response_type": "code", **_assertion(*client)},
    )
    assert (response.status_code, response.json["error"]) == (400, "invalid_dpop_proof")


def test_authorize_and_token_behind_the_proxy_answer_oauth_errors_not_500(http, client):
    request_uri = _push(http, *client, ECKey.generate_key("P-256")).json["request_uri"]
    front = http.get(
        "/authorize",
        base_url=PROXIED,
        environ_base=NGINX,
        query_string={"client_id": client[0], "request_uri": request_uri},
    )
    # Accepted by Authlib: the login step answers (this app has no trust anchors to log in).
    assert front.status_code == 503, front.get_data(as_text=True)
    assert 'data-reason="not_configured"' in front.get_data(as_text=True)
    key = ECKey.generate_key("P-256")
    token = http.post(
        "/token",
        base_url=PROXIED,
        environ_base=NGINX,
        headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/token")},
        data={"grant_type": "authorization_code", "code": "nope", **_assertion(*client)},
    )
    assert (token.status_code, token.json["error"]) == (400, "use_dpop_nonce")
    nonce = token.headers["DPoP-Nonce"]
    token = http.post(
        "/token",
        base_url=PROXIED,
        environ_base=NGINX,
        headers={"DPoP": dpop_proof(key, "POST", ISSUER + "/token", nonce=nonce)},
        data={
            "grant_type": "authorization_code",
            "code": "nope",
            "redirect_uri": "https://rp.example/cb",
            "code_verifier": "v" * 43,
            **_assertion(*client),
        },
    )
    assert (token.status_code, token.json["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("host", ["idp.example.jp", "evil.example", "a" * 300, "[::1]:1"])
def test_a_foreign_host_is_ignored(http, host):
    discovery = http.get(
        "/.well-known/openid-configuration", headers={"Host": host}, environ_base=NGINX
    )
    assert discovery.status_code == 200
    assert discovery.json["issuer"] == ISSUER
    assert discovery.json["pushed_authorization_request_endpoint"] == ISSUER + "/par"
    seen = http.get("/_seen?x=1", headers={"Host": host}, environ_base=NGINX)
    assert seen.json["url"] == ISSUER + "/_seen?x=1"


def test_logout_behind_the_proxy_asks_to_confirm_instead_of_insecure_transport(http):
    response = http.get("/logout", base_url=PROXIED, environ_base=NGINX)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_session_cookie_is_secure_and_host_only(http):
    response = http.get("/logout", base_url=PROXIED, environ_base=NGINX)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Path=/" in cookie
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}
    assert "Domain=" not in cookie


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # nginx on loopback
        ("127.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # a forged left part is ignored
        ("127.0.0.1", "203.0.113.7, 10.0.0.8", "203.0.113.7"),  # two trusted proxies in a row
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not a proxy: the header is ignored
        ("127.0.0.1", "", "127.0.0.1"),  # nothing forwarded
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # garbage stops at the proxy
        ("127.0.0.1", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # all trusted: the leftmost
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_trusts_forwarded_for_only_from_proxies(http, peer, forwarded, client):
    seen = http.get(
        "/_seen", environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": forwarded}
    )
    assert seen.json["remote_addr"] == client


def test_without_trusted_proxies_forwarded_for_is_ignored():
    assert client_address("127.0.0.1", "203.0.113.7", ()) == "127.0.0.1"
    assert client_address("::ffff:127.0.0.1", "203.0.113.7", trusted_networks(["127.0.0.1"])) == (
        "203.0.113.7"
    )


@pytest.mark.parametrize("trusted", [["nginx.internal"], ["10.0.0.0/33"], [1]])
def test_bad_trusted_proxies_are_refused_with_the_setting_named(tmp_path, trusted):
    from tests.conftest import idp_test_config

    config = idp_test_config("sqlite://", proxy=ProxyConfig(trusted=tuple(trusted)))
    with pytest.raises(ConfigError, match=r"proxy\.trusted"):
        config.check()


def test_trusted_proxies_load_from_the_file(tmp_path):
    from idp.config import load_config

    path = tmp_path / "idp.toml"
    path.write_text('environment = "development"\n[proxy]\ntrusted = ["127.0.0.1", "::1"]\n')
    assert load_config({"IDP_CONFIG": str(path)}).proxy.trusted == ("127.0.0.1", "::1")


def test_an_https_issuer_sends_hsts_on_every_response(http):
    for path in ("/logout", "/.well-known/openid-configuration", "/nowhere", "/jwks"):
        response = http.get(path, base_url=PROXIED, environ_base=NGINX)
        assert response.headers["Strict-Transport-Security"] == "max-age=63072000", path


def test_the_language_cookie_is_host_prefixed_over_https(http):
    response = http.get(
        "/nowhere?lang=en", base_url=PROXIED, environ_base=NGINX, headers={"Accept": "text/html"}
    )
    assert response.status_code == 404
    sent = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("__Host-idp_lang=en;") and "Secure" in c for c in sent), sent
