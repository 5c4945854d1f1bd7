"""Authlib's client and node's openid-client with an RS256 client key (the other tests of this
directory use the guide's ES256 key): discovery → PAR → authorize → token (private_key_jwt,
PKCE S256) → userinfo against a real HTTP server, the ID token validated by each.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from idp.oidc.clients import register_client
from tests.conftest import drop_schema, idp_test_config, make_app
from tests.oidc.live import free_port, serving

INTEROP = Path(__file__).parent
REDIRECT = "https://rp.example/cb"


@pytest.fixture
def live(tmp_path):
    """(issuer, client_id, private key) of a private_key_jwt client on a served testing IdP."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = idp_test_config(
        f"sqlite:///{tmp_path}/live.sqlite3",
        issuer=issuer,
    )
    app = make_app(config, tmp_path / "instance", cardless_login=True)
    key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS256"}, auto_kid=True)
    with app.app_context():
        client, _ = register_client(
            "Interop",
            [REDIRECT],
            "private_key_jwt",
            require_par=True,
            jwks={"keys": [key.as_dict(private=False)]},
        )
        client_id = client.client_id
    with serving(app, port):
        yield issuer, client_id, key
    drop_schema(app)


def _short_assertions(session, token_endpoint: str) -> None:
    """Assertions valid for two minutes, shorter than Authlib's default hour (both accepted).
    Its ``claims`` dict keeps the first ``jti``, so each request gets a new dict."""
    claims = {"exp": int(time.time()) + 120, "jti": secrets.token_urlsafe(16)}
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint, claims=claims))


def test_authlib_client_completes_the_par_flow(live):
    issuer, client_id, key = live
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(
        client_id,
        key,
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106
        redirect_uri=REDIRECT,
        scope="openid",
    )
    _short_assertions(session, meta["token_endpoint"])
    verifier, nonce, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16), "st-1"
    pushed = session.post(
        meta["pushed_authorization_request_endpoint"],
        withhold_token=True,
        auth=session.client_auth("private_key_jwt"),
        data={
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    url = (
        meta["authorization_endpoint"]
        + "?"
        + urlencode({"client_id": client_id, "request_uri": pushed.json()["request_uri"]})
    )
    _short_assertions(session, meta["token_endpoint"])  # a fresh jti for the token request
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state
    )
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys)
    id_token = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"value": issuer}, "aud": {"value": client_id}},
        params={"nonce": nonce, "access_token": token["access_token"]},
    )
    id_token.validate()
    userinfo = session.get(meta["userinfo_endpoint"]).json()
    assert userinfo["sub"] == id_token["sub"]
    assert userinfo.keys() == {"sub"}  # the login certificate has no name: nothing beyond sub


@pytest.mark.parametrize("dpop", [False, True])
def test_node_openid_client_completes_the_par_flow(live, dpop):
    if not (INTEROP / "node_modules" / "openid-client").exists():
        pytest.fail("openid-client is missing: run script/bootstrap (npm ci in tests/oidc/interop)")
    issuer, client_id, key = live
    payload = {
        "issuer": issuer,
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "jwk": {**key.as_dict(private=True), "kid": key.kid},
        "dpop": dpop,
    }
    node = shutil.which("node")
    done = subprocess.run(
        [node, str(INTEROP / "rp.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["claims"]["iss"] == issuer
    assert result["claims"]["aud"] in (client_id, [client_id])
    assert result["userinfo"]["sub"] == result["claims"]["sub"]
    assert result["token_type"].lower() == ("dpop" if dpop else "bearer")
