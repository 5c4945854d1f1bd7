"""The IdP's metrics: every counter and histogram, defined once, with bounded labels only.

Label values come from fixed sets the code defines (refusal reasons, grant types, OAuth error
codes, endpoint names, certificate types), never from a person or a request: no sub, account,
serial, token, address or path (docs/operators.md §9). Values a request could choose are mapped
to ``other`` (``bounded``).

With ``PROMETHEUS_MULTIPROC_DIR`` set before the first import, prometheus_client keeps each
value in a per-process file there and ``/metrics`` sums the workers (``idp.metrics.views``).
There are no ``Gauge`` objects: the gauges (CRL nextUpdate, signing keys) are computed when
scraped from state every worker shares (``idp.metrics.collectors``), so no multiprocess
aggregation mode could make them disagree.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
"""The IdP's own registry (not the library's global one): only ``jpki_idp_*`` is exposed."""
PREFIX = "jpki_idp_"
OTHER = "other"


def bounded(value: object, allowed: frozenset[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other``: a label set nobody can grow."""
    return value if isinstance(value, str) and value in allowed else OTHER


def _counter(name: str, documentation: str, labels: tuple[str, ...]) -> Counter:
    return Counter(PREFIX + name, documentation, labels, registry=REGISTRY)


def _histogram(name: str, documentation: str, labels: tuple[str, ...], buckets) -> Histogram:
    return Histogram(PREFIX + name, documentation, labels, registry=REGISTRY, buckets=buckets)


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; 0.5 is a bucket edge because the login and /token alerts use it."""

# Card logins (idp/login/views.py).
card_logins = _counter(
    "card_logins_total",
    "Card logins that succeeded, by the revocation source that answered (ocsp, crl).",
    ("revocation",),
)
card_login_refusals = _counter(
    "card_login_refusals_total",
    "Card logins refused, by reason (the JPKI core's reason, csrf, or rate_limited).",
    ("reason",),
)

# Consent screen (idp/consent/views.py).
consent_decisions = _counter(
    "consent_decisions_total",
    "Consent decisions: approved or denied, and the card key that approved (none, auth, sign).",
    ("decision", "card"),
)
consent_refusals = _counter(
    "consent_refusals_total",
    "Consent forms refused before any decision (csrf, altered_form, card_step_skipped).",
    ("reason",),
)
card_step_ups = _counter(
    "card_step_ups_total",
    "Card step-ups with the authentication key at the consent screen: verified or the refusal "
    "reason.",
    ("outcome",),
)
identity_verifications = _counter(
    "identity_verifications_total",
    "Identity verifications (eKYC) with the signing certificate at the consent screen: "
    "verified or the refusal reason.",
    ("outcome",),
)

# Tokens (idp/oidc/views.py).
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
"""The grants ``idp.oidc.server`` registers; anything else is ``other``."""
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_dpop_proof",
        "use_dpop_nonce",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
    }
)
tokens_issued = _counter(
    "tokens_issued_total", "Token responses issued, by grant type.", ("grant_type",)
)
token_errors = _counter(
    "token_errors_total", "OAuth errors answered by the token endpoint, by error code.", ("error",)
)

# Self-information and documents.
selfinfo_reads = _counter(
    "selfinfo_reads_total", "Self-information reads served, by category.", ("category",)
)
documents = _counter(
    "documents_total",
    "Document requests finished by the citizen: signed or declined.",
    ("outcome",),
)
document_refusals = _counter(
    "document_refusals_total",
    "Document signatures refused, by the JPKI core's reason.",
    ("reason",),
)

# Revocation (observers set on idp.jpki's services by idp.metrics.init_app).
ocsp_requests = _counter(
    "ocsp_requests_total",
    "Requests to the OCSP responder, by certificate type and outcome (good, revoked, on_hold "
    "or the refusal reason, e.g. responder_timeout).",
    ("type", "outcome"),
)
ocsp_request_duration = _histogram(
    "ocsp_request_duration_seconds",
    "Time from sending an OCSP request to a checked answer or a refusal.",
    ("type",),
    LATENCY_BUCKETS,
)
ocsp_cache_lookups = _counter(
    "ocsp_cache_lookups_total",
    "OCSP cache look-ups, by certificate type and result.",
    ("type", "result"),
)
crl_refreshes = _counter(
    "crl_refreshes_total",
    "CRL refreshes by this process, by certificate type and outcome (succeeded or the refusal "
    "reason).",
    ("type", "outcome"),
)

# HTTP (idp.metrics.http).
http_requests = _counter(
    "http_requests_total",
    "HTTP requests answered, by Flask endpoint name (unmatched: no route) and status class.",
    ("endpoint", "status"),
)
http_request_duration = _histogram(
    "http_request_duration_seconds",
    "Time inside the WSGI app per request, by Flask endpoint name.",
    ("endpoint",),
    LATENCY_BUCKETS,
)


def card_step(key: str | None, outcome: str) -> None:
    """A consent card step ended: ``key`` ``sign`` is an identity verification, else a step-up."""
    counter = identity_verifications if key == "sign" else card_step_ups
    counter.labels(outcome).inc()


def consent_approved(key: str | None) -> None:
    """An approval: with a card key, that key's verification also succeeded."""
    consent_decisions.labels("approved", key or "none").inc()
    if key is not None:
        card_step(key, "verified")


def token_response(response, grant_type: object):
    """Count a token endpoint answer (issued, or its OAuth error) and return it unchanged."""
    if response.status_code == 200:
        tokens_issued.labels(bounded(grant_type, GRANT_TYPES)).inc()
    else:
        body = response.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        token_errors.labels(bounded(error, OAUTH_ERRORS)).inc()
    return response
