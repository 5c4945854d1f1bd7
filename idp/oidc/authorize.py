"""The authorization endpoint's flow: validate, reuse the session or run the login, then consent.

Nothing is shown before the request is valid (docs/architecture.md §3, step 1). A valid request
becomes a login transaction in the ephemeral store, bound to the browser that started it (a random
value in its session cookie); the authenticator's pages read it with ``pending_login`` (this is its
only record: one write to start a login, one read per page), and the authenticator resumes it with
``finish_login`` in that browser, or gives up with ``cancel_login``. The IdP session is server-side
(ephemeral store, id in the signed Flask session cookie) so logout can end it everywhere.
``max_age``, ``prompt=login`` and acr_values can each force a new login; an acr the login did not
reach is refused, never downgraded, except that the signing certificate's identity (acr
sign-cert-identity) is proven on the consent screen after a card login. Then the consent step
(``approval.CONSENT_STEP``: registered by ``idp.consent``, never imported) decides whether the
citizen must be asked, and issues the code. Single-use records (a pushed request, the login
transaction) are held while a request uses them and put back if it fails before carrying them on
(PostgreSQL down: 503, then the same request_uri or login works again after recovery); of two racing
uses, exactly one gets the record. ``begin_own_login`` runs the same login for the IdP's own pages
(account, document review).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AccessDeniedError, OAuth2Error
from authlib.oidc.core.errors import LoginRequiredError
from flask import abort, redirect

from ..services import services
from ..storage.ephemeral import Put
from ..web import transactions
from ..web.services import remember as remember_service
from . import par
from .approval import CONSENT_STEP
from .authenticator import (
    ACR_CARD_AUTH,
    ACR_SIGN_IDENTITY,
    AUTHENTICATOR,
    LoginResult,
    LoginTransaction,
)
from .grants import MAX_AGE, required_acr
from .server import SERVER
from .sessions import current_login, start_session

TRANSACTION_PREFIX = "login:"


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
    if (
        max_age is not None
        and MAX_AGE.fullmatch(str(max_age))
        and now - login.auth_time > int(max_age)
    ):
        return None
    return found if login.acr in _login_acrs(acceptable) else None


def _login_acrs(acceptable: list[str]) -> list[str]:
    """The acr values a card login may have: the signing certificate's identity is proven on
    the consent screen, after a login with the user-authentication certificate."""
    return [*acceptable, ACR_CARD_AUTH] if ACR_SIGN_IDENTITY in acceptable else acceptable


def authorize():
    """GET/POST /authorize. A pushed request stays held until it is carried on or answered."""
    server, now = services()[SERVER], time.time()
    store = server.services.store()
    request = server.create_oauth2_request(None)
    try:
        response = _authorize(server, store, request, now)
    except BaseException:
        par.release(store, request.payload)
        raise
    ended = par.taken_over(request.payload)
    if ended:
        store.write(*ended)
    return response


def _authorize(server, store, request, now: float):
    try:
        grant = server.get_authorization_grant(request)
        acceptable = _acceptable(request.payload)
        found = _reusable(current_login(store, now), request.payload, acceptable, now)
        request.user = found[1] if found else None
        grant.validate_no_multiple_request_parameter(request)
        redirect_uri = grant.validate_consent_request()
        remember_service(request.client.client_id)  # a page that ends can lead back there
        if found is None and "none" in (request.payload.data.get("prompt") or "").split():
            raise LoginRequiredError(redirect_uri=redirect_uri)
    except OAuth2Error as error:
        return server.authorization_error(request, error)
    if found is None:
        return _begin_login(server, store, request, acceptable)
    sid, login = found
    return services()[CONSENT_STEP](server, store, grant, redirect_uri, login, sid, acceptable)


def _begin_login(server, store, request, acceptable: list[str]):
    transaction = LoginTransaction(
        id=secrets.token_urlsafe(32),
        client_name=request.client.name,
        client_id=request.client.client_id,
        acr=ACR_CARD_AUTH if acceptable[0] == ACR_SIGN_IDENTITY else acceptable[0],
        login_hint=request.payload.data.get("login_hint"),
        ui_locales=str(request.payload.data.get("ui_locales") or "")[:100],
    )
    record = {
        "params": dict(request.payload.data.items()),
        "pushed": getattr(request.payload, "pushed", False),
        "acr": acceptable,
    }
    ended = par.taken_over(request.payload)  # the login transaction carries the request on
    response = _begin(server, store, transaction, record, *ended)
    if ended:
        request.payload.held = None  # dropped with the transaction: nothing left to end
    return response


def begin_own_login(return_to: str):
    """A card login for the IdP's own pages; afterwards the browser goes to ``return_to``."""
    parts = urlsplit(return_to)
    if not return_to.startswith("/") or return_to.startswith("//") or parts.scheme:
        raise ValueError("return_to must be a path on this IdP")
    server = services()[SERVER]
    name = urlsplit(server.services.config.issuer).netloc
    transaction = LoginTransaction(
        id=secrets.token_urlsafe(32), client_name=name, acr=ACR_CARD_AUTH
    )
    record = {"own": return_to, "acr": [ACR_CARD_AUTH]}
    return _begin(server, server.services.store(), transaction, record)


