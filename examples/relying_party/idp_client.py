"""Talking to the IdP as a production client would: discovery, PAR, PKCE, private_key_jwt,
DPoP, the token exchange with Authlib's client, and ID-token validation with joserfc.

Every call has a timeout; a refused connection or a timeout becomes ``IdpUnavailable`` (the
friendly "IdP down" page), an OAuth error answer becomes ``IdpError`` with its code. Nothing
here logs a token, a key or a personal claim.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from joserfc.jwt import JWTClaimsRegistry

from .dpop import DPoPSigner
from .protocol import (
    ACR_SIGN_IDENTITY,
    LOGOUT_EVENT,
    SCOPES,
    VERIFIED_CLAIMS_REQUEST,
    Authorization,
    IdpError,
    IdpUnavailable,
    InvalidToken,
    Login,
)
from .settings import SIGNING_ALG

TIMEOUT = 10


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FreshPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt with a short ``exp`` (the IdP accepts five minutes at most)
    and the key's ``kid``, so the IdP finds the key in the registered JWK Set."""

    def sign(self, auth, token_endpoint):
        now = int(time.time())
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            claims={"iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(24)},
            header={"kid": auth.client_secret.kid},
        )


class IdpClient:
    """One registered client of one IdP."""

    def __init__(self, issuer: str, client_id: str, client_key: ECKey, dpop: DPoPSigner) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_key = client_key
        self.dpop = dpop
        self._metadata: dict | None = None
        self._jwks: KeySet | None = None
        self._lock = threading.Lock()

    # --- HTTP ---------------------------------------------------------------------------------

    def _http(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as e:
            raise IdpUnavailable(f"{method} {url}: {type(e).__name__}") from None
        if response.status_code >= 500:
            raise IdpUnavailable(f"{method} {url}: HTTP {response.status_code}")
        return response

    @staticmethod
    def _json(response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            raise IdpError("invalid_response", f"HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict):
            raise IdpError("invalid_response", "not a JSON object")
        if "error" in body:
            raise IdpError(str(body["error"]), str(body.get("error_description", "")))
        return body

    # --- discovery and keys -------------------------------------------------------------------

    def metadata(self) -> dict:
        """OpenID Provider metadata (Discovery §4), fetched once; ``issuer`` must match."""
        with self._lock:
            if self._metadata is None:
                url = self.issuer + "/.well-known/openid-configuration"
                found = self._json(self._http("GET", url))
                if found.get("issuer") != self.issuer:
                    raise IdpError("invalid_issuer", "discovery names another issuer")
                self._metadata = found
            return self._metadata

    def endpoint(self, name: str) -> str:
        url = self.metadata().get(name)
        if not isinstance(url, str):
            raise IdpError("invalid_metadata", f"the IdP does not offer {name}")
        return url

    def keys(self, refresh: bool = False) -> KeySet:
        """The IdP's signing keys (``jwks_uri``); fetched again when a ``kid`` is unknown."""
        with self._lock:
            cached = self._jwks
        if cached is None or refresh:
            body = self._json(self._http("GET", self.endpoint("jwks_uri")))
            cached = KeySet.import_key_set(body)
            with self._lock:
                self._jwks = cached
        return cached

    def _verified(self, token: str) -> jwt.Token:
        """The token if one of the IdP's keys signed it with the algorithm the bank registered
        (JWKS fetched again once for a new kid)."""
        for refresh in (False, True):
            try:
                return jwt.decode(token, self.keys(refresh), algorithms=[SIGNING_ALG])
            except JoseError as e:
                if refresh:
                    raise InvalidToken(f"bad signature or format ({type(e).__name__})") from None
        raise AssertionError("unreachable")

    # --- the authorization request --------------------------------------------------------------

    def _session(self, **kwargs) -> OAuth2Session:
        session = OAuth2Session(
            self.client_id,
            self.client_key,
            token_endpoint_auth_method=FreshPrivateKeyJWT.name,
            **kwargs,
        )
        session.register_client_auth_method(FreshPrivateKeyJWT(alg="ES256"))
        return session

    def begin(self, redirect_uri: str, ui_locales: str, purpose: str) -> Authorization:
        """Push the authorization request (RFC 9126) and return where to send the browser.

        PKCE S256, state and nonce are fresh; the DPoP proof on the push binds the code to the
        bank's DPoP key (``dpop_jkt``, RFC 9449 §10.1).
        """
        session = self._session(redirect_uri=redirect_uri, scope=SCOPES)
        verifier = secrets.token_urlsafe(48)
        challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        form = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "claims": json.dumps(VERIFIED_CLAIMS_REQUEST, ensure_ascii=False),
            "acr_values": ACR_SIGN_IDENTITY,
            "purpose": purpose,
            "ui_locales": ui_locales,
        }
        par = self.endpoint("pushed_authorization_request_endpoint")

        def push(headers: dict[str, str]) -> requests.Response:
            auth = session.client_auth(FreshPrivateKeyJWT.name)
            try:
                return session.post(par, data=form, headers=headers, auth=auth, timeout=TIMEOUT)
            except requests.RequestException as e:
                raise IdpUnavailable(f"PAR: {type(e).__name__}") from None

        response = self.dpop.send("POST", par, push)
        if response.status_code >= 500:
            raise IdpUnavailable(f"PAR: HTTP {response.status_code}")
        pushed = self._json(response)
        query = urlencode({"client_id": self.client_id, "request_uri": pushed["request_uri"]})
        url = f"{self.endpoint('authorization_endpoint')}?{query}"
        return Authorization(state, nonce, verifier, url)

    # --- the callback ---------------------------------------------------------------------------

    def finish(self, pending: Authorization, redirect_uri: str, params: dict[str, str]) -> Login:
        """Check the authorization response, redeem the code (DPoP-bound), validate the ID token."""
        if params.get("state") != pending.state:
            raise IdpError("invalid_state", "the state does not match this browser's request")
        if params.get("iss") != self.issuer:  # RFC 9207: the mix-up defence
            raise IdpError("invalid_issuer", "the response does not come from our IdP")
        if "error" in params:
            raise IdpError(params["error"], params.get("error_description", ""))
        if not params.get("code"):
            raise IdpError("invalid_response", "no code in the response")
        token = self._redeem(params["code"], pending.code_verifier, redirect_uri)
        claims = self.validate_id_token(token["id_token"], pending.nonce)
        return Login(
            access_token=token["access_token"],
            token_type=token.get("token_type", ""),
            scope=token.get("scope", ""),
            expires_in=int(token.get("expires_in", 0)),
            refresh_token=token.get("refresh_token"),
            id_token=token["id_token"],
            claims=claims,
        )

    def _redeem(self, code: str, verifier: str, redirect_uri: str) -> dict:
        session = self._session(redirect_uri=redirect_uri)
        url = self.endpoint("token_endpoint")
        seen: list[requests.Response] = []

        def keep(response: requests.Response) -> requests.Response:
            seen.append(response)
            self.dpop.remember(response)
            return response

        session.register_compliance_hook("access_token_response", keep)

        def fetch(headers: dict[str, str]) -> requests.Response:
            try:
                session.fetch_token(
                    url, code=code, code_verifier=verifier, headers=headers, timeout=TIMEOUT
                )
            except OAuthError:
                pass  # the answer is in ``seen``; its error is raised below
            except requests.RequestException as e:
                raise IdpUnavailable(f"token: {type(e).__name__}") from None
            return seen[-1]

        response = self.dpop.send("POST", url, fetch)
        if response.status_code >= 500:
            raise IdpUnavailable(f"token: HTTP {response.status_code}")
        token = self._json(response)
        if token.get("token_type", "").lower() != "dpop":
            raise IdpError("invalid_response", "the access token is not DPoP-bound")
        if not isinstance(token.get("id_token"), str) or not token.get("access_token"):
            raise IdpError("invalid_response", "no ID token or access token")
        return token

    def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: signature by the IdP, iss, aud (and azp), exp, iat, nonce, acr."""
        claims = self._verified(id_token).claims
        registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
            acr={"essential": True, "value": ACR_SIGN_IDENTITY},
        )
        try:
            registry.validate(claims)
        except JoseError as e:
            raise InvalidToken(f"ID token refused: {e.error} {e.description or ''}") from None
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audience) > 1 and claims.get("azp") != self.client_id:
            raise InvalidToken("ID token refused: azp is not this client")
        return dict(claims)

    def validate_logout_token(self, token: str) -> dict[str, Any]:
        """Back-Channel Logout §2.6: signed by the IdP, typ logout+jwt, iss, aud, iat, exp,
        the back-channel event, sub or sid, and never a nonce."""
        verified = self._verified(token)
        if verified.header.get("typ") != "logout+jwt":
            raise InvalidToken("logout token refused: typ is not logout+jwt")
        claims = verified.claims
        registry = JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as e:
            raise InvalidToken(f"logout token refused: {e.error}") from None
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
            raise InvalidToken("logout token refused: no back-channel logout event")
        if "nonce" in claims:
            raise InvalidToken("logout token refused: it carries a nonce")
        if not claims.get("sid") and not claims.get("sub"):
            raise InvalidToken("logout token refused: neither sid nor sub")
        return dict(claims)

    # --- APIs with the access token -------------------------------------------------------------

    def selfinfo(self, login: Login, category: str) -> dict:
        """``GET /selfinfo/v1/<category>`` with the DPoP-bound access token (docs/selfinfo.md)."""
        url = f"{self.issuer}/selfinfo/v1/{category}"

        def get(headers: dict[str, str]) -> requests.Response:
            headers = {**headers, "Authorization": f"DPoP {login.access_token}"}
            return self._http("GET", url, headers=headers)

        response = self.dpop.send("GET", url, get, access_token=login.access_token)
        if response.status_code in (401, 403):
            error = "insufficient_scope" if response.status_code == 403 else "invalid_token"
            try:
                description = str(response.json().get("error_description", ""))
            except (ValueError, AttributeError):
                description = response.headers.get("WWW-Authenticate", "")
            raise IdpError(error, description)
        return self._json(response)

    # --- documents (contract signing) -----------------------------------------------------------

    def _assertion(self) -> dict[str, str]:
        """private_key_jwt for the document API, whose audience is its own URL."""
        now = int(time.time())
        assertion = private_key_jwt_sign(
            self.client_key,
            client_id=self.client_id,
            token_endpoint=self.issuer + "/documents",
            alg="ES256",
            claims={"iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(24)},
            header={"kid": self.client_key.kid},
        )
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }

    def submit_document(self, body: dict) -> dict:
        """``POST /documents``: the contract to sign; answers document_id and review_url."""
        response = self._http(
            "POST", self.issuer + "/documents", json={**body, **self._assertion()}
        )
        return self._json(response)

    def document(self, document_id: str) -> dict:
        url = f"{self.issuer}/documents/{document_id}"
        return self._json(self._http("GET", url, params=self._assertion()))

    def signed_pdf(self, document_id: str) -> bytes:
        url = f"{self.issuer}/documents/{document_id}/signed.pdf"
        response = self._http("GET", url, params=self._assertion())
        if response.status_code != 200 or response.headers.get("Content-Type") != "application/pdf":
            self._json(response)
            raise IdpError("invalid_response", "no signed PDF")
        return response.content

    # --- logout ---------------------------------------------------------------------------------

    def logout_url(
        self, id_token: str, post_logout_redirect_uri: str, state: str, lang: str
    ) -> str:
        """RP-Initiated Logout 1.0 §2: end the IdP session too, then come back to the bank."""
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": self.client_id,
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "state": state,
                "ui_locales": lang,
            }
        )
        return f"{self.endpoint('end_session_endpoint')}?{query}"
