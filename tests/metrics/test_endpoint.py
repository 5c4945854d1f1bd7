"""``GET /metrics``: off without a token, 401 without the right one, the text format with it."""

from __future__ import annotations

import time

import pytest

from idp.config import ConfigError, load_config
from idp.services import services
from tests.metrics.conftest import BEARER, TOKEN, scrape


def test_without_a_token_configured_the_endpoint_does_not_exist(app):
    http = app.test_client()
    assert http.get("/metrics").status_code == 404
    assert http.get("/metrics", headers=BEARER).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        f"DPoP {TOKEN}",
        TOKEN,
        "Bearer トークン",
    ],
)
def test_a_missing_or_wrong_token_is_401_with_a_bearer_challenge(metrics_app, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = metrics_app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"
    assert "jpki_idp" not in response.get_data(as_text=True)


def test_the_right_token_gets_the_text_format_never_cached(metrics_app):
    response = metrics_app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "version=" in response.headers["Content-Type"]
    assert response.headers["Cache-Control"] == "no-store"
    lower = metrics_app.test_client().get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status_code == 200  # the auth-scheme is case-insensitive (RFC 9110 §11.1)


def test_every_family_is_the_idps_own_and_parses(metrics_app):
    samples = scrape(metrics_app)
    names = {family.name for family in samples.families}
    assert names, samples.text
    assert all(name.startswith("jpki_idp_") for name in names)
    assert {"jpki_idp_http_requests", "jpki_idp_http_request_duration_seconds"} <= names


def test_signing_keys_are_counted_and_aged_at_scrape_time(metrics_app):
    from idp.storage.db import db
    from idp.storage.models import SigningKey

    samples = scrape(metrics_app)
    config = services(metrics_app).config
    for alg in config.keys.algorithms:
        assert samples["jpki_idp_signing_keys_published", {"alg": alg}] == 2  # current + next
        assert 0 <= samples["jpki_idp_signing_key_age_seconds", {"alg": alg}] < 3600
    with metrics_app.app_context():
        for row in SigningKey.query.filter_by(state="current", alg="ES256"):
            row.activated_at = int(time.time()) - 90 * 86400
        db.session.commit()
    aged = scrape(metrics_app)["jpki_idp_signing_key_age_seconds", {"alg": "ES256"}]
    assert 90 * 86400 <= aged < 91 * 86400


def test_no_crl_held_means_no_next_update_sample(metrics_app):
    assert scrape(metrics_app).labelled("jpki_idp_crl_next_update_timestamp_seconds") == []


def test_the_token_comes_from_the_file_or_the_environment(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text('environment = "development"\n[metrics]\ntoken = "from-the-file"\n')
    from_file = load_config({"IDP_CONFIG": str(path)}).metrics.token
    assert from_file == "from-the-file"
    environ = {"IDP_CONFIG": str(path), "IDP_METRICS_TOKEN": "from-the-environment"}
    assert load_config(environ).metrics.token == "from-the-environment"  # noqa: S105
    assert load_config({"IDP_ENV": "development"}).metrics.token == ""


def test_production_refuses_a_short_token(tmp_path):
    from idp.config import Config, DatabaseConfig, MetricsConfig
    from idp.jpki.settings import CertificateType, JpkiSettings
    from tests.conftest import operator_config

    good = Config(
        environment="production",
        issuer="https://idp.example.jp",
        secret_key="s" * 40,
        database=DatabaseConfig(url="postgresql+psycopg://idp@db/idp"),
        operator=operator_config(),
        jpki=JpkiSettings(
            trust_anchors={CertificateType.AUTH: tmp_path},
            pinned_fingerprints=frozenset({"A" * 64}),
        ),
    )
    good.check()
    good.__class__(**{**good.__dict__, "metrics": MetricsConfig(token="t" * 32)}).check()
    short = good.__class__(**{**good.__dict__, "metrics": MetricsConfig(token="short")})  # noqa: S106
    with pytest.raises(ConfigError, match=r"metrics\.token"):
        short.check()