def _begin(server, store, transaction: LoginTransaction, record: dict, *ended):
    """Store the login transaction (with what the authenticator's pages show, for
    ``pending_login``) bound to this browser, in the same write as ``ended`` (the end of the
    pushed request's hold), and hand it to the authenticator."""
    fields = {k: v for k, v in dataclasses.asdict(transaction).items() if k != "id"}
    record = transactions.bind({**record, "transaction": fields})
    ttl = server.services.config.tokens.login_transaction
    key, value = TRANSACTION_PREFIX + transaction.id, json.dumps(record).encode()
    if ended:
        store.write(Put(key, value, ttl), *ended)
    else:
        store.set(key, value, ttl)
    return services()[AUTHENTICATOR].begin(transaction)


def pending_login(store, transaction_id: str) -> LoginTransaction | None:
    """The live login transaction if this browser started it; not consumed. The
    authenticator's pages find it here with one read, so the authenticator needs no record of
    its own (and cannot hold one that outlives this, which ``finish_login`` consumes)."""
    record = transactions.pending(store, TRANSACTION_PREFIX, transaction_id)
    if record is None or "transaction" not in record:
        return None
    try:
        return LoginTransaction(id=transaction_id, **record["transaction"])
    except TypeError:  # written by a release with other fields: the login starts again
        return None


def _holding_login(transaction_id: str, then):
    """``then(server, store, tx)`` with the login transaction held: dropped once it answered,
    released if it failed (PostgreSQL down: after recovery the login can finish again)."""
    server = services()[SERVER]
    store = server.services.store()
    key = TRANSACTION_PREFIX + transaction_id if isinstance(transaction_id, str) else None
    raw = store.hold(key) if key else None
    if raw is None:
        abort(400, "This login has expired or was already completed. Start again from the service.")
    tx = json.loads(raw)
    if not transactions.is_mine(tx):
        store.drop(key)
        abort(400, "This login was started in another browser. Start again from the service.")
    try:
        response = then(server, store, tx)
    except BaseException:
        store.release(key)
        raise
    store.drop(key)
    return response


def finish_login(transaction_id: str, login: LoginResult):
    """Called by the authenticator when the person is proven; goes on to consent."""
    return _holding_login(transaction_id, lambda *held: _finish_login(*held, login))


def _finish_login(server, store, tx: dict, login: LoginResult):
    ttl = server.services.config.tokens.session
    if "own" in tx:
        start_session(store, login, ttl)
        return redirect(tx["own"], 303)
    request = server.create_params_request(tx["params"], tx["pushed"])
    try:
        grant = server.get_authorization_grant(request)
        redirect_uri = grant.validate_authorization_request()
        if login.acr not in _login_acrs(tx["acr"]):
            raise AccessDeniedError(
                "the login did not reach the requested acr", redirect_uri=redirect_uri
            )
    except OAuth2Error as error:
        return server.authorization_error(request, error)
    sid = start_session(store, login, ttl)
    return services()[CONSENT_STEP](server, store, grant, redirect_uri, login, sid, tx["acr"])


def cancel_login(transaction_id: str):
    """The person gave up at the login page: ``access_denied`` to the client."""
    return _holding_login(transaction_id, _cancel_login)


def _cancel_login(server, _store, tx: dict):
    if "own" in tx:
        return redirect("/", 303)
    request = server.create_params_request(tx["params"], tx["pushed"])
    try:
        grant = server.get_authorization_grant(request)
        redirect_uri = grant.validate_authorization_request()
        error = AccessDeniedError("the person cancelled the login", redirect_uri=redirect_uri)
    except OAuth2Error as caught:
        error = caught
    return server.authorization_error(request, error)
