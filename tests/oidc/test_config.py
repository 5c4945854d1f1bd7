"""Configuration: file + environment, typed conversion, and refusals with their reasons."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

from idp.config import Config, ConfigError, DatabaseConfig, LoginConfig, load_config

PRODUCTION = {
    "IDP_CONFIG": "config/production.toml",
    "IDP_REDIS_URL": "redis://127.0.0.1:6379/0",
    "IDP_ENV": "production",
    "IDP_ISSUER": "https://idp.example.jp",
    "IDP_SECRET_KEY": "k" * 40,
    "IDP_DATABASE_URL": "postgresql+psycopg://idp@db/idp",
}


DEVELOPMENT = {"IDP_ENV": "development"}


def test_zero_configuration_is_production_and_says_so():
    assert Config().environment == "production"
    with pytest.raises(ConfigError, match="no environment is set, so this is production"):
        load_config({})


def test_development_is_chosen_and_runs_on_defaults():
    config = load_config(DEVELOPMENT)
    assert config.environment == "development"
    assert config.database.url == ""
    assert config.ephemeral.redis_url == ""
    assert config.keys.default_algorithm == "RS256"


def test_environment_variables_fill_their_settings():
    config = load_config(
        {
            "IDP_ENV": "testing",
            "IDP_ISSUER": "http://a.example",
            "IDP_DATABASE_URL": "sqlite://",
            "IDP_REDIS_URL": "redis://r",
            "IDP_SECRET_KEY": "s",
            "IDP_PROCESSES": "4",
        }
    )
    assert config.environment == "testing"
    assert (config.issuer, config.database.url) == ("http://a.example", "sqlite://")
    assert (config.ephemeral.redis_url, config.secret_key, config.processes) == (
        "redis://r",
        "s",
        4,
    )


def test_file_is_read_and_environment_wins(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text(
        'environment = "development"\nissuer = "http://file.example"\n[tokens]\nid_token = 120\n'
    )
    config = load_config({"IDP_CONFIG": str(path), "IDP_ISSUER": "http://env.example"})
    assert config.issuer == "http://env.example"
    assert config.tokens.id_token == 120


def test_config_directory_files_load(monkeypatch):
    config = load_config({"IDP_CONFIG": "config/development.toml"})
    assert config.environment == "development"


def test_production_template_loads_with_its_required_variables():
    config = load_config(PRODUCTION)
    assert config.environment == "production"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("nonsense = 1", "unknown setting nonsense"),
        ("[tokens]\nbogus = 1", "unknown setting tokens.bogus"),
        ("tokens = 3", "must be a table"),
        ("[tokens]\nid_token = 'soon'", "tokens.id_token"),
        ("[tokens]\nid_token = 0", "positive"),
        ("x = [", "cannot read"),
    ],
)
def test_bad_file_is_refused_with_the_setting_named(tmp_path, text, reason):
    path = tmp_path / "idp.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        load_config({"IDP_CONFIG": str(path)})


def test_missing_file_is_refused():
    with pytest.raises(ConfigError, match="cannot read"):
        load_config({"IDP_CONFIG": "/nonexistent/idp.toml"})


def test_several_processes_without_redis_are_refused_with_why():
    with pytest.raises(ConfigError, match="in-process store is invisible to the other processes"):
        load_config({**DEVELOPMENT, "IDP_PROCESSES": "2"})


def test_several_processes_with_redis_are_accepted():
    config = load_config({**DEVELOPMENT, "IDP_PROCESSES": "2", "IDP_REDIS_URL": "redis://r"})
    assert config.processes == 2


@pytest.mark.parametrize("environment", ["development", "testing", "production"])
def test_no_setting_turns_on_a_login_without_a_card(environment, tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text(f'environment = "{environment}"\n[login]\ntest_authenticator = true\n')
    with pytest.raises(ConfigError, match=r"unknown setting login\.test_authenticator"):
        load_config({"IDP_CONFIG": str(path)})
    assert [f.name for f in dataclasses.fields(LoginConfig)] == ["bridge_url"]


def test_no_product_module_offers_a_login_or_consent_without_a_card():
    """Every authenticator and consent screen that ``pip install jpki-idp`` installs: the card
    login, the login that refuses everyone (no trust anchors), the citizen's consent pages."""
    import idp

    screens = set()
    for found in pkgutil.walk_packages(idp.__path__, "idp."):
        if found.name.endswith(".__main__"):
            continue
        module = importlib.import_module(found.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == found.name and hasattr(obj, "begin"):
                if getattr(obj, "_is_protocol", False):  # the interfaces themselves
                    continue
                screens.add(f"{found.name}.{name}")
    assert screens == {
        "idp.login.card.CardAuthenticator",
        "idp.login.card.UnavailableAuthenticator",
        "idp.consent.ConsentScreen",
    }


def test_the_cardless_login_of_the_tests_is_not_installed():
    """``tests.cardless`` logs in without a card; ``pip install jpki-idp`` must not ship it."""
    import fnmatch
    import tomllib

    with open("pyproject.toml", "rb") as f:
        shipped = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]["include"]
    assert shipped
    assert not any(
        fnmatch.fnmatch(name, p) for p in shipped for name in ("tests", "tests.cardless")
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"IDP_ISSUER": "http://idp.example.jp"}, "https"),
        ({"IDP_SECRET_KEY": ""}, "IDP_SECRET_KEY"),
        ({"IDP_SECRET_KEY": "short"}, "IDP_SECRET_KEY"),
        ({"IDP_DATABASE_URL": ""}, "PostgreSQL"),
        ({"IDP_DATABASE_URL": "sqlite:///x"}, "PostgreSQL"),
    ],
)
def test_production_refuses_development_settings(change, reason):
    with pytest.raises(ConfigError, match=reason):
        load_config({**PRODUCTION, **change})


