"""The authorization endpoint's flow: validate, reuse the session or run the login, issue a code.

Nothing is shown before the request is valid (architecture.md, step 1). A valid request becomes a
login transaction in the ephemeral store, bound to the browser that started it (a random value in
its session cookie); the authenticator resumes it with ``finish_login`` in that browser. The
IdP session is server-side (ephemeral store, id in the signed Flask session cookie) so logout can
end it everywhere. ``max_age``, ``prompt=login`` and acr_values can each force a new login; an
acr the login did not reach is refused, never downgraded (issue 5 §3).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oidc.core.errors import LoginRequiredError
from flask import abort, current_app, session

from .authenticator import LoginResult, LoginTransaction
from .claims import parse_claims_request, release
from .grants import required_acr


@dataclass(frozen=True)
class Approval:
    """The ``grant_user`` handed to Authlib: who logged in and what this client receives."""

    login: LoginResult
    sub: str
    sid: str
    id_token_claims: dict
    userinfo_claims: dict


def _server():
    return current_app.extensions["idp.oidc.server"]


def current_login(store, now: float) -> tuple[str, LoginResult] | None:
    """The IdP session of this browser, if any."""
    sid = session.get("sid")
    raw = store.get("session:" + sid) if isinstance(sid, str) else None
    if raw is None:
        return None
    data = json.loads(raw)
    login = LoginResult(**{**data, "amr": tuple(data["amr"])})
    return (sid, login) if login.auth_time <= now else None


def start_session(store, login: LoginResult, ttl: float) -> str:
    sid = secrets.token_urlsafe(32)
    store.set("session:" + sid, json.dumps(dataclasses.asdict(login)).encode(), ttl)
    session.clear()  # a new session id after login: no session fixation
    session["sid"] = sid
    return sid


def _acceptable(payload) -> list[str]:
    try:
        return required_acr(payload)
    except OAuth2Error:
        return []  # the grant's policy raises it again, with the redirect URI


def _reusable(found, payload, acceptable: list[str], now: float):
    """The session's login if this request allows reusing it."""
    if found is None or "login" in (payload.data.get("prompt") or "").split():
        return None
    _, login = found
    max_age = payload.data.get("max_age")
    if max_age is not None and str(max_age).isdigit() and now - login.auth_time > int(max_age):
        return None
    return found if login.acr in acceptable else None


def authorize():
    """GET/POST /authorize."""
    server, now = _server(), time.time()
    store = server.services.store()
    request = server.create_oauth2_request(None)
    try:
        grant = server.get_authorization_grant(request)
        acceptable = _acceptable(request.payload)
        found = _reusable(current_login(store, now), request.payload, acceptable, now)
        request.user = found[1] if found else None
        grant.validate_no_multiple_request_parameter(request)
        redirect_uri = grant.validate_consent_request()
        if found is None and "none" in (request.payload.data.get("prompt") or "").split():
            raise LoginRequiredError(redirect_uri=redirect_uri)
    except OAuth2Error as error:
        return server.authorization_error(request, error)
    if found is None or grant.prompt in ("login", "consent"):
        return _begin_login(server, store, request, acceptable)
    return issue(server, grant, found[1], found[0])


def _begin_login(server, store, request, acceptable: list[str]):
    tx_id = secrets.token_urlsafe(32)
    pushed = getattr(request.payload, "pushed", False)
    browser = session.setdefault("browser", secrets.token_urlsafe(16))
    record = {
        "params": dict(request.payload.data.items()),
        "pushed": pushed,
        "acr": acceptable,
        "browser": browser,
    }
    store.set(
        "login:" + tx_id,
        json.dumps(record).encode(),
        server.services.config.tokens.login_transaction,
    )
    client = request.client
    transaction = LoginTransaction(
        id=tx_id,
        client_name=client.name,
        acr=acceptable[0],
        login_hint=request.payload.data.get("login_hint"),
    )
    return current_app.extensions["idp.authenticator"].begin(transaction)


def finish_login(transaction_id: str, login: LoginResult):
    """Called by the authenticator when the person is proven; answers the relying party."""
    server = _server()
    store = server.services.store()
    raw = store.take("login:" + transaction_id) if isinstance(transaction_id, str) else None
    if raw is None:
        abort(400, "This login has expired or was already completed. Start again from the service.")
    tx = json.loads(raw)
    if not hmac.compare_digest(str(session.get("browser", "")), tx["browser"]):
        abort(400, "This login was started in another browser. Start again from the service.")
    request = server.create_params_request(tx["params"], tx["pushed"])
    try:
        grant = server.get_authorization_grant(request)
        redirect_uri = grant.validate_authorization_request()
        if login.acr not in tx["acr"]:
            raise AccessDeniedError(
                "the login did not reach the requested acr", redirect_uri=redirect_uri
            )
    except OAuth2Error as error:
        return server.authorization_error(request, error)
    sid = start_session(store, login, server.services.config.tokens.session)
    return issue(server, grant, login, sid)


def issue(server, grant, login: LoginResult, sid: str):
    """Issue the code for ``login`` to this grant's client (Authlib adds ``iss``, RFC 9207)."""
    client = grant.request.client
    claims_request = parse_claims_request(grant.request.payload.data.get("claims"))
    id_claims, userinfo_claims = release(login.claims, grant.request.scope or "", claims_request)
    sub = server.services.subjects.for_client(login.account_id, client)
    approval = Approval(login, sub, sid, id_claims, userinfo_claims)
    return server.create_authorization_response(
        request=grant.request, grant_user=approval, grant=grant
    )
