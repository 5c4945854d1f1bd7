"""The settings and how they are read: one frozen dataclass per block of the configuration
file, with its defaults and what each setting means; then ``load_config``, which fills them from a
TOML file named by ``IDP_CONFIG`` and the ``IDP_*`` environment variables (which win), converting
every value to its setting's type and naming every unknown or bad key. Checked by ``problems``."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..jpki.settings import CertificateType, JpkiSettings, RevocationPolicy

Environment = Literal["development", "testing", "production"]
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256")
FAPI_ALGORITHMS = ("PS256", "ES256")
"""FAPI 2.0 Security Profile §5.4.1: the algorithms a FAPI client may use (RS256 is not; EdDSA
it allows, but this IdP does not sign with it)."""


class ConfigError(ValueError):
    """The configuration is unusable; the message names the setting and the reason."""


@dataclass(frozen=True)
class DatabaseConfig:
    """Durable state (clients, signing keys, refresh-token families)."""

    url: str = ""
    """SQLAlchemy URL. Empty: SQLite file ``idp.sqlite3`` in the instance folder (development).
    Production needs PostgreSQL, e.g. ``postgresql+psycopg://idp@db/idp``."""


@dataclass(frozen=True)
class EphemeralConfig:
    """Short-lived state (codes, PAR requests, replay caches), always with a TTL."""

    redis_url: str = ""
    """Redis URL. Empty: the in-process store, which only one process can see."""
    key_prefix: str = "idp:"
    """Prefix of every Redis key, so deployments can share a server."""


@dataclass(frozen=True)
class KeysConfig:
    """Token-signing keys: one ring per algorithm, rotated with overlap."""

    default_algorithm: str = "RS256"
    """Algorithm of ID tokens and access tokens unless a client registered another."""
    algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    """Algorithms offered in discovery; each gets its own key (RFC 7517 ``alg`` per key)."""
    min_publish_seconds: int = 3600
    """How long a next key must have been in JWKS before ``idp keys rotate`` lets it sign,
    so relying parties that cache JWKS already know it. Seconds."""
    reload_seconds: float = 30.0
    """How long a process trusts its cached key ring before re-reading the database, so a key
    rotated by another process is served here within this time. Seconds."""


@dataclass(frozen=True)
class TokensConfig:
    """Lifetimes, in seconds. Short by default: FAPI 2.0 favours short-lived credentials."""

    authorization_code: int = 60
    par_request: int = 60
    id_token: int = 300
    access_token: int = 300
    refresh_token: int = 8 * 3600
    client_assertion_max_age: int = 3600
    """Largest ``exp - now`` accepted in a private_key_jwt assertion (RFC 7523 §3). An hour:
    what common client libraries send (Authlib an hour, idpyoidc ten minutes); each ``jti`` is
    remembered until its assertion's ``exp``, so none is accepted twice."""
    login_transaction: int = 600
    """Time a person has to complete the login step once an authorization request is valid."""
    session: int = 1800
    """Single sign-on session at the IdP (reused without a new card login unless prompt/max_age
    or acr_values demand one)."""


@dataclass(frozen=True)
class DPoPConfig:
    """Where a DPoP proof must carry a server nonce (RFC 9449 §8; docs/operators.md §2)."""

    nonce_at_token: bool = True
    """/token: a proof must carry our nonce, so proofs made in advance by someone who briefly
    held the client's DPoP key cannot obtain or refresh tokens later (§11.2). Off only for
    clients that cannot retry with a nonce."""
    nonce_at_par: bool = False
    """/par: the proof only names the key the code is bound to, and the token request that
    redeems the code must prove that key again (with a nonce at /token): a nonce here protects
    nothing more and costs a round trip, so it is off unless asked for."""


@dataclass(frozen=True)
class LoginConfig:
    """The login step."""

    bridge_url: str = "http://127.0.0.1:8003"
    """Where the login page finds the card bridge on the citizen's machine (``jpki-bridge run``'s
    default). Loopback http only (``idp.web.bridge``); also the pages' CSP ``connect-src``."""


