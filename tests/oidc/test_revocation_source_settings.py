"""The [jpki] settings that keep a slow OCSP responder from stalling the IdP and bound the CRL
fallback: read from both templates, and refused when they could not work."""

from __future__ import annotations

import pytest

from idp.config import ConfigError, load_config
from tests.oidc.test_production_bounds import PRODUCTION, changed

SETTINGS = {
    "ocsp_failure_ttl": 10.0,
    "ocsp_max_concurrent": 2,
    "ocsp_breaker_failures": 5,
    "ocsp_breaker_open": 30.0,
    "crl_fallback_max_age": 900.0,
}


@pytest.mark.parametrize("template", ["production", "development"])
def test_both_templates_set_them_to_their_defaults(template):
    environ = PRODUCTION if template == "production" else {}
    config = load_config({**environ, "IDP_CONFIG": f"config/{template}.toml"})
    for name, value in SETTINGS.items():
        if name in ("ocsp_breaker_failures", "ocsp_breaker_open") and template == "development":
            continue  # left at their defaults
        assert getattr(config.jpki, name) == value


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ocsp_max_concurrent", 0, "jpki.ocsp_max_concurrent must be positive"),
        ("ocsp_breaker_failures", 0, "jpki.ocsp_breaker_failures must be positive"),
        ("ocsp_breaker_open", 0.0, "jpki.ocsp_breaker_open must be positive"),
        ("ocsp_failure_ttl", -1.0, "jpki.ocsp_failure_ttl must not be negative"),
        ("crl_fallback_max_age", -1.0, "jpki.crl_fallback_max_age must not be negative"),
    ],
)
def test_values_that_cannot_work_are_refused(name, value, reason):
    config = load_config(PRODUCTION)
    assert changed(config, f"jpki.{name}", SETTINGS[name]).check()
    with pytest.raises(ConfigError, match=reason):
        changed(config, f"jpki.{name}", value).check()


def test_a_failure_cache_of_zero_turns_it_off_and_is_accepted():
    assert changed(load_config(PRODUCTION), "jpki.ocsp_failure_ttl", 0.0).check()
