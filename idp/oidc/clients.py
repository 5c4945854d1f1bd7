"""Registering relying parties: one validation path for ``idp client add`` and RFC 7591.

Every rule here fails closed with a ``ClientRejected`` naming the field, which RFC 7591 maps to
``invalid_redirect_uri`` / ``invalid_client_metadata``. Pairwise subjects (OIDC Core §8.1) need
one sector: the host of ``sector_identifier_uri``, else the single host of all redirect URIs.
URLs the IdP requests (jwks_uri, sector_identifier_uri, backchannel_logout_uri) must reach
public addresses only (``client_urls``), at registration and again at every request.

Production registers FAPI 2.0 clients only (``fapi.fapi_shortfalls``): PAR required, DPoP-bound
tokens, ``private_key_jwt``, PS256 or ES256. Development and testing still register others, each
with a warning in the log; a production process refuses to start while such a client is stored
(``fapi.non_fapi_refusal``).
"""

from __future__ import annotations

import logging
import secrets
import time
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import g, has_app_context, has_request_context
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from .. import audit
from ..config import SIGNING_ALGORITHMS
from ..services import Service, services
from ..storage.db import db
from ..storage.models import Client, secret_digest
from . import client_urls
from .auth_methods import AUTH_METHODS, CLIENT_SECRET_BASIC, PRIVATE_KEY_JWT
from .claims import SUPPORTED_SCOPES
from .client_languages import LanguageRejected, check_tagged
from .fapi import fapi_refusal, fapi_shortfalls
from .sectors import SectorRejected, sector_of
from .verified_claims import PURPOSE_LENGTH, TRUST_FRAMEWORKS

SUBJECT_TYPES = ("pairwise", "public")
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")
MAX_RETENTION_DAYS = 36500
VERIFICATION_FIELDS = ("trust_framework", "purpose", "retention_days")
PADES_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""ETSI EN 319 142-1 baseline levels a client may choose for its signed PDFs (``pades_level``,
docs/documents.md); the documents feature makes them."""
"""Client metadata of the eKYC work; see ``check_verification_policy``."""


log = logging.getLogger(__name__)


class ClientRejected(ValueError):
    """Client metadata we refuse; ``error`` is the RFC 7591 §3.2.2 code."""

    def __init__(self, message: str, error: str = "invalid_client_metadata") -> None:
        super().__init__(message)
        self.error = error


def check_redirect_uri(uri: str, production: bool) -> None:
    """Absolute, no fragment (RFC 6749 §3.1.2), https except loopback outside production."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment or "#" in uri:
        raise ClientRejected(
            f"redirect URI {uri!r} must be absolute without fragment", "invalid_redirect_uri"
        )
    if parts.scheme == "http" and (production or parts.hostname not in LOOPBACK):
        raise ClientRejected(f"redirect URI {uri!r} must use https", "invalid_redirect_uri")


def check_fetched_url(name: str, uri: object) -> None:
    """A URL the IdP will request: public addresses only, unless the deliberate
    ``client_urls.allow_loopback`` (``client_urls``: checked again at every request)."""
    if not isinstance(uri, str):
        raise ClientRejected(f"{name} must be a string")
    try:
        client_urls.check(uri, allow_loopback())
    except client_urls.ClientUrlError as e:
        raise ClientRejected(f"{name} {e}") from None


def allow_loopback() -> bool:
    """This app's ``client_urls.allow_loopback``."""
    return services().config.client_urls.allow_loopback


def check_jwks(jwks: dict) -> dict:
    """A JWK Set of public keys only: a private key here would be a leaked client secret."""
    try:
        keys = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as e:
        raise ClientRejected(f"jwks is not a valid JWK Set ({e})") from None
    if not keys.keys or any(k.is_private for k in keys.keys):
        raise ClientRejected("jwks must hold at least one key and no private keys")
    return jwks