@dataclass(frozen=True)
class AdminConfig:
    """The administrative surface."""

    registration_token: str = ""
    """Bearer credential for dynamic client registration (RFC 7591). Empty: registration off."""


@dataclass(frozen=True)
class MetricsConfig:
    """The Prometheus endpoint for operators (docs/operators.md §9)."""

    token: str = ""
    """Bearer credential the scraper presents at ``GET /metrics``. Empty: the endpoint is off
    (404). Compared in constant time, like ``admin.registration_token``."""


@dataclass(frozen=True)
class DocumentsConfig:
    """Documents to sign (docs/documents.md): how long a finished request is kept."""

    retention_days: int = 30
    """Days a finished request stays readable by ``GET /documents/<id>``: after ``signed_at``
    for a signed one (its CMS and signed PDF carry the citizen's basic four facts), after
    ``expires_at`` for a declined or expired one. ``idp documents purge`` then deletes it."""
    tsa_url: str = ""
    """RFC 3161 time-stamping authority for PAdES B-T and above; empty: only B-B is made."""
    tsa_trust: str = ""
    """A PEM file or folder of the roots the TSA's certificate must chain to."""


@dataclass(frozen=True)
class OperatorConfig:
    """Who runs this IdP, in the footer of every citizen page; all required in production."""

    name_ja: str = ""
    """The operator's name in Japanese."""
    name_en: str = ""
    """The operator's name in English."""
    privacy_policy_url: str = ""
    """The operator's privacy policy (https in production)."""
    contact_url: str = ""
    """Where a citizen contacts the operator (https in production)."""
    loss_report_phone: str = ""
    """The 24-hour number for suspending a lost My Number Card, which the on-hold page cites."""


@dataclass(frozen=True)
class ClientUrlsConfig:
    """URLs a client registered that the IdP requests (jwks_uri, sector_identifier_uri,
    backchannel_logout_uri): only public addresses, checked at registration and every request
    (``idp.oidc.client_urls``)."""

    allow_loopback: bool = False
    """Also allow loopback (127.0.0.0/8, ::1, and http to it), where the tests' and the demo's
    relying parties run. Never in production; a deliberate choice everywhere else."""


@dataclass(frozen=True)
class TimeoutsConfig:
    """How long the IdP waits for PostgreSQL and Redis before it answers 503 (seconds).

    Each is well under gunicorn's worker ``timeout`` (30 s), so a stalled dependency ends one
    request with a clear answer instead of getting the worker killed mid-request."""

    database_connect: int = 5
    """Opening a PostgreSQL connection (libpq ``connect_timeout``; whole seconds, at least 2)."""
    database_statement: int = 10
    """Longest a PostgreSQL statement may run (``statement_timeout``); migrations are exempt."""
    database_pool: float = 5.0
    """Waiting for a free connection of this process's pool."""
    redis_connect: float = 2.0
    """Opening a Redis connection."""
    redis_command: float = 2.0
    """Waiting for a Redis reply."""
    retry_after: int = 5
    """``Retry-After`` of the 503 answered while PostgreSQL or Redis cannot be reached."""


@dataclass(frozen=True)
class ProxyConfig:
    """The TLS-terminating proxy in front of the IdP (docs/operators.md §5, ``idp.proxy``)."""

    trusted: tuple[str, ...] = ()
    """Addresses or networks (``"127.0.0.1"``, ``"10.0.0.0/24"``) of the proxies whose
    ``X-Forwarded-For`` gives the client's address. Empty: no forwarded header is trusted and the
    client is the connection's peer. Scheme and host always come from ``issuer``."""


