"""A minimal client on requests and joserfc alone (no OAuth library): discovery, PAR with a DPoP
proof, private_key_jwt (ES256), PKCE S256, token with the DPoP nonce retry, the ID token checked
by hand, userinfo, refresh, userinfo with the new token: everything the guide's §3–§5 spell out."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from tests.oidc.interop.by_hand import DPoP, client_assertion, validate_id_token


def test_a_requests_client_logs_in_refreshes_and_reads_userinfo_with_dpop(live_idp):
    idp = live_idp
    meta = requests.get(idp.issuer + "/.well-known/openid-configuration", timeout=10).json()
    dpop = DPoP()
    verifier, nonce, state = (secrets.token_urlsafe(48) for _ in range(3))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())

    def post(endpoint: str, form: dict, token: str | None = None) -> requests.Response:
        url = meta[endpoint]
        return dpop.send(
            "POST",
            url,
            lambda headers: requests.post(
                url,
                data={**form, **client_assertion(idp.client_id, idp.client_key, url)},
                headers=headers,
                timeout=10,
            ),
        )

    pushed = post(
        "pushed_authorization_request_endpoint",
        {
            "client_id": idp.client_id,
            "response_type": "code",
            "redirect_uri": idp.redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
    )
    assert pushed.status_code == 201, pushed.text
    query = {"client_id": idp.client_id, "request_uri": pushed.json()["request_uri"]}
    # The "browser": the testing IdP logs in at once (no card) and redirects back with the code.
    answer = requests.get(
        meta["authorization_endpoint"] + "?" + urlencode(query), allow_redirects=False, timeout=10
    )
    callback = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert callback["state"] == state
    assert callback["iss"] == idp.issuer  # RFC 9207

    granted = post(
        "token_endpoint",
        {
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": idp.redirect_uri,
            "code_verifier": verifier,
        },
    )
    assert granted.status_code == 200, granted.text
    tokens = granted.json()
    assert tokens["token_type"] == "DPoP"  # noqa: S105 (a token type)
    claims = validate_id_token(tokens["id_token"], meta, idp.client_id, nonce)
    userinfo = dpop.userinfo(meta["userinfo_endpoint"], tokens["access_token"])
    assert userinfo["sub"] == claims["sub"]
    assert userinfo.keys() == {"sub"}  # the login certificate has no name: nothing beyond sub

    refreshed = post(
        "token_endpoint", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    again = dpop.userinfo(meta["userinfo_endpoint"], refreshed.json()["access_token"])
    assert again["sub"] == claims["sub"]