def check_verification_policy(
    trust_framework: object, purpose: object, retention_days: object
) -> dict:
    """The eKYC metadata: the law the service verifies under (OIDC4IDA trust
    framework), its stated purpose (shown on the consent screen, 3–300 characters like
    OIDC4IDA's ``purpose``) and how many days it keeps the data. Only the ones given."""
    policy: dict = {}
    if trust_framework is not None:
        if trust_framework not in TRUST_FRAMEWORKS:
            raise ClientRejected(f"trust_framework must be one of {TRUST_FRAMEWORKS}")
        policy["trust_framework"] = trust_framework
    if purpose is not None:
        low, high = PURPOSE_LENGTH
        if not isinstance(purpose, str) or not low <= len(purpose.strip()) <= high:
            raise ClientRejected(f"purpose must be a text of {low} to {high} characters")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in purpose):
            raise ClientRejected("purpose must not contain control characters")
        policy["purpose"] = purpose.strip()
    if retention_days is not None:
        if isinstance(retention_days, bool) or not isinstance(retention_days, int):
            raise ClientRejected("retention_days must be a whole number of days")
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise ClientRejected(f"retention_days must be between 1 and {MAX_RETENTION_DAYS}")
        policy["retention_days"] = retention_days
    return policy


def check_scope(scope: str | None) -> str:
    """The scopes this client may ask for (each request is cut down to them): every supported
    scope when not given; else ``openid`` and supported scopes only. An operator restricts a
    login-only service so that it cannot even ask for self-information."""
    if scope is None:
        return " ".join(SUPPORTED_SCOPES)
    wanted = scope.split() if isinstance(scope, str) else []
    unknown = sorted(set(wanted) - set(SUPPORTED_SCOPES))
    if unknown or "openid" not in wanted:
        raise ClientRejected(f"scope must include openid and only supported scopes ({unknown})")
    return " ".join(dict.fromkeys(wanted))


def check_signing_alg(alg: object, algorithms: tuple[str, ...]) -> str:
    """``id_token_signed_response_alg`` (OIDC Registration §2): one of the algorithms this IdP
    holds keys for (``keys.algorithms``), never ``none`` nor a shared-secret HS* algorithm.

    The same algorithm signs the client's access tokens (``openid.client_signing_alg``). FAPI 2.0
    Security Profile §5.4 allows only PS256, ES256 (or EdDSA); RS256 stays allowed here, also for
    PAR+DPoP clients, because OIDC Registration makes it the default: FAPI clients choose PS256
    or ES256 themselves.
    """
    offered = tuple(a for a in algorithms if a in SIGNING_ALGORITHMS)
    if not isinstance(alg, str) or alg not in offered:
        raise ClientRejected(f"id_token_signed_response_alg must be one of {offered} (got {alg!r})")
    return alg


