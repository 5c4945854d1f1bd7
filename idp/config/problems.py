"""Every reason to refuse a configuration (``Config.check``), most fundamental first: the
settings' own ranges, then production's demands (``bounds``), or the signs of production that
development and testing must refuse."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

from ..jpki.anchors import non_test_roots
from .bounds import production_bound_problems
from .settings import (
    SIGNING_ALGORITHMS,
    Config,
    LimitsConfig,
    ProxyConfig,
    TimeoutsConfig,
    parse_rate_limit,
)


def problems(c: Config):
    """Yield each reason to refuse ``c``, most fundamental first: ``Config.check`` reports the
    first, so a deployment that is wrong in several ways hears about what the rest rests on."""
    yield from _deployment_problems(c)
    yield from _value_problems(c)
    yield from _status_problems(c)
    yield from _revocation_source_problems(c)
    yield from _proxy_problems(c.proxy)
    yield from _timeout_problems(c.timeouts)
    if c.client_urls.allow_loopback and c.environment == "production":
        yield "production refuses client_urls.allow_loopback: clients could aim the IdP at itself"
    yield from _limit_problems(c.limits)
    if c.environment == "production":
        yield from _production_problems(c, urlsplit(c.issuer).scheme)
    elif c.environment in ("development", "testing"):
        yield from _non_production_problems(c)


def _deployment_problems(c: Config):
    """What the deployment is: its environment, its issuer, and whether its processes can share
    state; every later check reads these."""
    if c.environment not in ("development", "testing", "production"):
        yield f"environment must be development, testing or production, not {c.environment!r}"
    url = urlsplit(c.issuer)
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        yield f"issuer {c.issuer!r} must be an http(s) URL without query or fragment"
    if c.processes < 1:
        yield "processes must be at least 1"
    if c.processes > 1 and not c.ephemeral.redis_url:
        yield (
            f"processes is {c.processes} but IDP_REDIS_URL is empty: the in-process store is "
            "invisible to the other processes, so codes, PAR requests and replay caches would "
            "be lost or accepted twice. Configure Redis or run one process."
        )


def _revocation_source_problems(c: Config):
    """The OCSP breaker and the CRL fallback need positive numbers (docs/operators.md §7)."""
    for name in ("ocsp_max_concurrent", "ocsp_breaker_failures", "ocsp_breaker_open"):
        if getattr(c.jpki, name) <= 0:
            yield f"jpki.{name} must be positive"
    for name in ("ocsp_failure_ttl", "crl_fallback_max_age"):
        if getattr(c.jpki, name) < 0:
            yield f"jpki.{name} must not be negative"


def _value_problems(c: Config):
    """Values no environment can use: an algorithm we cannot sign with, a lifetime or a
    retention that ends before it starts."""
    bad = [a for a in c.keys.algorithms if a not in SIGNING_ALGORITHMS]
    if bad or c.keys.default_algorithm not in c.keys.algorithms:
        yield f"keys: algorithms must be among {SIGNING_ALGORITHMS} and include the default"
    for name, value in dataclasses.asdict(c.tokens).items():
        if value <= 0:
            yield f"tokens.{name} must be a positive number of seconds"
    if c.documents.retention_days < 1:
        yield "documents.retention_days must be at least 1 (services fetch the outcome first)"
    if bool(c.documents.tsa_url) != bool(c.documents.tsa_trust):
        yield "documents.tsa_url and documents.tsa_trust go together (the TSA and its root)"


def _status_problems(c: Config):
    """How the IdP hears of status changes (docs/operators.md §7, "Status changes"): polled
    within ``status_interval``, from a feed whose signer is known."""
    jpki, feed = c.jpki, c.jpki.revocation_feed
    if not 0 < jpki.status_poll_interval < jpki.status_interval:
        yield (
            "jpki.status_poll_interval must be positive and less than jpki.status_interval: "
            "status changes would reach the IdP later than promised"
        )
    if not feed.url:
        return
    if urlsplit(feed.url).scheme not in ("http", "https"):
        yield "jpki.revocation_feed.url must be an http(s) URL"
    if not 1 <= feed.page_size <= 1000:
        yield "jpki.revocation_feed.page_size must be 1 to 1000"
    if not 0 < feed.timeout < jpki.status_interval:
        yield "jpki.revocation_feed.timeout must be positive and less than jpki.status_interval"
    if not feed.certificate:
        yield "jpki.revocation_feed.url needs jpki.revocation_feed.certificate (its signer)"
    elif c.environment == "production" and not _holds_certificates(Path(feed.certificate)):
        yield f"jpki.revocation_feed.certificate {feed.certificate} is not a readable PEM file"


def _holds_certificates(path: Path) -> bool:
    try:
        return bool(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError):
        return False


def _limit_problems(limits: LimitsConfig):
    """Every rate in the ``limits`` notation, read here so a typo stops the start rather than the
    first request it would have limited."""
    for name, value in dataclasses.asdict(limits).items():
        try:
            parse_rate_limit(value)
        except ValueError as e:
            yield f'limits.{name} = {value!r} is not a rate like "10 per 15 minutes" ({e})'


def _proxy_problems(proxy: ProxyConfig):
    from ..proxy import trusted_networks

    try:
        trusted_networks(proxy.trusted)
    except (TypeError, ValueError, AttributeError) as e:
        yield f"proxy.trusted must list IP addresses or networks ({e})"


def _timeout_problems(t: TimeoutsConfig):
    """Timeouts: positive, and libpq counts its connect timeout in whole seconds, 2 or more."""
    for name, value in dataclasses.asdict(t).items():
        if value <= 0:
            yield f"timeouts.{name} must be a positive number of seconds"
    if 0 < t.database_connect < 2:
        yield "timeouts.database_connect must be at least 2 (libpq treats less as 2)"


def _production_problems(c: Config, scheme: str):
    """Dev conveniences that production must not inherit by accident."""
    if scheme != "https":
        yield "production issuer must use https"
    if len(c.secret_key) < 32:
        yield "production needs IDP_SECRET_KEY of at least 32 characters"
    if not c.database.url.startswith("postgresql"):
        yield "production needs PostgreSQL in IDP_DATABASE_URL (SQLite is the development store)"
    if c.keys.min_publish_seconds < 300:
        yield "production keys.min_publish_seconds below 300 lets a key sign before RPs know it"
    if c.jpki.allow_test_roots:
        yield "production refuses jpki.allow_test_roots: sandbox roots would let test cards log in"
    if not c.jpki.trust_anchors:
        yield "production needs jpki.trust_anchors (the J-LIS roots); without them no card is valid"
    if c.metrics.token and len(c.metrics.token) < 32:
        yield "production metrics.token (IDP_METRICS_TOKEN) needs 32+ characters, or empty (off)"
    yield from production_bound_problems(c)


def _non_production_problems(c: Config):
    """Development and testing drop production's checks, so they must not run where production
    would: on a public https issuer, a PostgreSQL server on another machine, or real (non-test)
    trust anchors. Loopback issuers and databases (the demo, the test suites) are fine."""
    issuer = urlsplit(c.issuer)
    if issuer.scheme == "https" and not is_loopback(issuer.hostname):
        yield (
            f"{c.environment} refuses the https issuer {c.issuer!r} on a non-loopback host: "
            'that is a production deployment, set environment = "production" (IDP_ENV)'
        )
    if c.database.url.startswith("postgresql") and not _local_database(c.database.url):
        yield (
            f"{c.environment} refuses a PostgreSQL server on another machine (IDP_DATABASE_URL): "
            "that is a production database; development and tests use a loopback one"
        )
    for kind, folder in sorted(c.jpki.trust_anchors.items()):
        if real := non_test_roots(Path(folder)):
            yield (
                f"{c.environment} refuses jpki.trust_anchors.{kind} ({folder}): it holds "
                f"{len(real)} root(s) that are not sandbox test roots (O=JPKI-TEST); real "
                "J-LIS roots belong to production"
            )


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_database(url: str) -> bool:
    """A PostgreSQL URL whose server is this machine: a loopback host, or no host at all (the
    local Unix socket, also when named by ``?host=/path``)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    hosts = [parts.hostname] if parts.hostname else []
    for value in query.get("host", []) + query.get("hostaddr", []):
        hosts += value.split(",")
    return all(h.startswith("/") or is_loopback(h) for h in hosts)