def test_production_with_real_settings_is_accepted():
    assert load_config(PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"IDP_ENV": "staging"}, "environment"),
        ({"IDP_ISSUER": "ftp://x"}, "issuer"),
        ({"IDP_ISSUER": "https://x/?a=1"}, "issuer"),
        ({"IDP_PROCESSES": "many"}, "processes"),
        ({"IDP_PROCESSES": "0"}, "at least 1"),
    ],
)
def test_invalid_values_are_refused(env, reason):
    with pytest.raises(ConfigError, match=reason):
        load_config({**DEVELOPMENT, **env})


def test_unknown_signing_algorithm_is_refused(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text('[keys]\nalgorithms = ["RS256", "HS256"]\n')
    with pytest.raises(ConfigError, match="algorithms"):
        load_config({**DEVELOPMENT, "IDP_CONFIG": str(path)})


def test_config_is_immutable():
    with pytest.raises(AttributeError):
        Config().issuer = "https://evil.example"  # type: ignore[misc]
    assert DatabaseConfig().url == ""


def test_jpki_block_is_read_into_jpki_settings(tmp_path):
    from pathlib import Path

    from idp.jpki.settings import CertificateType, RevocationPolicy

    path = tmp_path / "idp.toml"
    path.write_text(
        '[jpki]\nocsp_timeout = 2\ncrl_index_dir = "/tmp/crl"\n'
        '[jpki.trust_anchors]\nauth = "/tmp/a"\n[jpki.revocation]\nsign = "crl"\n'
    )
    jpki = load_config({**DEVELOPMENT, "IDP_CONFIG": str(path)}).jpki
    assert jpki.trust_anchors == {CertificateType.AUTH: Path("/tmp/a")}
    assert jpki.revocation == {CertificateType.SIGN: RevocationPolicy.CRL}
    assert (jpki.ocsp_timeout, jpki.crl_index_dir) == (2.0, Path("/tmp/crl"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[jpki]\nbogus = 1", "unknown setting jpki.bogus"),
        ("[jpki.trust_anchors]\nphoto = '/x'", "jpki.trust_anchors"),
        ("[jpki.revocation]\nauth = 'sometimes'", "jpki.revocation"),
        ("[jpki]\ntrust_anchors = 'x'", "keyed auth/sign"),
    ],
)
def test_bad_jpki_block_is_refused(tmp_path, text, reason):
    path = tmp_path / "idp.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        load_config({"IDP_CONFIG": str(path)})


def test_production_refuses_test_roots_and_missing_trust_anchors(tmp_path):
    path = tmp_path / "idp.toml"
    path.write_text("[jpki]\nallow_test_roots = true\n")
    with pytest.raises(ConfigError, match="allow_test_roots"):
        load_config({**PRODUCTION, "IDP_CONFIG": str(path)})
    path.write_text("")
    with pytest.raises(ConfigError, match="trust_anchors"):
        load_config({**PRODUCTION, "IDP_CONFIG": str(path)})


def test_development_defaults_accept_the_sandbox_test_roots() -> None:
    assert load_config(DEVELOPMENT).jpki.allow_test_roots


def test_development_file_may_still_refuse_test_roots(tmp_path) -> None:
    path = tmp_path / "dev.toml"
    path.write_text('environment = "development"\n[jpki]\nallow_test_roots = false\n')
    assert not load_config({"IDP_CONFIG": str(path)}).jpki.allow_test_roots


def test_testing_environment_keeps_the_production_safe_default() -> None:
    assert not load_config({"IDP_ENV": "testing"}).jpki.allow_test_roots


def test_revocation_feed_block_and_poll_interval_are_read(tmp_path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(
        "[jpki]\nstatus_poll_interval = 10\n[jpki.revocation_feed]\n"
        'url = "https://feed.example/feed"\ncertificate = "/etc/feed.pem"\npage_size = 50\n'
    )
    jpki = load_config({**DEVELOPMENT, "IDP_CONFIG": str(path)}).jpki
    assert jpki.status_poll_interval == 10.0
    feed = jpki.revocation_feed
    assert (feed.url, feed.certificate, feed.page_size) == (
        "https://feed.example/feed",
        "/etc/feed.pem",
        50,
    )
    assert load_config(DEVELOPMENT).jpki.revocation_feed.url == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[jpki]\nstatus_poll_interval = 60", "less than jpki.status_interval"),
        ("[jpki]\nstatus_poll_interval = 0", "status_poll_interval must be positive"),
        ("[jpki.revocation_feed]\nurl = 'https://f.example'", "needs jpki.revocation_feed.cert"),
        ("[jpki.revocation_feed]\nurl = 'ftp://f'\ncertificate = 'c.pem'", "http"),
        ("[jpki.revocation_feed]\nurl = 'https://f'\ncertificate = 'c'\npage_size = 0", "1 to"),
        ("[jpki.revocation_feed]\nurl = 'https://f'\ncertificate = 'c'\ntimeout = 90", "timeout"),
        ("[jpki.revocation_feed]\nsecret = 'x'", "unknown setting jpki.revocation_feed.secret"),
    ],
)
def test_bad_status_settings_are_refused(tmp_path, text, reason) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        load_config({**DEVELOPMENT, "IDP_CONFIG": str(path)})


def test_production_refuses_a_feed_certificate_it_cannot_read(tmp_path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(
        "[jpki.revocation_feed]\nurl = 'https://feed.example'\n"
        f"certificate = '{tmp_path / 'missing.pem'}'\n"
    )
    with pytest.raises(ConfigError, match="not a readable PEM file"):
        load_config({**PRODUCTION, "IDP_CONFIG": str(path)})
    (tmp_path / "missing.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="not a readable PEM file"):
        load_config({**PRODUCTION, "IDP_CONFIG": str(path)})