def register_client(
    name: str,
    redirect_uris: list[str],
    auth_method: str,
    *,
    jwks: dict | None = None,
    jwks_uri: str | None = None,
    require_par: bool = False,
    require_dpop: bool = False,
    subject_type: str = "pairwise",
    sector_identifier_uri: str | None = None,
    backchannel_logout_uri: str | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    trust_framework: str | None = None,
    purpose: str | None = None,
    retention_days: int | None = None,
    scope: str | None = None,
    production: bool = False,
    id_token_signed_response_alg: str | None = None,
    localized: Mapping[str, object] | None = None,
    pades_level: str | None = None,
) -> tuple[Client, str | None]:
    """Validate, store and return the client and its secret (client_secret_basic only).

    ``id_token_signed_response_alg`` must be among this app's ``keys.algorithms``; omitted,
    nothing is stored and the operator's ``keys.default_algorithm`` (RS256) signs.
    ``localized``: the name and purpose per language (``client_name#ja`` …, ``client_languages``).
    """
    if not name or not redirect_uris:
        raise ClientRejected("a client needs a name and at least one redirect URI")
    for uri in redirect_uris:
        check_redirect_uri(uri, production)
    _check_authentication(auth_method, jwks, jwks_uri, production)
    if subject_type not in SUBJECT_TYPES:
        raise ClientRejected(f"subject_type must be one of {SUBJECT_TYPES}")
    if backchannel_logout_uri:
        check_fetched_url("backchannel_logout_uri", backchannel_logout_uri)
    for uri in post_logout_redirect_uris or []:
        check_redirect_uri(uri, production)
    verification_policy = check_verification_policy(trust_framework, purpose, retention_days)
    try:
        tagged = check_tagged(localized or {})
    except LanguageRejected as e:
        raise ClientRejected(str(e)) from None
    if pades_level is not None and pades_level not in PADES_LEVELS:
        raise ClientRejected(f"pades_level must be one of {', '.join(PADES_LEVELS)}")
    signing = _signing(id_token_signed_response_alg)
    _check_fapi(name, auth_method, require_par, require_dpop, signing, production)
    metadata = {
        "client_name": name,
        "redirect_uris": list(redirect_uris),
        "token_endpoint_auth_method": auth_method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": check_scope(scope),
    }
    optional = {
        "jwks": jwks and check_jwks(jwks),
        "jwks_uri": jwks_uri,
        "sector_identifier_uri": sector_identifier_uri,
        "backchannel_logout_uri": backchannel_logout_uri,
        "post_logout_redirect_uris": list(post_logout_redirect_uris or []),
        "pades_level": pades_level,
    }
    metadata |= {k: v for k, v in optional.items() if v} | verification_policy | signing | tagged
    client = Client(
        client_id=secrets.token_hex(16),  # hex: never starts with "-", safe on a command line
        client_id_issued_at=int(time.time()),
        name=name,
        require_par=require_par,
        require_dpop=require_dpop,
        subject_type=subject_type,
        sector_identifier=_sector(redirect_uris, sector_identifier_uri),
    )
    return _stored(client, metadata, auth_method)


def _check_authentication(
    auth_method: str, jwks: dict | None, jwks_uri: str | None, production: bool
) -> None:
    """How the client will prove itself at the token endpoint: a method we offer, a shared secret
    only outside production, and for private_key_jwt exactly one place to find its keys."""
    if auth_method not in AUTH_METHODS:
        raise ClientRejected(f"token_endpoint_auth_method must be one of {AUTH_METHODS}")
    if auth_method == CLIENT_SECRET_BASIC and production:
        raise ClientRejected("client_secret_basic is for development clients only")
    if auth_method == PRIVATE_KEY_JWT and not (jwks or jwks_uri):
        raise ClientRejected("private_key_jwt needs jwks or jwks_uri")
    if jwks and jwks_uri:
        raise ClientRejected("give jwks or jwks_uri, not both (RFC 7591 section 2)")
    if jwks_uri:
        check_fetched_url("jwks_uri", jwks_uri)


def _signing(id_token_signed_response_alg: str | None) -> dict:
    """The metadata that names the client's signing algorithm: none when it chose none, so a
    later change of the operator's ``keys.default_algorithm`` reaches it."""
    if id_token_signed_response_alg is None:
        return {}
    keys = services().config.keys
    alg = check_signing_alg(id_token_signed_response_alg, keys.algorithms)
    return {"id_token_signed_response_alg": alg}


def _check_fapi(
    name: str,
    auth_method: str,
    require_par: bool,
    require_dpop: bool,
    signing: dict,
    production: bool,
) -> None:
    """Production refuses a client that is not FAPI 2.0; elsewhere it is registered with a
    warning, so a development setup shows what production would refuse."""
    keys = services().config.keys
    alg = signing.get("id_token_signed_response_alg", keys.default_algorithm)
    if lacks := fapi_shortfalls(auth_method, require_par, require_dpop, alg):
        if production:
            raise ClientRejected(fapi_refusal(lacks))
        log.warning(
            "client %r is not a FAPI 2.0 client (accepted outside production only): needs %s",
            name,
            "; ".join(lacks),
        )


def _sector(redirect_uris: list[str], sector_identifier_uri: str | None) -> str:
    """The client's sector (OIDC Core §8.1), which its pairwise subjects are computed for."""
    try:
        return sector_of(redirect_uris, sector_identifier_uri, allow_loopback())
    except SectorRejected as e:
        raise ClientRejected(str(e)) from None


