"""Authlib's OAuth2Session with the guide's ES256 client: PKCE S256 and private_key_jwt with
Authlib's own defaults (its hour-long ``exp``, a fresh ``jti`` each time), PAR through
``session.post`` with its client authentication, the ID token checked with ``CodeIDToken``; DPoP
added by the caller (a proof header, a response hook keeping ``DPoP-Nonce``), userinfo outside
the session, which refuses a ``token_type: DPoP`` token (tested), and refresh through it."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.base_client import OAuthError, UnsupportedTokenTypeError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc.interop.by_hand import DPoP


def test_authlib_logs_in_refreshes_and_reads_userinfo_with_dpop(live_idp):
    idp = live_idp
    meta = requests.get(idp.issuer + "/.well-known/openid-configuration", timeout=10).json()
    token_url = meta["token_endpoint"]
    dpop = DPoP()
    session = OAuth2Session(
        idp.client_id,
        idp.client_key,
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106 (a method name)
        redirect_uri=idp.redirect_uri,
        scope="openid",
        code_challenge_method="S256",
    )
    session.register_client_auth_method(PrivateKeyJWT(token_url, alg="ES256"))
    session.hooks["response"].append(dpop.remember)

    verifier, nonce, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16), "st-1"
    par_url = meta["pushed_authorization_request_endpoint"]
    pushed = session.post(
        par_url,
        withhold_token=True,
        auth=session.client_auth("private_key_jwt"),
        headers={"DPoP": dpop.proof("POST", par_url)},
        data={
            "client_id": idp.client_id,
            "response_type": "code",
            "redirect_uri": idp.redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    query = {"client_id": idp.client_id, "request_uri": pushed.json()["request_uri"]}
    # The "browser": the testing IdP logs in at once (no card) and redirects back with the code.
    answer = requests.get(
        meta["authorization_endpoint"] + "?" + urlencode(query), allow_redirects=False, timeout=10
    )

    def with_proof(send, **grant) -> dict:
        """The session's token or refresh request with a proof, once more after use_dpop_nonce."""

        def attempt() -> dict:
            return send(token_url, headers={"DPoP": dpop.proof("POST", token_url)}, **grant)

        try:
            return attempt()
        except OAuthError as refused:
            if refused.error != "use_dpop_nonce":
                raise
        return attempt()

    token = with_proof(
        session.fetch_token,
        authorization_response=answer.headers["Location"],
        code_verifier=verifier,
        state=state,
    )
    assert token["token_type"] == "DPoP"  # noqa: S105 (a token type)
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(token["id_token"], keys)
    id_token = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"value": idp.issuer}, "aud": {"value": idp.client_id}},
        params={"nonce": nonce},
    )
    id_token.validate()

    with pytest.raises(UnsupportedTokenTypeError):
        session.get(meta["userinfo_endpoint"], timeout=10)
    userinfo = dpop.userinfo(meta["userinfo_endpoint"], token["access_token"])
    assert userinfo["sub"] == id_token["sub"]
    assert userinfo.keys() == {"sub"}  # the login certificate has no name: nothing beyond sub

    refreshed = with_proof(session.refresh_token, refresh_token=token["refresh_token"])
    assert refreshed["token_type"] == "DPoP"  # noqa: S105 (a token type)
    again = dpop.userinfo(meta["userinfo_endpoint"], refreshed["access_token"])
    assert again["sub"] == id_token["sub"]
