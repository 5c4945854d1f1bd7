"""requests-oauthlib: its OAuth2Session builds the authorization request (state, PKCE S256) and
runs the token and refresh requests (checking state), with what it lacks done by hand
(tests/oidc/interop/by_hand.py), as docs/integration-guide.md says for it:

- no PAR: the session's authorization URL is pushed with ``session.post``;
- no private_key_jwt: the client assertion goes in as extra body members
  (``include_client_id=True``, or it sends HTTP Basic with an empty secret);
- no DPoP: a proof goes in as a header; the ``use_dpop_nonce`` answer raises, so a response hook
  keeps the server's ``DPoP-Nonce`` for the one retry; once it holds a ``token_type: DPoP``
  token every request through the session raises ``ValueError``, so userinfo is sent with
  requests and a proof;
- no ID token check: done by hand.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from tests.oidc.interop.by_hand import DPoP, client_assertion, validate_id_token


def test_requests_oauthlib_logs_in_refreshes_and_reads_userinfo_with_dpop(live_idp, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test IdP is on http://127.0.0.1
    idp = live_idp
    meta = requests.get(idp.issuer + "/.well-known/openid-configuration", timeout=10).json()
    token_url = meta["token_endpoint"]
    dpop = DPoP()
    session = OAuth2Session(
        idp.client_id, redirect_uri=idp.redirect_uri, scope=["openid"], pkce="S256"
    )
    session.hooks["response"].append(dpop.remember)

    nonce = secrets.token_urlsafe(16)
    built, _state = session.authorization_url(meta["authorization_endpoint"], nonce=nonce)
    par_url = meta["pushed_authorization_request_endpoint"]
    pushed = session.post(
        par_url,
        data={
            **dict(parse_qsl(urlsplit(built).query)),
            **client_assertion(idp.client_id, idp.client_key, par_url),
        },
        headers={"DPoP": dpop.proof("POST", par_url)},
        timeout=10,
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
            return send(
                token_url,
                headers={"DPoP": dpop.proof("POST", token_url)},
                **grant,
                **client_assertion(idp.client_id, idp.client_key, token_url),
            )

        try:
            return attempt()
        except OAuth2Error as refused:
            if refused.error != "use_dpop_nonce":
                raise
        return attempt()

    callback = answer.headers["Location"]  # the session checks the state it made
    token = with_proof(session.fetch_token, authorization_response=callback, include_client_id=True)
    assert token["token_type"] == "DPoP"  # noqa: S105 (a token type)
    claims = validate_id_token(token["id_token"], meta, idp.client_id, nonce)

    with pytest.raises(ValueError, match="Unsupported token type: DPoP"):
        session.get(meta["userinfo_endpoint"], timeout=10)
    userinfo = dpop.userinfo(meta["userinfo_endpoint"], token["access_token"])
    assert userinfo["sub"] == claims["sub"]
    assert userinfo.keys() == {"sub"}  # the login certificate has no name: nothing beyond sub

    refreshed = with_proof(
        session.refresh_token, refresh_token=token["refresh_token"], client_id=idp.client_id
    )
    assert refreshed["token_type"] == "DPoP"  # noqa: S105 (a token type)
    again = dpop.userinfo(meta["userinfo_endpoint"], refreshed["access_token"])
    assert again["sub"] == claims["sub"]
