"""Production's bounds on weak settings: just inside starts, just outside refuses with the reason.

Each case names its setting and values here rather than reading ``PRODUCTION_BOUNDS``, so a
bound deleted from the table fails its case.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from idp.config import Config, ConfigError, load_config

PRODUCTION = {
    "IDP_CONFIG": "config/production.toml",
    "IDP_REDIS_URL": "redis://127.0.0.1:6379/0",
    "IDP_ENV": "production",
    "IDP_ISSUER": "https://idp.example.jp",
    "IDP_SECRET_KEY": "k" * 40,
    "IDP_DATABASE_URL": "postgresql+psycopg://idp@db/idp",
}
PIN = "64114F29620C24ED2631D46476A040E7EE740D956089C00B036A6A8118C322B5"


@pytest.fixture(scope="module")
def production() -> Config:
    """The production template with its required variables: inside every bound."""
    return load_config(PRODUCTION)


def changed(config: Config, setting: str, value: object) -> Config:
    """``config`` with the dotted ``setting`` set to ``value`` (not yet checked)."""
    block, _, name = setting.rpartition(".")
    if not block:
        return dataclasses.replace(config, **{name: value})
    inner = dataclasses.replace(getattr(config, block), **{name: value})
    return dataclasses.replace(config, **{block: inner})


@pytest.mark.parametrize(
    ("setting", "inside", "outside", "reason"),
    [
        ("tokens.authorization_code", 600, 601, "at most 600 seconds"),
        ("tokens.par_request", 600, 601, "at most 600 seconds"),
        ("tokens.id_token", 3600, 3601, "at most 3600 seconds"),
        ("tokens.access_token", 3600, 3601, "at most 3600 seconds"),
        ("tokens.refresh_token", 2592000, 2592001, "at most 2592000 seconds"),
        ("tokens.client_assertion_max_age", 3600, 3601, "at most 3600 seconds"),
        ("tokens.login_transaction", 1800, 1801, "at most 1800 seconds"),
        ("tokens.session", 43200, 43201, "at most 43200 seconds"),
        ("keys.reload_seconds", 300.0, 300.5, "at most 300 seconds"),
        ("keys.min_publish_seconds", 300, 299, "below 300"),
        ("jpki.challenge_ttl", 300.0, 300.5, "at most 300 seconds"),
        ("jpki.max_clock_skew", 300.0, 300.5, "at most 300 seconds"),
        ("jpki.ocsp_max_age", 86400.0, 86400.5, "at most 86400 seconds"),
        ("jpki.ocsp_cache_max_ttl", 3600.0, 3600.5, "at most 3600 seconds"),
        ("jpki.ocsp_timeout", 10.0, 10.5, "at most 10 seconds"),
        ("jpki.crl_fallback_max_age", 3600.0, 3600.5, "at most 3600 seconds"),
        ("jpki.ocsp_nonce_required", True, False, "needs jpki.ocsp_nonce_required = true"),
        ("keys.algorithms", ("RS256", "ES256"), ("RS256",), "must include PS256 or ES256"),
        ("admin.registration_token", "a" * 32, "a" * 31, "32\\+ characters"),
        ("admin.registration_token", "", "12345678", "32\\+ characters"),
        ("metrics.token", "m" * 32, "m" * 31, "32\\+ characters"),
        ("secret_key", "s" * 32, "s" * 31, "at least 32 characters"),
        ("jpki.pinned_fingerprints", frozenset({PIN}), frozenset(), "pinned_fingerprints"),
        ("jpki.pinned_fingerprints", frozenset({PIN.lower()}), frozenset({PIN[:-2]}), "SHA-256"),
        ("jpki.allow_test_roots", False, True, "allow_test_roots"),
        ("proxy.trusted", ("127.0.0.1", "10.0.0.0/8", "fd00::/8"), ("10.0.0.0/7",), "private"),
        ("proxy.trusted", ("192.168.0.0/16",), ("0.0.0.0/0",), "private"),
    ],
)
def test_production_bound(production, setting, inside, outside, reason):
    assert changed(production, setting, inside).check()
    with pytest.raises(ConfigError, match=reason) as refused:
        changed(production, setting, outside).check()
    named = "IDP_SECRET_KEY" if setting == "secret_key" else setting
    assert named in str(refused.value)


def test_a_refusal_is_one_sentence_naming_setting_bound_and_risk(production):
    with pytest.raises(ConfigError) as refused:
        changed(production, "jpki.ocsp_cache_max_ttl", 365 * 86400.0).check()
    assert str(refused.value) == (
        "production jpki.ocsp_cache_max_ttl must be at most 3600 seconds, not 31536000: "
        "a cached good answer hides a revocation"
    )


def test_development_accepts_what_production_refuses(production):
    loose = changed(production, "environment", "development")
    loose = changed(loose, "issuer", "http://127.0.0.1:8000")  # not production-shaped
    loose = changed(loose, "database.url", "")
    loose = changed(loose, "jpki.ocsp_nonce_required", False)
    loose = changed(loose, "tokens.refresh_token", 10 * 365 * 86400)
    assert changed(loose, "jpki.pinned_fingerprints", frozenset()).check()


def test_pins_are_read_from_the_file_as_a_set(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text(
        f'environment = "development"\n[jpki]\npinned_fingerprints = ["{PIN}", "{PIN}"]\n'
    )
    assert load_config({"IDP_CONFIG": str(path)}).jpki.pinned_fingerprints == frozenset({PIN})


def test_the_operators_guide_lists_every_bound():
    from idp.config import PRODUCTION_BOUNDS

    guide = Path("docs/operators.md").read_text()
    for bound in PRODUCTION_BOUNDS:
        assert f"| `{bound.setting}` |" in guide, bound.setting
        assert f"at most {int(bound.most)} s" in guide, bound.setting