@dataclass(frozen=True)
class LimitsConfig:
    """Rate limits, shared by every process through the ephemeral store (docs/operators.md,
    Rate limits). Each is ``"N per [M] second|minute|hour|day"`` (the ``limits`` library's
    notation): at most N in a window of M units that starts with the first one counted. Over
    it, the IdP answers 429 with ``Retry-After``."""

    par_per_client: str = "3000 per minute"
    """Pushed authorization requests of one authenticated client."""
    token_per_client: str = "6000 per minute"  # noqa: S105 (a rate, not a secret)
    """Token requests (codes and refreshes) of one authenticated client."""
    challenges_per_login: str = "20 per 10 minutes"
    """Card challenges issued to one login transaction (its page and each new attempt)."""
    failed_logins_per_certificate: str = "10 per 15 minutes"
    """Refused card logins with one certificate (its issuer and serial); then every login with
    it waits. The responder or CRL being unavailable is not the card's failure: not counted."""
    failed_logins_per_ip: str = "100 per 15 minutes"
    """Refused card logins from one client address; generous, as a carrier's or a company's
    NAT puts many citizens behind one address."""
    registrations_per_token: str = "30 per hour"  # noqa: S105 (a rate, not a secret)
    """Client registrations (RFC 7591) with one initial access token."""
    prepares_per_document: str = "10 per 10 minutes"
    """Signing attempts prepared for one document (each costs seconds of PDF work)."""


def parse_rate_limit(text: str) -> Any:
    """The ``limits`` item for ``text``, or ValueError naming what is wrong with it."""
    from limits import parse_many

    items = parse_many(text)  # ValueError: not the notation
    if len(items) != 1:
        raise ValueError("one rate per setting")
    if items[0].amount < 1 or re.search(r"(per|/)\s*0+\s*[a-z]", text.lower()):
        raise ValueError("the number and the window must be at least 1")
    return items[0]


