"""idpyoidc (IdentityPython's client): discovery, private_key_jwt (ES256), PKCE S256, DPoP on
token, refresh and userinfo, and the ID token validated by the library, with the three
workarounds docs/integration-guide.md gives for idpyoidc 5.0:

- its PAR add-on posts a signed request object and takes only 200 (RFC 9126 §2.2 answers 201):
  the test pushes idpyoidc's own authorization request (PKCE, state, nonce it keeps) itself,
  authenticated by idpyoidc's ``PrivateKeyJWT``;
- its DPoP add-on cannot retry with a server nonce: the operator turns the nonce at /token off
  (``dpop.nonce_at_token = false``);
- its DPoP proofs carry ``ath`` as a hex digest, where RFC 9449 §4.2 wants base64url: the IdP
  refuses them (``invalid_dpop_proof``), so the userinfo service gets a proof function that
  encodes ``ath`` as the RFC says, with the key the add-on minted.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptojwt.jwk.jwk import key_from_jwk_dict
from cryptojwt.key_jar import KeyJar
from idpyoidc.client.client_auth import PrivateKeyJWT
from idpyoidc.client.exception import OidcServiceError
from idpyoidc.client.oauth2.add_on.dpop import DPoPClientAuth, DPoPProof, dpop_header
from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient
from idpyoidc.message import Message

from idp.config import DPoPConfig
from tests.oidc.interop.conftest import LiveIdP, serve


@pytest.fixture
def idp_without_token_nonce(tmp_path):
    """What idpyoidc needs from the operator: no DPoP nonce at /token."""
    yield from serve(tmp_path, DPoPConfig(nonce_at_token=False))


def relying_party(idp: LiveIdP) -> StandAloneClient:
    """idpyoidc's client after discovery, as the guide's client: private_key_jwt with ES256."""
    jwk = {**idp.client_key.as_dict(private=True), "kid": idp.client_key.kid}
    keyjar = KeyJar()
    keyjar.add_keys("", [key_from_jwk_dict(jwk)])
    config = {
        "client_id": idp.client_id,
        "issuer": idp.issuer,
        "redirect_uris": [idp.redirect_uri],
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            },
            "dpop": {
                "function": "idpyoidc.client.oauth2.add_on.dpop.add_support",
                "kwargs": {
                    "dpop_signing_alg_values_supported": ["ES256"],
                    "with_dpop_header": ["accesstoken", "refresh_token", "userinfo"],
                },
            },
        },
    }
    rp = StandAloneClient(config=config, keyjar=keyjar, client_type="oidc")
    rp.do_provider_info()
    context = rp.get_context()
    # Its preferences do not reach the usage it signs with: set what it uses directly.
    context.set_usage("token_endpoint_auth_method", "private_key_jwt")
    context.set_usage("token_endpoint_auth_signing_alg", "ES256")
    context.client_authn_methods["private_key_jwt"] = PrivateKeyJWT()
    context.client_authn_methods["dpop_client_auth"] = DPoPClientAuth()
    return rp


def push(rp: StandAloneClient, idp: LiveIdP) -> str:
    """PAR by hand: idpyoidc's authorization request, pushed with its client assertion; the
    URL for the browser."""
    built = rp.init_authorization(req_args={"scope": "openid"})
    request = Message(**dict(parse_qsl(urlsplit(built).query)))
    assert request["code_challenge_method"] == "S256"
    PrivateKeyJWT().construct(
        request, service=rp.get_service("accesstoken"), authn_endpoint="token_endpoint"
    )
    provider = rp.get_context().provider_info
    pushed = requests.post(
        provider["pushed_authorization_request_endpoint"], data=request.to_dict(), timeout=10
    )
    assert pushed.status_code == 201, pushed.text
    query = {"client_id": idp.client_id, "request_uri": pushed.json()["request_uri"]}
    return requests.Request("GET", provider["authorization_endpoint"], params=query).prepare().url


def rfc9449_dpop_header(service_context, service_endpoint, http_method, headers=None, token="",
                        **kwargs):  # fmt: skip
    """idpyoidc's ``dpop_header`` with ``ath`` = base64url(SHA-256(token)) (RFC 9449 §4.2)."""
    conf = service_context.add_on["dpop"]
    claims = {
        "typ": "dpop+jwt",
        "alg": conf["alg"],
        "jwk": conf["key"].serialize(),
        "jti": uuid.uuid4().hex,
        "htm": http_method,
        "htu": service_context.provider_info[service_endpoint],
        "iat": int(time.time()),
    }
    if token:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    proof = DPoPProof(**claims)
    proof.key = conf["key"]
    return {**(headers or {}), "dpop": proof.create_header()}


def test_idpyoidc_logs_in_with_dpop_refreshes_and_reads_userinfo(idp_without_token_nonce):
    idp = idp_without_token_nonce
    rp = relying_party(idp)
    # The "browser": the testing IdP logs in at once (no card) and redirects back with the code.
    location = requests.get(push(rp, idp), allow_redirects=False, timeout=10).headers["Location"]
    auth = rp.finalize_auth(dict(parse_qsl(urlsplit(location).query)))
    state = auth["state"]
    token = rp.get_access_and_id_token(auth, state=state)
    id_token = token["id_token"]  # verified by idpyoidc: signature, iss, aud, nonce, exp
    assert id_token["iss"] == idp.issuer
    assert idp.client_id in id_token["aud"]

    issued = rp.get_context().cstate.get_set(state, claim=["token_type"])
    refreshed = rp.refresh_access_token(state)
    assert (issued["token_type"], refreshed["token_type"]) == ("DPoP", "DPoP")

    userinfo = rp.get_service("userinfo")
    with pytest.raises(OidcServiceError, match="invalid_dpop_proof"):  # its hex ath
        rp.get_user_info(state, authn_method="dpop_client_auth")
    userinfo.construct_extra_headers.remove(dpop_header)
    userinfo.construct_extra_headers.append(rfc9449_dpop_header)
    info = rp.get_user_info(state, authn_method="dpop_client_auth")
    assert info["sub"] == id_token["sub"]
    assert info.keys() == {"sub"}  # the login certificate has no name: nothing beyond sub


def test_idpyoidc_gets_no_token_where_the_token_endpoint_wants_a_dpop_nonce(live_idp):
    """The default policy: idpyoidc sends one proof without a nonce and gives up on
    use_dpop_nonce, which is why the guide tells its users to ask for the setting."""
    rp = relying_party(live_idp)
    location = requests.get(push(rp, live_idp), allow_redirects=False, timeout=10)
    auth = rp.finalize_auth(dict(parse_qsl(urlsplit(location.headers["Location"]).query)))
    with pytest.raises(OidcServiceError, match="use_dpop_nonce"):
        rp.get_access_and_id_token(auth, state=auth["state"])
