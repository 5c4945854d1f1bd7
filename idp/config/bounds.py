"""Production's upper bounds on numeric settings and its other demands on settings that are
valid anywhere but too weak for production (docs/operators.md §2, "Production bounds")."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from .settings import FAPI_ALGORITHMS, Config


@dataclass(frozen=True)
class Bound:
    """The largest value production accepts for a numeric setting, and what a larger one risks."""

    setting: str
    """Dotted path, as in the file: ``tokens.access_token``, ``jpki.challenge_ttl``."""
    most: float
    risk: str
    """Completes "… not N: …": what a larger value lets an attacker or a failure do."""


PRODUCTION_BOUNDS = (
    Bound("tokens.authorization_code", 600, "a leaked code stays redeemable (RFC 6749 §4.1.2)"),
    Bound("tokens.par_request", 600, "a pushed request stays usable (RFC 9126 §2.2)"),
    Bound("tokens.id_token", 3600, "a stolen ID token is accepted that long"),
    Bound("tokens.access_token", 3600, "a stolen access token reads identity that long"),
    Bound("tokens.refresh_token", 30 * 86400, "a stolen refresh token keeps minting tokens"),
    Bound("tokens.client_assertion_max_age", 3600, "an unused stolen assertion stays usable"),
    Bound("tokens.login_transaction", 1800, "a phished login link stays open"),
    Bound("tokens.session", 12 * 3600, "an unattended browser logs in without the card"),
    Bound("keys.reload_seconds", 300, "a rotated-out compromised key keeps signing here"),
    Bound("jpki.challenge_ttl", 300, "a challenge signed on a relayed card stays usable"),
    Bound("jpki.max_clock_skew", 300, "expired OCSP answers and CRLs are taken as current"),
    Bound("jpki.ocsp_max_age", 86400, "an old answer without nextUpdate hides a revocation"),
    Bound("jpki.ocsp_cache_max_ttl", 3600, "a cached good answer hides a revocation"),
    Bound("jpki.ocsp_timeout", 10, "a stalled responder ties up the workers"),
    Bound("jpki.status_interval", 300, "a lost card keeps working that long after it is stopped"),
    Bound(
        "jpki.crl_fallback_max_age",
        3600,
        "a card revoked since the CRL was fetched logs in that long while OCSP is down",
    ),
)
"""Production's upper bounds on numeric settings (docs/operators.md §2, "Production bounds")."""


def production_bound_problems(c: Config):
    """Settings that are valid anywhere but too weak for production (docs/operators.md §2)."""
    for bound in PRODUCTION_BOUNDS:
        value = _setting(c, bound.setting)
        if value > bound.most:
            yield (
                f"production {bound.setting} must be at most {_number(bound.most)} seconds, "
                f"not {_number(value)}: {bound.risk}"
            )
    if not set(FAPI_ALGORITHMS) & set(c.keys.algorithms):
        yield "production keys.algorithms must include PS256 or ES256 (FAPI 2.0 forbids RS256)"
    if c.admin.registration_token and len(c.admin.registration_token) < 32:
        yield "production admin.registration_token (IDP_ADMIN_TOKEN) needs 32+ characters, or empty"
    if not c.jpki.ocsp_nonce_required:
        yield (
            "production needs jpki.ocsp_nonce_required = true: without it a recorded good "
            "answer can be replayed after the certificate is revoked"
        )
    if not c.jpki.pinned_fingerprints:
        yield (
            "production needs jpki.pinned_fingerprints (the J-LIS roots' SHA-256): without them "
            "a certificate slipped into a trust folder is trusted"
        )
    elif bad := sorted(f for f in c.jpki.pinned_fingerprints if not _is_sha256_hex(f)):
        yield f"production jpki.pinned_fingerprints must be SHA-256 in hex, not {bad[0]!r}"
    if public := [t for t in c.proxy.trusted if not _is_private_network(t)]:
        yield (
            f"production proxy.trusted may list only loopback or private networks, not "
            f"{public[0]!r}: any client there could choose the address the IdP sees"
        )
    yield from _operator_problems(c)


def _operator_problems(c: Config):
    """Every citizen page names who runs the IdP and how to reach them (docs/operators.md §2)."""
    operator = c.operator
    for name in ("name_ja", "name_en", "privacy_policy_url", "contact_url", "loss_report_phone"):
        if not getattr(operator, name).strip():
            yield f"production needs operator.{name}: every citizen page shows who runs the IdP"
    for name in ("privacy_policy_url", "contact_url"):
        url = getattr(operator, name)
        if url.strip() and not url.startswith("https://"):
            yield f"production operator.{name} must be an https URL, not {url!r}"


def _setting(c: Config, path: str) -> Any:
    value: Any = c
    for name in path.split("."):
        value = getattr(value, name)
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_private_network(entry: str) -> bool:
    """Loopback or private (RFC 1918, RFC 4193); an unreadable entry is refused by
    ``problems._proxy_problems``."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False).is_private
    except (TypeError, ValueError, AttributeError):
        return True


def _is_sha256_hex(fingerprint: str) -> bool:
    digits = fingerprint.replace(":", "")
    return len(digits) == 64 and all(d in "0123456789abcdefABCDEF" for d in digits)