def _stored(client: Client, metadata: dict, auth_method: str) -> tuple[Client, str | None]:
    """The client committed with its metadata, and its secret when it authenticates with one:
    shown once to whoever registered it, only its digest kept."""
    secret = secrets.token_urlsafe(32) if auth_method == CLIENT_SECRET_BASIC else None
    client.client_secret = secret_digest(secret) if secret else None
    client.set_client_metadata(metadata)
    db.session.add(client)
    db.session.commit()
    return client, secret


def find_client(client_id: str) -> Client | None:
    """The client with this id, or None (ids are opaque strings, compared exactly).

    Within one HTTP request the answer is remembered: Authlib asks several times per request.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    seen = g.setdefault("idp_clients", {}) if has_request_context() else {}
    if client_id not in seen:
        query = db.select(Client).filter_by(client_id=client_id)
        seen[client_id] = db.session.execute(query).scalar_one_or_none()
    return seen[client_id]


CLIENT_CACHE_SECONDS = 10.0
"""How long a serving process answers from its snapshot of a client. A client changed in this
process is forgotten at once; one changed elsewhere (``idp client remove`` on the operator's
shell, another node's registration endpoint) is seen by every process within this time."""


def serving_client(client_id: str) -> Client | None:
    """The client as the protocol endpoints see it: a read-only snapshot, detached from the
    database session, kept per process for ``CLIENT_CACHE_SECONDS``.

    Every login asked the database for its client four times, one ORM query and hydration each
    (bench/results/flow-profile.md). Anything that changes a client uses ``find_client``.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    cache = services()[CLIENT_CACHE]
    now = time.monotonic()
    found = cache.get(client_id)
    if found is not None and found[0] > now:
        return found[1]
    client = db.session.execute(_CLIENT_BY_ID, {"client_id": client_id}).scalar_one_or_none()
    if client is None:
        return None
    client.client_metadata  # noqa: B018 - parsed now, while attached: the snapshot is complete
    db.session.expunge(client)
    cache[client_id] = (now + CLIENT_CACHE_SECONDS, client)
    return client


_CLIENT_BY_ID = select(Client).where(Client.client_id == bindparam("client_id"))


def client_metadata(client_id: str) -> Mapping[str, object] | None:
    """What pages show of a client (its name and purpose per language, its URIs), from the
    snapshot the protocol endpoints use: the login page of a login whose PAR and authorization
    request just read the client asks the database nothing."""
    client = serving_client(client_id)
    return client.client_metadata if client is not None else None


@event.listens_for(Session, "after_flush")
def _forget_changed_clients(session, _context) -> None:
    """A client written in this process is read again by its next request."""
    if has_app_context() and any(isinstance(o, Client) for o in (*session.dirty, *session.deleted)):
        services()[CLIENT_CACHE] = {}  # a read in flight fills the old one


_AUDIT = "idp.client_audit"


@event.listens_for(Session, "before_flush")
def _note_client_changes(session, _context, _instances) -> None:
    """Every write of a client, whichever path made it, for the audit stream once committed."""
    notes = session.info.setdefault(_AUDIT, [])
    notes += [(audit.CLIENT_REGISTERED, c.client_id) for c in session.new if isinstance(c, Client)]
    notes += [(audit.CLIENT_CHANGED, c.client_id) for c in session.dirty if isinstance(c, Client)]
    notes += [(audit.CLIENT_REMOVED, c.client_id) for c in session.deleted if isinstance(c, Client)]


@event.listens_for(Session, "after_commit")
def _audit_client_changes(session) -> None:
    for event_name, client_id in session.info.pop(_AUDIT, ()):
        audit.emit(event_name, client_id=client_id)


@event.listens_for(Session, "after_rollback")
def _forget_client_changes(session) -> None:
    session.info.pop(_AUDIT, None)


def remove_client(client_id: str) -> bool:
    """Delete the client; True if it existed."""
    client = find_client(client_id)
    if client is None:
        return False
    db.session.delete(client)
    db.session.commit()
    return True


CLIENT_CACHE: Service[dict[str, tuple[float, Client]]] = Service("client cache", default=dict)
"""``serving_client``'s snapshots by client id, with the time each expires."""