@dataclass(frozen=True)
class Config:
    """Everything the IdP needs. Defaults other than ``environment`` serve ``idp run`` on a
    laptop (``IDP_ENV=development``), nothing more."""

    environment: Environment = "production"
    """``production`` (default: a deployment that does not say what it is gets every production
    check), ``development`` (a laptop, the demo) or ``testing`` (test suites). The latter two
    refuse to start on anything production-shaped (``_non_production_problems``)."""
    issuer: str = "http://127.0.0.1:8000"
    """The issuer identifier (OIDC Discovery §3); https and no query or fragment in production."""
    secret_key: str = ""
    """Secret for sessions and for the key that encrypts signing keys at rest. Empty outside
    production: generated once and kept in the instance folder. 32+ characters in production."""
    processes: int = 1
    """IdP processes sharing this state (workers × hosts). More than one needs Redis."""
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    ephemeral: EphemeralConfig = field(default_factory=EphemeralConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    tokens: TokensConfig = field(default_factory=TokensConfig)
    dpop: DPoPConfig = field(default_factory=DPoPConfig)
    login: LoginConfig = field(default_factory=LoginConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    documents: DocumentsConfig = field(default_factory=DocumentsConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    timeouts: TimeoutsConfig = field(default_factory=TimeoutsConfig)
    client_urls: ClientUrlsConfig = field(default_factory=ClientUrlsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    operator: OperatorConfig = field(default_factory=OperatorConfig)
    jpki: JpkiSettings = field(default_factory=JpkiSettings)
    """The JPKI core's own block (``idp/jpki/settings.py``: trust anchors, revocation, OCSP, CRL),
    ``[jpki]`` in the file; per-type tables are keyed ``auth`` / ``sign``."""

    def check(self) -> Config:
        """Refuse unsafe or inconsistent settings; return self so calls chain."""
        from .problems import problems  # they read a Config: imported here, not above

        for problem in problems(self):
            raise ConfigError(problem)
        return self


ENV_VARIABLES: dict[str, tuple[str, ...]] = {
    "IDP_ENV": ("environment",),
    "IDP_ISSUER": ("issuer",),
    "IDP_SECRET_KEY": ("secret_key",),
    "IDP_PROCESSES": ("processes",),
    "IDP_DATABASE_URL": ("database", "url"),
    "IDP_REDIS_URL": ("ephemeral", "redis_url"),
    "IDP_ADMIN_TOKEN": ("admin", "registration_token"),
    "IDP_METRICS_TOKEN": ("metrics", "token"),
}
"""The environment variables read, and the setting each one fills."""


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The checked configuration from ``IDP_CONFIG`` (a TOML file) and ``IDP_*`` variables."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path := environ.get("IDP_CONFIG"):
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"IDP_CONFIG={path}: cannot read it ({e})") from None
    for name, (*blocks, key) in ENV_VARIABLES.items():
        if name in environ:
            target = data
            for block in blocks:
                target = target.setdefault(block, {})
            target[key] = environ[name]
    config = _development_defaults(from_mapping(data), data)
    try:
        return config.check()
    except ConfigError as e:
        if "environment" in data:
            raise
        raise ConfigError(
            f"{e} (no environment is set, so this is production; on a laptop set "
            "IDP_ENV=development or use IDP_CONFIG=config/development.toml)"
        ) from None


def _development_defaults(config: Config, data: Mapping[str, Any]) -> Config:
    """Development accepts the sandbox's test roots unless the file says otherwise.

    JpkiSettings defaults to refusing them, because the JPKI core must be safe on its own; the
    IdP's development environment is where the sandbox is the J-LIS, so it opts in here.
    """
    jpki = data.get("jpki", {})
    if config.environment != "development" or "allow_test_roots" in jpki:
        return config
    return dataclasses.replace(config, jpki=dataclasses.replace(config.jpki, allow_test_roots=True))


def from_mapping(data: Mapping[str, Any], cls: type = Config, where: str = "") -> Any:
    """Build ``cls`` from nested mappings, converting and naming every bad or unknown key."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown setting {where}{key}")
        default = fields[key].default_factory  # type: ignore[misc]
        if default is JpkiSettings:
            values[key] = _jpki_settings(value, f"{where}{key}.")
        elif dataclasses.is_dataclass(default):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}{key} must be a table of settings")
            values[key] = from_mapping(value, default, f"{where}{key}.")
        else:
            values[key] = _convert(value, fields[key].default, f"{where}{key}")
    return cls(**values)


JPKI_PER_TYPE = {
    "trust_anchors": Path,
    "revocation": RevocationPolicy,
    "ocsp_urls": str,
    "crl_urls": str,
    "delta_crl_urls": str,
}
"""JpkiSettings fields that are tables keyed by certificate type, and their value types."""


def _jpki_settings(data: Any, where: str) -> JpkiSettings:
    """The ``[jpki]`` block: per-type tables keyed ``auth``/``sign``, then scalar settings."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where.rstrip('.')} must be a table of settings")
    scalars = {k: v for k, v in data.items() if k not in JPKI_PER_TYPE}
    values = vars(from_mapping(scalars, JpkiSettings, where))
    for key, kind in JPKI_PER_TYPE.items():
        if key not in data:
            continue
        table = data[key]
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}{key} must be a table keyed auth/sign")
        try:
            values[key] = {CertificateType(t): kind(v) for t, v in table.items()}
        except ValueError as e:
            raise ConfigError(f"{where}{key}: {e}") from None
    return JpkiSettings(**values)


def _convert(value: Any, default: Any, name: str) -> Any:
    """Coerce strings from the environment to the type of the field's default."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "1")
            return bool(value)
        if isinstance(default, int | float):
            return type(default)(value)
        if isinstance(default, Path):
            return Path(value)
        if isinstance(default, tuple):
            return tuple(value.split(",") if isinstance(value, str) else value)
        if isinstance(default, frozenset):
            return frozenset(value.split(",") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a {type(default).__name__}") from None
    return value
